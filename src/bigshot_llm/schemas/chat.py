"""Chat messages with content parts, tools, structured output and reasoning effort (native,
strict): shared by chat completions, chat streams and comparisons.

The shapes are OpenAI's, so a request translates to the upstream body by dumping it:
content is a string or a list of parts (`text`, `image_url`), assistant turns may carry
`tool_calls`, `tool` turns answer one by `tool_call_id`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jsonschema_rs
from pydantic import ConfigDict, Field, field_validator, model_validator

from bigshot_llm.schemas.base import Strict

MAX_CONTENT = 1_000_000
MAX_PARTS = 64
MAX_TOOLS = 128
MAX_IMAGE_URL = 20_000_000  # a data URL of a 10 MiB image is about 14 MB of base64
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"

Effort = Literal["none", "minimal", "low", "medium", "high"]


def _check_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema the validator accepts (else a 422 saying why)."""
    try:
        jsonschema_rs.validator_for(schema)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise ValueError(f"not a valid JSON schema: {first}") from None
    return schema


class TextPart(Strict):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT)


class ImageUrl(Strict):
    url: str = Field(
        min_length=1,
        max_length=MAX_IMAGE_URL,
        description="an http(s) URL (the gateway fetches it) or a data:image/…;base64 URL",
    )
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(Strict):
    name: str = Field(pattern=FUNCTION_NAME)
    arguments: str = Field(max_length=MAX_CONTENT, description="JSON text")


class ToolCallIn(Strict):
    """A tool call of an earlier assistant turn, sent back as history."""

    id: str = Field(min_length=1, max_length=128)
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = Field(
        None, description="text, or parts: {type: text, text} / {type: image_url, image_url}"
    )
    tool_calls: list[ToolCallIn] | None = Field(
        None, max_length=MAX_TOOLS, description="assistant turns only"
    )
    tool_call_id: str | None = Field(
        None, min_length=1, max_length=128, description="tool turns: the call this answers"
    )

    @field_validator("content")
    @classmethod
    def _bounded(cls, value: str | list[Any] | None) -> str | list[Any] | None:
        if isinstance(value, str) and len(value) > MAX_CONTENT:
            raise ValueError(f"content must have at most {MAX_CONTENT} characters")
        if isinstance(value, list) and not 1 <= len(value) <= MAX_PARTS:
            raise ValueError(f"content must have 1 to {MAX_PARTS} parts")
        return value

    @model_validator(mode="after")
    def _fits_role(self) -> ChatMessage:
        role = self.role
        if role == "tool":
            if self.tool_call_id is None:
                raise ValueError("a tool message needs the tool_call_id it answers")
            if not isinstance(self.content, str):
                raise ValueError("a tool message's content is the tool's result as text")
        elif self.tool_call_id is not None:
            raise ValueError("only tool messages have a tool_call_id")
        if self.tool_calls is not None and role != "assistant":
            raise ValueError("only assistant messages have tool_calls")
        if self.content is None and not (role == "assistant" and self.tool_calls):
            raise ValueError("content is required (assistant turns with tool_calls excepted)")
        if role in ("system", "assistant") and isinstance(self.content, list):
            if any(isinstance(p, ImagePart) for p in self.content):
                raise ValueError("only user messages may contain images")
        return self

    def upstream(self) -> dict[str, Any]:
        """The OpenAI message (content kept even when null: assistant tool-call turns)."""
        message = self.model_dump(exclude_none=True)
        if self.content is None:
            message["content"] = None
        return message


class FunctionSpec(Strict):
    name: str = Field(pattern=FUNCTION_NAME)
    description: str | None = Field(None, max_length=4096)
    parameters: dict[str, Any] | None = Field(None, description="a JSON schema")
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_schema(value)


class Tool(Strict):
    type: Literal["function"] = "function"
    function: FunctionSpec


class NamedFunction(Strict):
    name: str = Field(pattern=FUNCTION_NAME)


class NamedToolChoice(Strict):
    type: Literal["function"] = "function"
    function: NamedFunction


class TextFormat(Strict):
    type: Literal["text"]


class JsonObjectFormat(Strict):
    type: Literal["json_object"]


class JsonSchemaSpec(Strict):
    name: str = Field(pattern=FUNCTION_NAME)
    description: str | None = Field(None, max_length=4096)
    schema_: dict[str, Any] = Field(alias="schema", description="the JSON schema of the answer")
    strict: bool | None = Field(
        None, description="true: the answer is checked (`parsed` / `parse_error`)"
    )

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_schema(value)


class JsonSchemaFormat(Strict):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")
]


class ChatOptions(Strict):
    """Tools, structured output and reasoning effort, for every native chat surface."""

    tools: list[Tool] | None = Field(None, min_length=1, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Effort | None = Field(
        None, description="mapped to the model's reasoning options (LM Studio), else as is"
    )

    @model_validator(mode="after")
    def _choice_needs_tools(self) -> ChatOptions:
        choice = self.tool_choice
        if choice not in (None, "none") and not self.tools:
            raise ValueError("tool_choice needs tools")
        if isinstance(choice, NamedToolChoice) and self.tools:
            names = {t.function.name for t in self.tools}
            if choice.function.name not in names:
                raise ValueError(f"tool_choice names '{choice.function.name}', not one of tools")
        return self

    def chat_options(self) -> dict[str, Any]:
        """The upstream fields (unset ones are left out)."""
        return self.model_dump(
            include={"tools", "tool_choice", "response_format", "reasoning_effort"},
            exclude_none=True,
            by_alias=True,
        )
