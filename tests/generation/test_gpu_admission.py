"""Sharing GPUs, against the simulator over real sockets: the upstream never runs more
generations than its slots, the queue is fair across users, waiting clients see their place
(native `queued` events, `/v1` comments), and a wait that cannot end in time is a 503 or 429
with Retry-After instead of a timeout deep inside."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from bigshot_llm.main import create_app
from bigshot_llm.sse import SSEDecoder
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
CHAT = "/api/v1/llm-providers/chat/completions"
CAPACITY = "/api/v1/llm-providers/capacity"
MODEL = "qwen2.5-7b-instruct"
DEADLINE = 60.0  # generous: the machine may be busy


def gateway_for(tmp_path: Path, sim: Any, **overrides: Any) -> ThreadedServer:
    values: dict[str, Any] = {
        "lmstudio_api_base": f"{sim.url}/v1",
        "max_streams_user": 0,  # the per-user stream cap is not what these tests are about
        "rate_limit_user": 0,
    }
    values.update(overrides)
    return ThreadedServer(create_app(make_settings(tmp_path, **values)))


def gateway_over(tmp_path: Path, sim: Any, *others: Any, **overrides: Any) -> ThreadedServer:
    """A gateway on `sim` that may also reach the `others` (pool members, fallback providers)."""
    hosts = ",".join(f"127.0.0.1:{s.port}" for s in (sim, *others))
    return gateway_for(tmp_path, sim, allowed_upstream_hosts=hosts, **overrides)


@pytest.fixture
def gateway(tmp_path: Path, sim: Any) -> Iterator[ThreadedServer]:
    with gateway_for(tmp_path, sim) as server:
        yield server


async def wait_until(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def capacity_of(client: httpx.AsyncClient, model: str = MODEL) -> dict[str, Any]:
    answer = await client.get(CAPACITY, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    rows = [row for row in answer.json()["data"] if row["model"] == model]
    return rows[0] if rows else {"queued": 0, "in_use": 0, "slots": None}


async def queued(client: httpx.AsyncClient, count: int) -> bool:
    return (await capacity_of(client))["queued"] == count


async def user_key(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    created = await client.post(
        "/api/v1/keys", json={"name": f"{name}-key", "user": name}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    return auth(created.json()["data"]["key"])


async def learn_slots(client: httpx.AsyncClient) -> None:
    """A detailed listing: the gateway reads each instance's `parallel` from it."""
    listing = await client.get(
        "/api/v1/llm-providers/models",
        params={"detailed": "true", "refresh": "true"},
        headers=ADMIN,
    )
    assert listing.status_code == 200, listing.text


async def stream_events(
    client: httpx.AsyncClient, headers: dict[str, str], prompt: str, **extra: Any
) -> list[tuple[str, Any]]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True}
    decoder = SSEDecoder()
    events: list[tuple[str, Any]] = []
    async with client.stream("POST", CHAT, json={**body, **extra}, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for raw in response.aiter_raw():
            for event in decoder.feed(raw):
                if event.event and event.data:
                    events.append((event.event, orjson.loads(event.data)))
    return events


Started = asyncio.Task[list[tuple[str, Any]]]  # a stream's events, once it ends


async def started(
    client: httpx.AsyncClient, prompt: str, until: Callable[[], Any], what: str, **extra: Any
) -> Started:
    """A stream (`stream_events`; `headers` among `extra`, default ADMIN) started, once
    `until` holds."""
    headers = extra.pop("headers", ADMIN)
    task = asyncio.create_task(stream_events(client, headers, prompt, **extra))
    await wait_until(until, f"{prompt!r} {what}")
    return task


async def started_running(
    client: httpx.AsyncClient, upstream: Any, prompt: str, **extra: Any
) -> Started:
    """A stream started, and the one generation on `upstream` (a simulator)."""
    return await started(client, prompt, lambda: upstream.state.generating == 1, "to run", **extra)


async def started_queued(
    client: httpx.AsyncClient, prompt: str, waiting: int, **extra: Any
) -> Started:
    """A stream started, and waiting in the model's queue (`waiting` requests in it then)."""
    return await started(client, prompt, lambda: queued(client, waiting), "to queue", **extra)


async def one_busy_slot(client: httpx.AsyncClient, sim: Any, prompt: str) -> Started:
    """`sim` has one slot (and the gateway knows it), held by a paused generation until
    `sim.state.paused` is cleared."""
    sim.state.parallel = 1
    sim.state.paused = True
    await learn_slots(client)
    return await started_running(client, sim, prompt)


async def test_two_slots_ten_requests_three_users_fair_and_never_over(
    gateway: ThreadedServer, sim: Any
) -> None:
    """The issue's case: 2 slots, 10 concurrent requests from 3 users. Alice sends four before
    Bob and Carol send three each; a FIFO queue would run all of Alice's first."""
    sim.state.parallel = 2
    sim.state.tokens, sim.state.token_delay = 6, 0.03
    sim.state.paused = True  # the first two hold their slots until every request waits
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE * 2) as client:
        await learn_slots(client)
        keys = {name: await user_key(client, name) for name in ("alice", "bob", "carol")}
        tasks: list[asyncio.Task[list[tuple[str, Any]]]] = []

        def send(name: str, n: int) -> None:
            prompt = f"{name}-{n}"
            tasks.append(asyncio.create_task(stream_events(client, keys[name], prompt)))

        # One at a time, so each user's n-th request is the n-th the gateway sees of them.
        for n in range(1, 5):
            send("alice", n)
            if n <= 2:
                await wait_until(lambda n=n: sim.state.generating == n, f"alice-{n} to run")
            else:
                await wait_until(lambda n=n: queued(client, n - 2), f"alice-{n} to queue")
        for n in range(1, 4):
            for name in ("bob", "carol"):
                send(name, n)
                await wait_until(lambda: queued(client, len(tasks) - 2), f"{name}-{n} to queue")
        assert sim.state.served == ["alice-1", "alice-2"]
        report = await capacity_of(client)
        assert report["slots"] == 2 and report["in_use"] == 2
        assert report["instances"][0]["reported"] is True  # from loaded_instances[].parallel
        sim.state.paused = False
        results = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE * 2)

    assert sim.state.peak_generating == 2  # never more than the slots
    assert all(events[-1][0] == "done" for events in results)  # every request completed
    served = sim.state.served
    assert sorted(served) == sorted(
        [f"alice-{n}" for n in range(1, 5)]
        + [f"{u}-{n}" for u in ("bob", "carol") for n in (1, 2, 3)]
    )
    firsts = [served.index(f"{u}-1") for u in ("alice", "bob", "carol")]
    thirds = [served.index(f"{u}-3") for u in ("alice", "bob", "carol")]
    # Should it fail: when each request reached the upstream, and how long it had queued here.
    waits = [(events[-1][1].get("served_by") or {}).get("queued_ms") for events in results]
    assert max(firsts) < min(thirds), (served, sim.state.arrived, waits)
    # The queued ones were told where they stood, and `done` says where they ran.
    waited = [events for events in results if events[0][0] == "queued"]
    assert len(waited) == 8
    assert all(isinstance(e[0][1]["position"], int) and e[0][1]["position"] >= 1 for e in waited)
    done = results[0][-1][1]
    assert done["served_by"]["instance"] == MODEL and done["served_by"]["server"] == sim.url


async def test_a_queued_stream_reports_its_position_and_v1_sends_comments(
    gateway: ThreadedServer, sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE * 2) as client:
        first = await one_busy_slot(client, sim, "holds the slot")
        second = await started_queued(client, "waits", 1)
        raw = b""
        async with client.stream(
            "POST",
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "v1"}], "stream": True},
            headers=ADMIN,
        ) as response:
            assert response.status_code == 200
            async for piece in response.aiter_raw():
                raw += piece
                if b": queued position=2" in raw:
                    sim.state.paused = False
        events = await asyncio.wait_for(second, DEADLINE)
        await asyncio.wait_for(first, DEADLINE)
    assert events[0] == (
        "queued",
        {"position": 1, "estimate_seconds": events[0][1]["estimate_seconds"]},
    )
    assert events[0][1]["estimate_seconds"] >= 0
    assert events[-1][0] == "done" and events[-1][1]["served_by"]["queued_ms"] > 0
    assert b": queued position=2" in raw and raw.rstrip().endswith(b"data: [DONE]")
    assert sim.state.peak_generating == 1


def test_openai_sdk_streams_through_a_queue(gateway: ThreadedServer, sim: Any) -> None:
    """The comments a waiting `/v1` stream gets are invisible to OpenAI's own client."""
    sim.state.parallel = 1
    sim.state.paused = True
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=ADMIN_KEY, max_retries=0)
    with httpx.Client(base_url=gateway.url, timeout=DEADLINE) as http:
        assert http.get(
            "/api/v1/llm-providers/models", params={"detailed": "true"}, headers=ADMIN
        ).is_success
        holder = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "first"}], stream=True
        )
        with ThreadPoolExecutor(1) as pool:

            def second() -> str:
                stream = client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "second"}], stream=True
                )
                return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

            waiting = pool.submit(second)

            def queued_now() -> bool:
                rows = http.get(CAPACITY, headers=ADMIN).json()["data"]
                return any(r["model"] == MODEL and r["queued"] == 1 for r in rows)

            sim.state.wait_for(queued_now, timeout=DEADLINE, interval=0.05)
            sim.state.paused = False
            first_text = "".join(c.choices[0].delta.content or "" for c in holder if c.choices)
            second_text = waiting.result(DEADLINE)
    assert first_text and second_text
    assert sim.state.served == ["first", "second"] and sim.state.peak_generating == 1


async def test_a_short_deadline_is_a_503_with_retry_after(
    gateway: ThreadedServer, sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        holder = await one_busy_slot(client, sim, "holds")
        body = {"model": MODEL, "messages": [{"role": "user", "content": "late"}], "stream": True}
        refused = await client.post(
            CHAT, json=body, headers={**ADMIN, "X-Bigshot-Queue-Timeout": "0.3"}
        )
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "queue_timeout"
        assert int(refused.headers["Retry-After"]) >= 1
        v1 = await client.post(
            "/v1/chat/completions",
            json={**body, "stream": False},
            headers={**ADMIN, "X-Bigshot-Queue-Timeout": "0.2"},
        )
        assert v1.status_code == 503 and v1.json()["error"]["code"] == "queue_timeout"
        bad = await client.post(
            CHAT, json=body, headers={**ADMIN, "X-Bigshot-Queue-Timeout": "soon"}
        )
        assert (
            bad.status_code == 400 and "X-Bigshot-Queue-Timeout" in bad.json()["error"]["message"]
        )
        sim.state.paused = False
        await asyncio.wait_for(holder, DEADLINE)
    assert sim.state.served == ["holds"]  # the refused ones never reached the upstream


async def test_a_full_queue_is_a_429_with_retry_after(tmp_path: Path, sim: Any) -> None:
    sim.state.parallel = 1
    sim.state.paused = True
    with gateway_for(tmp_path, sim, queue_max_per_model=1) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            await learn_slots(client)
            holder = await started_running(client, sim, "holds")
            waiter = await started_queued(client, "waits", 1)
            body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
            full = await client.post(CHAT, json=body, headers=ADMIN)
            assert full.status_code == 429, full.text
            assert full.json()["error"]["code"] == "queue_full"
            assert int(full.headers["Retry-After"]) >= 1
            sim.state.paused = False
            await asyncio.wait_for(asyncio.gather(holder, waiter), DEADLINE)
    assert sim.state.served == ["holds", "waits"]


async def test_duplicate_instances_add_their_slots(gateway: ThreadedServer, sim: Any) -> None:
    """`key` and `key:2` with 1 slot each: two run at once, one on each instance."""
    sim.state.parallel = 1
    sim.state.duplicates = {MODEL: 1}
    sim.state.paused = True
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE * 2) as client:
        await learn_slots(client)
        tasks = [asyncio.create_task(stream_events(client, ADMIN, f"p{n}")) for n in range(3)]
        await wait_until(lambda: queued(client, 1), "the third to queue")
        # Granted slots reach the upstream a moment later (slower on a busy machine).
        await wait_until(lambda: sim.state.generating == 2, "two to run")
        report = await capacity_of(client)
        assert report["slots"] == 2
        assert {i["id"] for i in report["instances"]} == {MODEL, f"{MODEL}:2"}
        assert sim.state.generating == 2
        sim.state.paused = False
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert sim.state.peak_busy == {MODEL: 1, f"{MODEL}:2": 1}
    assert sim.state.queued_internally == 0 and sim.state.peak_queued_internally == 0


def test_metrics_show_queue_depth_and_slots(gateway: ThreadedServer, sim: Any) -> None:
    with httpx.Client(base_url=gateway.url, timeout=DEADLINE) as client:
        # Labels name only models the provider listed (else "other"): list them first.
        assert client.get("/api/v1/llm-providers/models", headers=ADMIN).status_code == 200
        body = {"model": MODEL, "messages": [{"role": "user", "content": "m"}]}
        assert client.post(CHAT, json=body, headers=ADMIN).status_code == 200
        metrics = client.get("/metrics", headers=ADMIN).text
    slots = [line for line in metrics.splitlines() if line.startswith("bigshot_gpu_slots{")]
    assert any('model="qwen2.5-7b-instruct"' in line and line.endswith(" 4.0") for line in slots)
    assert "bigshot_gpu_queue_depth" in metrics and "bigshot_gpu_queue_wait_seconds" in metrics


async def test_a_batch_key_waits_behind_normal_requests(gateway: ThreadedServer, sim: Any) -> None:
    """Same round for both users: the class decides, not who came first."""
    sim.state.parallel = 1
    sim.state.paused = True
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        await learn_slots(client)
        batch = await user_key(client, "nightly")
        normal = await user_key(client, "frank")
        me = (await client.get("/api/v1/keys", headers=batch)).json()["data"][0]
        refused = await client.patch(
            f"/api/v1/keys/{me['id']}", json={"priority": "interactive"}, headers=batch
        )
        assert refused.status_code == 403
        wrong = await client.patch(
            f"/api/v1/keys/{me['id']}", json={"priority": "urgent"}, headers=ADMIN
        )
        assert wrong.status_code == 422 and "priority" in wrong.text
        set_ = await client.patch(
            f"/api/v1/keys/{me['id']}", json={"priority": "batch"}, headers=ADMIN
        )
        assert set_.status_code == 200 and set_.json()["data"]["priority"] == "batch"
        holder = await started_running(client, sim, "holder")
        first = await started_queued(client, "batch-job", 1, headers=batch)
        second = await started_queued(client, "interactive-ish", 2, headers=normal)
        sim.state.paused = False
        await asyncio.wait_for(asyncio.gather(holder, first, second), DEADLINE)
    assert sim.state.served == ["holder", "interactive-ish", "batch-job"]


async def test_chat_streams_and_compare_relay_queued_events(
    gateway: ThreadedServer, sim: Any
) -> None:
    """The browser's surfaces wait in the same queue and say so."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE * 2) as client:
        holder = await one_busy_slot(client, sim, "holds")
        created = await client.post(
            "/api/v1/chat/streams", json={"message": "from the ui", "model": MODEL}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
        compare = asyncio.create_task(
            client.post(
                "/api/v1/compare",
                json={
                    "prompt": "compared",
                    "targets": [
                        {"provider": "LMStudio Local", "model": MODEL},
                        {"provider": "nope", "model": "x"},  # an error target: no slot
                    ],
                },
                headers=ADMIN,
            )
        )
        await wait_until(lambda: queued(client, 2), "the chat stream and the comparison to queue")
        sim.state.paused = False
        chat = await client.get(created.json()["data"]["events_url"])
        compared = await asyncio.wait_for(compare, DEADLINE)
        await asyncio.wait_for(holder, DEADLINE)

    def named(body: bytes) -> list[tuple[str, Any]]:
        decoder = SSEDecoder()
        found = decoder.feed(body) + decoder.feed(b"\n\n")
        return [(e.event or "message", orjson.loads(e.data)) for e in found if e.data]

    chat_events, compare_events = named(chat.content), named(compared.content)
    assert chat_events[0][0] == "queued" and chat_events[0][1]["position"] in (1, 2)
    assert chat_events[-1][0] == "done"
    queued_compare = [data for name, data in compare_events if name == "queued"]
    assert queued_compare and queued_compare[0]["target"] == 0
    assert sim.state.peak_generating == 1


async def test_a_client_that_leaves_the_queue_frees_its_place(
    gateway: ThreadedServer, sim: Any
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        holder = await one_busy_slot(client, sim, "holds")
        async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as leaver:
            gone = asyncio.create_task(stream_events(leaver, ADMIN, "leaves"))
            await wait_until(lambda: queued(client, 1), "the leaver to queue")
            gone.cancel()  # closes its connection while it waits
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await gone
        await wait_until(lambda: queued(client, 0), "the queue to forget it")
        sim.state.paused = False
        await asyncio.wait_for(holder, DEADLINE)
        after = await stream_events(client, ADMIN, "next")
        report = await capacity_of(client)
    assert after[-1][0] == "done"
    assert sim.state.served == ["holds", "next"]  # the leaver never reached the upstream
    assert report["in_use"] == 0 and report["queued"] == 0


async def test_capacity_shows_a_user_only_the_providers_they_may_use(
    tmp_path: Path, sim: Any
) -> None:
    """Two users' own providers may share a name: each sees the queue of their own only."""
    with gateway_over(tmp_path, sim) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as client:
            owners = {name: await user_key(client, name) for name in ("bea", "cal")}
            ids = {}
            for name, headers in owners.items():
                created = await client.post(
                    "/api/v1/llm-providers",
                    json={"name": "my-box", "kind": "lmstudio", "base_url": sim.url},
                    headers=headers,
                )
                assert created.status_code == 201, created.text
                ids[name] = created.json()["data"]["id"]
            body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
            answer = await client.post(
                CHAT, json={**body, "provider": ids["bea"]}, headers=owners["bea"]
            )
            assert answer.status_code == 200, answer.text
            seen = {}
            for name, headers in owners.items():
                report = await client.get(CAPACITY, headers=headers)
                assert report.status_code == 200, report.text
                seen[name] = [row for row in report.json()["data"] if row["provider"] == "my-box"]
            assert len(seen["bea"]) == 1  # her own provider's model, admitted once
            assert seen["cal"] == []  # the same name, but not his provider


async def test_a_fresh_gateway_learns_the_slots_before_admitting(
    gateway: ThreadedServer, sim: Any
) -> None:
    """No model listing has happened yet: the first requests do not assume LM Studio's default
    of 4 slots when the server reports 8 (the listing is read once, shared by all of them)."""
    sim.state.parallel = 8
    sim.state.paused = True
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE * 2) as client:
        tasks = [asyncio.create_task(stream_events(client, ADMIN, f"p{n}")) for n in range(8)]
        await wait_until(lambda: sim.state.generating == 8, "all eight to run")
        assert (await capacity_of(client))["queued"] == 0
        sim.state.paused = False
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert sim.state.peak_busy == {MODEL: 8}


AGENT_SURFACES = pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/messages",
            {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "w"}]},
        ),
        ("/v1/responses", {"model": MODEL, "input": "w"}),
    ],
    ids=["messages", "responses"],
)


@AGENT_SURFACES
async def test_agent_surfaces_read_the_admission_headers(
    gateway: ThreadedServer, sim: Any, path: str, body: dict[str, Any]
) -> None:
    """The Messages and Responses APIs take `X-Bigshot-Queue-Timeout` as the other surfaces do
    (a wait that cannot end in time is a quick 503, not the default 120 s), and a one-shot
    answer says where it ran (`X-Bigshot-Served-By`)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=DEADLINE) as client:
        holder = await one_busy_slot(client, sim, "holds the slot")
        headers = {**ADMIN, "X-Bigshot-Queue-Timeout": "0.5"}
        started = time.monotonic()
        refused = await client.post(path, json=body, headers=headers, timeout=20)
        assert refused.status_code == 503, refused.text
        assert time.monotonic() - started < 15
        assert refused.headers.get("retry-after")
        sim.state.paused = False
        await asyncio.wait_for(holder, DEADLINE)
        answered = await client.post(path, json=body, headers=ADMIN)
        assert answered.status_code == 200, answered.text
        assert answered.headers["x-bigshot-served-by"].endswith(MODEL)
