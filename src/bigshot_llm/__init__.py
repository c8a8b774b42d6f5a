"""bigshot-llm: one fast, safe, streaming-first gateway for LM Studio and OpenAI-compatible servers."""

__version__ = "0.1.0"
