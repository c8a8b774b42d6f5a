"""A provider pool of two simulators: load spreads over both, and killing one under load
fails no request that had not started streaming."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bigshot_llm.sim.testing import running_sim
from bigshot_llm.sse import SSEDecoder
from tests.scale.cluster import Cluster, auth

CHAT = "/api/v1/llm-providers/chat/completions"


@pytest.fixture
def members() -> Iterator[tuple[Any, Any]]:
    with (
        running_sim(tokens=15, token_delay=0.02) as m1,
        running_sim(tokens=15, token_delay=0.02) as m2,
    ):
        yield m1, m2


def one_request(base: str, provider_id: str, stream: bool) -> str:
    """ "ok", "failed-before-streaming" or "failed-while-streaming"."""
    body = {
        "provider": provider_id,
        "messages": [{"role": "user", "content": f"pool {uuid.uuid4().hex[:6]}"}],
        "stream": stream,
    }
    try:
        if not stream:
            response = httpx.post(f"{base}{CHAT}", json=body, headers=auth(), timeout=30)
            if response.status_code == 200:
                return "ok"
            return f"failed-before-streaming: {response.text[:300]}"
        deltas = 0
        with httpx.stream("POST", f"{base}{CHAT}", json=body, headers=auth(), timeout=30) as r:
            if r.status_code != 200:
                return f"failed-before-streaming: {r.read()[:300]!r}"
            decoder = SSEDecoder()
            for chunk in r.iter_bytes():
                for event in decoder.feed(chunk):
                    if event.event == "delta":
                        deltas += 1
                    elif event.event == "error":
                        if deltas:
                            return "failed-while-streaming"
                        return f"failed-before-streaming: {event.data[:300]}"
                    elif event.event == "done":
                        return "ok"
        return "failed-while-streaming" if deltas else "failed-before-streaming: no events"
    except httpx.HTTPError as exc:
        return f"failed-before-streaming: {exc!r}"


def test_killing_one_pool_member_under_load_fails_nothing_that_had_not_started(
    cluster: Cluster, members: tuple[Any, Any]
) -> None:
    m1, m2 = members
    a = cluster.replicas[0]
    created = httpx.post(
        f"{a.url}/api/v1/llm-providers",
        json={
            "name": f"pool-{uuid.uuid4().hex[:6]}",
            "kind": "lmstudio",
            "base_url": f"{m1.url}/v1",
            "pool_urls": [f"{m2.url}/v1"],
        },
        headers=auth(),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    provider = created.json()["data"]
    assert provider["pool_urls"] == [m2.url]

    bases = [r.url for r in cluster.replicas[:3]]

    def run(jobs: list[tuple[str, bool]]) -> list[str]:
        with ThreadPoolExecutor(max_workers=18) as pool:
            return list(pool.map(lambda job: one_request(job[0], provider["id"], job[1]), jobs))

    warm_up = run([(bases[i % 3], i % 2 == 0) for i in range(18)])
    assert warm_up == ["ok"] * 18, warm_up
    chats = [m.state.requests_by_path.get("/v1/chat/completions", 0) for m in (m1, m2)]
    assert min(chats) >= 5, chats  # the least busy member: both take a share

    killer = threading.Timer(0.5, m1.stop)
    killer.start()
    outcomes = run([(bases[i % 3], i % 2 == 0) for i in range(72)])
    killer.join()
    failed = [o for o in outcomes if o.startswith("failed-before-streaming")]
    assert not failed, failed
    assert outcomes.count("ok") >= len(outcomes) - 18  # at most the streams cut mid-answer

    # The health check brings the member back once it answers again.
    m1.start()
    before = m1.state.requests_total
    deadline = time.monotonic() + 5
    while m1.state.requests_total - before < 3 and time.monotonic() < deadline:
        assert one_request(bases[0], provider["id"], False) == "ok"
        time.sleep(0.1)
    assert m1.state.requests_total - before >= 3
