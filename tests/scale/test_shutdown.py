"""SIGTERM: a replica stops accepting, lets its running stream finish (up to the shutdown
grace), and a stream cut at the deadline ends with a final event readable on any replica."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid

import httpx
import pytest

from tests.scale.cluster import Cluster, auth
from tests.scale.sse import Event, read, start, text_of


def test_a_sigtermed_replica_finishes_its_running_stream(cluster: Cluster) -> None:
    a = cluster.replicas[0]
    (d,) = cluster.add(1, BIGSHOT_LOG_LEVEL="INFO")
    message = f"shutdown {uuid.uuid4().hex[:6]}"
    stream = start(d.url, auth(), message=message)  # ~2.4 s of tokens
    events: list[Event] = []
    connected = threading.Event()
    reader = threading.Thread(
        target=lambda: events.extend(read(d.url, stream["events_url"], connected=connected))
    )
    reader.start()
    # The reader is attached before the SIGTERM (on a busy machine its connect can come later
    # than the replica's stop, which then refuses it: a test that read nothing, not a defect).
    assert connected.wait(30), "the reader never got the stream's answer"
    time.sleep(0.2)
    d.terminate()
    time.sleep(0.3)
    with pytest.raises(httpx.TransportError):  # no longer accepting
        httpx.get(f"{d.url}/health", timeout=2)
    reader.join(15)
    try:
        assert d.wait(15) in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    except subprocess.TimeoutExpired:
        pytest.fail(f"the replica did not stop:\n{d.log()}")
    assert events and events[-1][1] == "done", (events[-3:], d.log())
    assert events[-1][2]["finish_reason"] != "cancelled", (events[-1][2], d.log())

    whole = read(a.url, start(a.url, auth(), message=message)["events_url"])
    assert text_of(events) == text_of(whole)  # the same answer, complete
    replay = read(a.url, stream["events_url"])  # the buffer outlives its replica (Redis)
    assert replay == events


def test_a_stream_cut_at_the_shutdown_deadline_ends_with_a_final_event(cluster: Cluster) -> None:
    a = cluster.replicas[0]
    (e,) = cluster.add(1, BIGSHOT_SHUTDOWN_GRACE_SECONDS="0.2", BIGSHOT_LOG_LEVEL="INFO")
    stream = start(e.url, auth(), message=f"cut {uuid.uuid4().hex[:6]}")
    first = read(e.url, stream["events_url"], limit=3)
    e.terminate()
    try:
        assert e.wait(15) in (0, -15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the replica did not stop:\n{e.log()}")
    rest = read(a.url, stream["events_url"], last_id=first[-1][0])  # EventSource reconnects
    final = rest[-1]
    assert final[1] == "done"
    assert final[2]["finish_reason"] == "cancelled", e.log()
    assert final[2]["cancel_reason"] == "shutdown"
    events = first + rest
    assert [event_id for event_id, _, _ in events] == list(range(1, len(events) + 1))
