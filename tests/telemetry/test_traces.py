"""Traces end to end: a gateway on a real socket exports OTLP/HTTP protobuf to a local
receiver; the spans, their parents, the GenAI attributes and the `traceparent` the simulator
received are checked. Off (no endpoint) nothing of OpenTelemetry exists in the app."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sim.generation import chat_prompt_tokens
from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer
from tests.telemetry.receiver import OTLPReceiver, ReceivedSpan

ADMIN = auth(ADMIN_KEY)
CHAT = "/api/v1/llm-providers/chat/completions"
PROMPT = "tell me a story about the purple lighthouse"
MESSAGES = [{"role": "user", "content": PROMPT}]
MODEL = "qwen2.5-7b-instruct"  # the simulator's first loaded LLM


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as server:
        yield server


def traced_gateway(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver, **overrides: Any
) -> ThreadedServer:
    settings = make_settings(
        tmp_path,
        lmstudio_api_base=f"{sim.url}/v1",
        otel_exporter_otlp_endpoint=receiver.endpoint,
        **overrides,
    )
    return ThreadedServer(create_app(settings))


async def stream_chat(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    text, done = "", {}
    decoder = SSEDecoder()
    async with client.stream("POST", CHAT, json={**body, "stream": True}, headers=ADMIN) as r:
        assert r.status_code == 200
        async for raw in r.aiter_raw():
            for event in decoder.feed(raw):
                data = orjson.loads(event.data)
                if event.event == "delta":
                    text += data.get("text", "")
                elif event.event == "done":
                    done = data
    return text, done


def traceparent_ids(header: str) -> tuple[str, str]:
    version, trace_id, parent_id, flags = header.split("-")
    assert version == "00" and len(trace_id) == 32 and len(parent_id) == 16
    assert int(flags, 16) & 1  # sampled
    return trace_id, parent_id


def one_trace(receiver: OTLPReceiver, trace_id: str) -> dict[str, list[ReceivedSpan]]:
    found: dict[str, list[ReceivedSpan]] = {}
    for span in receiver.spans:
        if span.trace_id == trace_id:
            found.setdefault(span.name, []).append(span)
    return found


def check_generation_trace(
    spans: dict[str, list[ReceivedSpan]], *, header: str, streamed: bool
) -> ReceivedSpan:
    """The shape every generation's trace has: server → chat → (admission, upstream POST)."""
    (server,) = spans[f"POST {CHAT}"]
    (gen,) = spans[f"chat {MODEL}"]
    (admission,) = spans["bigshot.admission"]
    (upstream,) = spans["POST"]
    assert server.kind == "SERVER" and server.parent_span_id is None
    assert gen.kind == "CLIENT" and gen.parent_span_id == server.span_id
    assert admission.parent_span_id == gen.span_id
    assert upstream.kind == "CLIENT" and upstream.parent_span_id == gen.span_id
    assert upstream.scope == "opentelemetry.instrumentation.httpx"
    # The traceparent the simulator received names the upstream call's span in this trace.
    trace_id, parent_id = traceparent_ids(header)
    assert trace_id == gen.trace_id and parent_id == upstream.span_id
    assert server.resource["service.name"] == "bigshot-llm"
    a = gen.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "lmstudio"
    assert a["gen_ai.request.model"] == MODEL and a["gen_ai.response.model"] == MODEL
    assert a["bigshot.provider.name"] and a["bigshot.provider.id"]
    assert a["bigshot.stream"] is streamed
    assert a["bigshot.outcome"] == "ok" and gen.status_code == "UNSET"
    assert a["bigshot.queue.wait_ms"] >= 0
    assert admission.attributes["bigshot.queue.wait_ms"] == a["bigshot.queue.wait_ms"]
    assert a["server.address"] == "127.0.0.1"
    return gen


async def test_streaming_and_one_shot_chats_export_genai_spans(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver
) -> None:
    sim.state.tokens = 6
    with traced_gateway(tmp_path, sim, receiver) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            text, done = await stream_chat(client, {"messages": MESSAGES})
            stream_header = sim.state.last_request_headers["traceparent"]
            plain = await client.post(
                CHAT, json={"messages": MESSAGES, "max_tokens": 4}, headers=ADMIN
            )
            assert plain.status_code == 200, plain.text
            plain_header = sim.state.last_request_headers["traceparent"]
    # Stopped: the lifespan shut the provider down, which exported every buffered span.
    assert receiver.content_types and set(receiver.content_types) == {"application/x-protobuf"}
    prompt_tokens = chat_prompt_tokens(MESSAGES)

    streamed = one_trace(receiver, traceparent_ids(stream_header)[0])
    gen = check_generation_trace(streamed, header=stream_header, streamed=True)
    assert done["usage"]["completion_tokens"] == 6 and text
    assert gen.attributes["gen_ai.usage.input_tokens"] == prompt_tokens
    assert gen.attributes["gen_ai.usage.output_tokens"] == 6
    assert gen.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert gen.attributes["bigshot.ttft_ms"] >= 0
    assert gen.attributes["gen_ai.response.time_to_first_chunk"] >= 0
    assert gen.attributes["bigshot.usage.estimated"] is False
    (relay,) = streamed["bigshot.stream"]
    assert relay.parent_span_id == gen.span_id
    assert relay.attributes["bigshot.outcome"] == "ok"
    assert relay.attributes["bigshot.stream.chunks"] >= 6

    one_shot = one_trace(receiver, traceparent_ids(plain_header)[0])
    assert stream_header != plain_header and "bigshot.stream" not in one_shot
    gen = check_generation_trace(one_shot, header=plain_header, streamed=False)
    data = plain.json()["data"]
    assert gen.attributes["gen_ai.request.max_tokens"] == 4
    assert gen.attributes["gen_ai.usage.input_tokens"] == data["usage"]["prompt_tokens"]
    assert gen.attributes["gen_ai.usage.output_tokens"] == 4 == data["usage"]["completion_tokens"]
    assert gen.attributes["gen_ai.response.finish_reasons"] == ["length"]
    assert gen.attributes["gen_ai.response.id"] == data["id"]

    # Never any text by default: neither the attributes nor anything else carries it.
    exported = json.dumps([s.attributes for s in receiver.spans])
    assert "gen_ai.input.messages" not in exported and "gen_ai.output.messages" not in exported
    assert "purple lighthouse" not in exported
    assert text.strip() and text.strip() not in exported


async def test_content_is_captured_only_when_turned_on(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver
) -> None:
    sim.state.tokens = 5
    with traced_gateway(
        tmp_path, sim, receiver, otel_capture_content=True, otel_content_max_chars=64
    ) as gateway:
        long_prompt = "purple " * 100
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            text, _ = await stream_chat(client, {"messages": MESSAGES})
            header = sim.state.last_request_headers["traceparent"]
            plain = await client.post(
                CHAT, json={"messages": [{"role": "user", "content": long_prompt}]}, headers=ADMIN
            )
            assert plain.status_code == 200
            long_header = sim.state.last_request_headers["traceparent"]
    (gen,) = one_trace(receiver, traceparent_ids(header)[0])[f"chat {MODEL}"]
    inputs = json.loads(gen.attributes["gen_ai.input.messages"])
    assert inputs == [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    outputs = json.loads(gen.attributes["gen_ai.output.messages"])
    assert outputs == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": text}],
            "finish_reason": "stop",
        }
    ]
    # Bounded: a long text is cut at BIGSHOT_OTEL_CONTENT_MAX_CHARS.
    (gen,) = one_trace(receiver, traceparent_ids(long_header)[0])[f"chat {MODEL}"]
    (message,) = json.loads(gen.attributes["gen_ai.input.messages"])
    cut = message["parts"][0]["content"]
    assert cut == long_prompt[:64] + "…"
    answer = plain.json()["data"]["message"]["content"]
    out = json.loads(gen.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"]
    assert out == (answer if len(answer) <= 64 else answer[:64] + "…")


async def test_openai_surface_and_client_disconnect_with_tracing_on(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver
) -> None:
    """The relay is unchanged with the ASGI instrumentation outermost: deltas stream, and a
    client that leaves cancels the upstream at once; the span says the stream was cancelled."""
    sim.state.token_delay = 0.1
    sim.state.tokens = 100
    with traced_gateway(tmp_path, sim, receiver) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            body = {"model": MODEL, "messages": MESSAGES, "stream": True}
            async with client.stream(
                "POST", "/v1/chat/completions", json=body, headers=ADMIN
            ) as response:
                assert response.status_code == 200
                decoder, seen = SSEDecoder(), 0
                async for raw in response.aiter_raw():
                    seen += sum(1 for e in decoder.feed(raw) if e.data != "[DONE]")
                    if seen >= 3:
                        break
                assert sim.state.streams_open == 1
                header = sim.state.last_request_headers["traceparent"]
        await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2)
        assert sim.state.streams_open == 0
    spans = one_trace(receiver, traceparent_ids(header)[0])
    (server,) = spans["POST /v1/chat/completions"]
    (gen,) = spans[f"chat {MODEL}"]
    assert gen.parent_span_id == server.span_id
    assert gen.attributes["bigshot.endpoint"]
    assert gen.attributes["bigshot.outcome"] == "cancelled" and gen.status_code == "UNSET"
    (relay,) = spans["bigshot.stream"]
    assert relay.attributes["bigshot.outcome"] == "cancelled"
    assert 0 < relay.attributes["bigshot.stream.chunks"] < 100  # stopped early


async def test_background_http_calls_start_no_traces(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver
) -> None:
    """Health checks are not requests: they reach the simulator but start no trace."""
    with traced_gateway(tmp_path, sim, receiver, health_check_seconds=0.2) as gateway:
        await sim.state.wait_for_async(lambda: sim.state.requests_total >= 3, timeout=20)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            await stream_chat(client, {"messages": MESSAGES})
    roots = [s for s in receiver.spans if s.parent_span_id is None]
    assert [s.name for s in roots] == [f"POST {CHAT}"]
    # What the request sent upstream (its model list, its generation) is in its trace; the
    # health checks (at least 3 more upstream requests) are in none.
    upstream = [s for s in receiver.spans if s.scope == "opentelemetry.instrumentation.httpx"]
    assert upstream and all(s.trace_id == roots[0].trace_id for s in upstream)
    assert len(receiver.named("POST")) == 1
    assert sim.state.requests_total >= len(upstream) + 3


def _last_line_of(script: str, tmp_path: Path) -> str:
    """Run `script` in a fresh interpreter (no tracer provider of this process leaks in):
    the last line it printed; its failure fails the test."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=Path(__file__).parents[2],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_off_by_default_no_provider_no_middleware(tmp_path: Path) -> None:
    """No endpoint: no tracing object, no instrumented app, no tracer provider, and neither
    an exporter, an instrumentation nor the gateway's span code imported, in a fresh
    interpreter that builds the app and serves a request."""
    script = f"""
import sys, asyncio, httpx
SPAN_CODE = ("bigshot_llm.services.telemetry.genai", "bigshot_llm.services.telemetry.sampling")
from bigshot_llm.main import create_app
from tests.conftest import make_settings, ADMIN_KEY
from pathlib import Path

app = create_app(make_settings(Path({str(tmp_path)!r})))
assert app.state.tracing is None
assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
assert not any("opentelemetry" in repr(m.cls) for m in app.user_middleware)

async def main():
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/health")
            assert r.status_code == 200, r.text
        layer, names = app.middleware_stack, []
        while layer is not None:
            names.append(type(layer).__module__)
            layer = getattr(layer, "app", None)
        assert names and not any("opentelemetry" in n for n in names), names
        assert app.state.resources.registry.wrap_transport is None
asyncio.run(main())
from opentelemetry import trace
# No provider was set: FastAPI's own telemetry (it imports the OpenTelemetry API) stays off.
assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
# (The SDK itself may be imported by a library that looks for it: redis-py does.)
parts = ("opentelemetry.instrumentation", "opentelemetry.exporter", *SPAN_CODE)
print(sorted(m for m in sys.modules if m.startswith(parts)))
"""
    assert _last_line_of(script, tmp_path) == "[]"


def test_endpoint_settings_follow_the_otlp_spec(tmp_path: Path) -> None:
    base = make_settings(tmp_path, otel_exporter_otlp_endpoint="http://127.0.0.1:4318/")
    assert base.otlp_traces_endpoint == "http://127.0.0.1:4318/v1/traces"
    own = make_settings(
        tmp_path,
        otel_exporter_otlp_endpoint="http://127.0.0.1:4318",
        otel_exporter_otlp_traces_endpoint="http://127.0.0.1:9999/custom",
    )
    assert own.otlp_traces_endpoint == "http://127.0.0.1:9999/custom"
    assert make_settings(tmp_path).otlp_traces_endpoint is None
    disabled = make_settings(
        tmp_path, otel_exporter_otlp_endpoint="http://127.0.0.1:4318", otel_sdk_disabled=True
    )
    assert disabled.otlp_traces_endpoint is None
    assert create_app(disabled).state.tracing is None
    with pytest.raises(ValueError, match="http"):
        make_settings(tmp_path, otel_exporter_otlp_endpoint="localhost:4318")


async def test_a_failed_generation_is_an_error_span(
    tmp_path: Path, sim: Any, receiver: OTLPReceiver
) -> None:
    with traced_gateway(tmp_path, sim, receiver) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            ok = await client.post(CHAT, json={"messages": MESSAGES}, headers=ADMIN)
            assert ok.status_code == 200  # the model list is cached now
            sim.state.set_fault("http_500", count=1, on="generation")
            failed = await client.post(CHAT, json={"messages": MESSAGES}, headers=ADMIN)
            assert failed.status_code == 502, failed.text
            header = sim.state.last_request_headers["traceparent"]
    spans = one_trace(receiver, traceparent_ids(header)[0])
    (gen,) = spans[f"chat {MODEL}"]
    assert gen.status_code == "ERROR"
    code = failed.json()["error"]["code"]
    assert gen.attributes["error.type"] == code == gen.attributes["bigshot.outcome"]
    assert "gen_ai.usage.output_tokens" not in gen.attributes


def test_fastapi_native_telemetry_stays_off_under_a_global_provider(tmp_path: Path) -> None:
    """FastAPI traces on its own whenever a global tracer provider is configured (and asks for
    it on every request). The gateway's traces are its own and opt-in: another library that
    sets a global provider must not start HTTP spans, nor cost a provider lookup per request."""
    script = f"""
import asyncio, httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
from bigshot_llm.main import create_app
from tests.conftest import make_settings
from pathlib import Path

app = create_app(make_settings(Path({str(tmp_path)!r})))

async def main():
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/health")).status_code == 200
asyncio.run(main())
print(len(exporter.get_finished_spans()))
"""
    assert _last_line_of(script, tmp_path) == "0"
