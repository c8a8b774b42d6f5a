"""The in-memory stream buffer: exact replay after an id, live follow, close and expiry."""

from __future__ import annotations

import asyncio

import pytest

from bigshot_llm.services.chat.buffers.memory import MemoryStreamBuffer, StreamEvent, StreamMeta


def buffer() -> MemoryStreamBuffer:
    return MemoryStreamBuffer(StreamMeta("s1", "u1", "c1", "hash", "p", "m"))


async def collect(buf: MemoryStreamBuffer, after: int) -> list[StreamEvent]:
    return [event async for event in buf.read_after(after)]


async def test_replays_after_an_id_then_follows_live_events() -> None:
    buf = buffer()
    for i in range(3):
        assert await buf.append("delta", {"text": str(i)}) == i + 1
    reader = asyncio.create_task(collect(buf, 1))
    await asyncio.sleep(0.01)
    assert not reader.done()  # caught up: waiting for more
    await buf.append("delta", {"text": "3"})
    await buf.append("done", {})
    await buf.close(keep_seconds=60)
    events = await asyncio.wait_for(reader, 1)
    assert [e.id for e in events] == [2, 3, 4, 5]
    assert [e.data.get("text") for e in events[:3]] == ["1", "2", "3"]
    assert buf.final == events[-1]
    assert await collect(buf, 5) == []
    assert [e.id for e in await collect(buf, 0)] == [1, 2, 3, 4, 5]


async def test_many_readers_each_get_every_event_once() -> None:
    buf = buffer()
    readers = [asyncio.create_task(collect(buf, 0)) for _ in range(5)]
    for i in range(50):
        await buf.append("delta", {"text": str(i)})
        if i % 7 == 0:
            await asyncio.sleep(0)
    await buf.close(keep_seconds=60)
    for events in await asyncio.gather(*readers):
        assert [e.id for e in events] == list(range(1, 51))


async def test_closed_buffers_refuse_events_and_expire() -> None:
    buf = buffer()
    assert not buf.expired()
    await buf.close(keep_seconds=0.05)
    with pytest.raises(RuntimeError):
        await buf.append("delta", {"text": "late"})
    assert buf.final is None
    await asyncio.sleep(0.06)
    assert buf.expired()


def test_subscribers_and_idle_time() -> None:
    buf = buffer()
    assert buf.subscribers == 0
    assert buf.idle_seconds() >= 0
    buf.attach()
    buf.attach()
    assert buf.subscribers == 2
    assert buf.idle_seconds() == 0
    buf.detach()
    assert buf.idle_seconds() == 0
    buf.detach()
    assert buf.subscribers == 0
    assert buf.idle_seconds(now=10**9) > 0
