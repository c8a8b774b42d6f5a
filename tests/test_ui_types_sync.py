"""The UI's TypeScript API types stay in step with the OpenAPI schema.

`frontend/src/types/api.ts` exports `SCHEMA_FIELDS`: for each interface, the OpenAPI component
schema it mirrors and the fields it declares (tsc checks that list against the interface).
Here every declared field must exist in that component schema, so renaming or removing a
field on the server fails this test until the UI follows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bigshot_llm.main import create_app
from tests.conftest import make_settings

TYPES_FILE = Path(__file__).resolve().parents[1] / "frontend" / "src" / "types" / "api.ts"
BLOCK = re.compile(
    r"/\* schema-fields:begin \*/\s*export const SCHEMA_FIELDS = (\{.*?\}) as const;"
    r"\s*/\* schema-fields:end \*/",
    re.S,
)


def declared() -> dict[str, tuple[str, list[str]]]:
    match = BLOCK.search(TYPES_FILE.read_text(encoding="utf-8"))
    assert match, f"no schema-fields block in {TYPES_FILE}"
    raw: dict[str, list[Any]] = json.loads(match.group(1))
    return {name: (str(schema), list(fields)) for name, (schema, fields) in raw.items()}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(make_settings(tmp_path_factory.mktemp("openapi")))
    schemas: dict[str, Any] = app.openapi()["components"]["schemas"]
    return schemas


def fields_of(components: dict[str, Any], schema: str) -> set[str]:
    """Property names of a component schema, or of its documented list-item example."""
    if schema.startswith("example:"):
        name, prop = schema.removeprefix("example:").split(".")
        examples = components[name]["properties"][prop].get("examples") or []
        assert examples and examples[0], f"{name}.{prop} documents no example"
        return set(examples[0][0])
    assert schema in components, f"OpenAPI has no component schema {schema!r}"
    return set(components[schema].get("properties", {}))


def test_the_block_is_found_and_not_empty() -> None:
    assert len(declared()) >= 10


@pytest.mark.parametrize("interface", sorted(declared()))
def test_every_ui_field_exists_in_the_openapi_schema(
    interface: str, components: dict[str, Any]
) -> None:
    schema, fields = declared()[interface]
    missing = sorted(set(fields) - fields_of(components, schema))
    assert not missing, (
        f"frontend/src/types/api.ts {interface} declares {missing}, which the OpenAPI schema "
        f"{schema} lacks: update the TypeScript type (and SCHEMA_FIELDS) or the server"
    )


def test_required_server_fields_are_known_to_the_ui(components: dict[str, Any]) -> None:
    """Answers the UI reads: a new required field is fine, but a required field the UI never
    heard of in a *request* schema would make the UI's requests fail."""
    for interface in ("ProviderCreate", "StreamCreate", "ConversationCreate"):
        schema, fields = declared()[interface]
        required = set(components[schema].get("required", []))
        unknown = sorted(required - set(fields))
        assert not unknown, f"{schema} requires {unknown}, which the UI never sends"
