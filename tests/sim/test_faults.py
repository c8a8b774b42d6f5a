"""Fault modes, the stopped/restart cycle, control endpoints and the ``__main__`` entry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from bigshot_llm.sim import SimServer, SimState
from bigshot_llm.sim.catalogue import default_models
from bigshot_llm.sim.testing import running_sim

QWEN = "qwen2.5-7b-instruct"


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": QWEN, "messages": [{"role": "user", "content": "Hi"}], **extra}


async def raw_stream(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    """Every non-empty SSE line of a chat stream."""
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        return [line async for line in r.aiter_lines() if line]


async def test_slow_headers(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("slow_headers", delay=0.4)
    for call in (
        lambda: client.post("/v1/chat/completions", json=chat_body()),
        lambda: client.get("/v1/models"),
    ):
        start = time.monotonic()
        assert (await call()).status_code == 200
        assert time.monotonic() - start >= 0.35
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/api/v1/models", timeout=0.1)


async def test_hang_mid_stream(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("hang_mid_stream", after=2)
    lines: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        async with client.stream(
            "POST",
            "/v1/chat/completions",
            json=chat_body(stream=True),
            timeout=httpx.Timeout(5.0, read=0.5),
        ) as r:
            async for line in r.aiter_lines():
                if line:
                    lines.append(line)
    assert len(lines) == 2
    await sim.state.wait_for_async(lambda: sim.state.streams_aborted == 1, timeout=2.0)
    assert sim.state.streams_open == 0


async def test_drop_mid_stream(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("drop_mid_stream", after=3)
    lines: list[str] = []
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        async with client.stream("POST", "/v1/chat/completions", json=chat_body(stream=True)) as r:
            async for line in r.aiter_lines():
                if line:
                    lines.append(line)
    assert len(lines) == 3 and "data: [DONE]" not in lines
    await sim.state.wait_for_async(lambda: sim.state.streams_faulted == 1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await client.post("/v1/chat/completions", json=chat_body())


@pytest.mark.parametrize("status", [500, 503])
async def test_http_errors(client: httpx.AsyncClient, sim: SimServer, status: int) -> None:
    sim.state.set_fault(f"http_{status}")
    for r in (
        await client.post("/v1/chat/completions", json=chat_body()),
        await client.get("/v1/models"),
        await client.get("/api/v0/models"),
        await client.get("/api/v1/models"),
    ):
        assert r.status_code == status
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
        assert (r.headers.get("retry-after") == "1") == (status == 503)


async def test_fault_count_heals(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("http_503", count=2)
    codes = [(await client.get("/v1/models")).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert sim.state.fault is None


async def test_a_fault_on_generations_leaves_listings_alone(
    client: httpx.AsyncClient, sim: SimServer
) -> None:
    """A one-shot fault meant for a chat request used to be taken by whatever came first: a
    gateway's model listing (its cache expiring on a busy machine) healed it unseen."""
    sim.state.set_fault("http_503", count=1, on="generation")
    assert (await client.get("/v1/models")).status_code == 200
    assert (await client.post("/v1/embeddings", json={"model": "x", "input": "a"})).status_code in (
        200,
        404,
    )
    assert (await client.post("/v1/chat/completions", json=chat_body())).status_code == 503
    assert (await client.post("/v1/chat/completions", json=chat_body())).status_code == 200
    assert sim.state.fault is None
    config = await client.post("/_sim/config", json={"fault": "http_500", "on": "models"})
    assert config.status_code == 200, config.text
    assert (await client.post("/v1/chat/completions", json=chat_body())).status_code == 200
    assert (await client.get("/v1/models")).status_code == 500
    with pytest.raises(ValueError, match="on"):
        sim.state.set_fault("http_500", on="everything")


async def test_malformed_chunk(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.tokens = 5
    sim.state.set_fault("malformed_chunk", after=2)
    lines = await raw_stream(client, chat_body(stream=True))
    assert lines[2] == "data: {not json"
    for line in lines[:2] + lines[3:-1]:
        json.loads(line.removeprefix("data: "))
    assert lines[-1] == "data: [DONE]"


async def test_error_event(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("error_event", after=1)
    lines = await raw_stream(client, chat_body(stream=True))
    assert len(lines) == 3
    assert lines[1] == "event: error"
    payload = json.loads(lines[2].removeprefix("data: "))
    assert "context length" in payload["error"]["message"]
    await sim.state.wait_for_async(lambda: sim.state.streams_faulted == 1)


async def test_empty_models(client: httpx.AsyncClient, sim: SimServer) -> None:
    sim.state.set_fault("empty_models")
    assert (await client.get("/v1/models")).json() == {"object": "list", "data": []}
    assert (await client.get("/api/v0/models")).json()["data"] == []
    assert (await client.get("/api/v1/models")).json() == {"models": []}


async def test_set_fault_validates() -> None:
    state = SimState()
    with pytest.raises(ValueError):
        state.set_fault("nope")
    with pytest.raises(ValueError):
        state.set_fault("http_500", count=0)


async def test_stopped_and_restart_same_port() -> None:
    with running_sim(tokens=3) as server:
        port = server.port
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
            assert (await client.get("/v1/models")).status_code == 200
            server.state.set_fault("stopped")
            assert not server.running
            with pytest.raises(httpx.ConnectError):
                await client.get("/v1/models")
            server.state.set_fault(None)
            assert server.running and server.port == port
            assert (await client.get("/v1/models")).status_code == 200
            server.stop()
            with pytest.raises(httpx.ConnectError):
                await client.get("/v1/models")
            server.start()
            assert server.port == port
            assert (await client.get("/v1/models")).status_code == 200


async def test_stop_closes_open_streams() -> None:
    with running_sim(tokens=3) as server:
        server.state.set_fault("hang_mid_stream", after=1)
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                async with client.stream(
                    "POST", "/v1/chat/completions", json=chat_body(stream=True)
                ) as r:
                    async for line in r.aiter_lines():
                        if line:
                            server.stop()
        assert server.state.streams_open == 0


async def test_control_endpoints(client: httpx.AsyncClient, sim: SimServer) -> None:
    r = await client.post(
        "/_sim/config",
        json={"tokens": 3, "token_delay": 0.0, "fault": "http_503", "fail_count": 1},
    )
    assert r.status_code == 200 and r.json()["tokens"] == 3 and r.json()["fault"] == "http_503"
    assert (await client.get("/v1/models")).status_code == 503
    body = (await client.post("/v1/chat/completions", json=chat_body())).json()
    assert body["usage"]["completion_tokens"] == 3
    state = (await client.get("/_sim/state")).json()
    assert state["fault"] is None and state["requests_total"] == 2
    assert state["requests_by_path"] == {"/v1/models": 1, "/v1/chat/completions": 1}
    assert (await client.post("/_sim/config", json={"bogus": 1})).status_code == 400
    assert (await client.post("/_sim/config", json={"fault": "bogus"})).status_code == 400
    r = await client.post("/_sim/config", json={"loaded": ["llama-3.2-1b-instruct"]})
    assert r.json()["loaded"] == {"llama-3.2-1b-instruct": 4096}
    reset = (await client.post("/_sim/reset")).json()
    assert reset["tokens"] == 20 and reset["requests_total"] == 0
    assert set(reset["loaded"]) == {QWEN, "text-embedding-nomic-embed-text-v1.5"}


def test_main_subprocess_and_remote_stop() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bigshot_llm.sim", "--port", "0", "--token-delay", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=5.0) as client:
            assert len(client.get("/v1/models").json()["data"]) == len(default_models())
            r = client.post("/_sim/config", json={"fault": "stopped", "fault_delay": 0.6})
            assert r.status_code == 200
            time.sleep(0.4)
            with pytest.raises(httpx.ConnectError):
                client.get("/v1/models")
            deadline = time.monotonic() + 5
            while True:
                try:
                    assert client.get("/v1/models").status_code == 200
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
