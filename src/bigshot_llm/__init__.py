"""bigshot-llm: a streaming-first gateway for LM Studio and OpenAI-compatible APIs."""

__version__ = "0.1.0"
