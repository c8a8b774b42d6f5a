"""The Redis pieces on their own, against the local Redis: stream buffers, the bus, the
model cache. Each test uses a key prefix of its own and deletes it afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import from_url

from bigshot_llm.errors import RateLimited
from bigshot_llm.services.access.auth import Principal
from bigshot_llm.services.access.slots import StreamSlots
from bigshot_llm.services.bus import RedisBus
from bigshot_llm.services.chat.buffers.memory import StreamMeta
from bigshot_llm.services.chat.buffers.redis import READ_BLOCK_MS, RedisStreamStore
from bigshot_llm.services.cluster import Cluster
from bigshot_llm.services.cluster import _client as cluster_client
from bigshot_llm.services.generation.model_cache import make_model_cache
from bigshot_llm.settings import Settings
from tests.support.services import REDIS_URL, require_service


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    require_service("Redis", "127.0.0.1", 6379)
    client: Any = from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Any) -> AsyncIterator[str]:
    name = f"bigshot-test-{uuid.uuid4().hex[:10]}"
    yield name
    keys = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if keys:
        await redis.delete(*keys)


def meta() -> StreamMeta:
    return StreamMeta(
        stream_id=uuid.uuid4().hex,
        owner_id="u1",
        conversation_id="c1",
        token_hash="h" * 64,
        provider="p",
        model="m",
        context={"dropped_messages": 0, "prompt_tokens_estimate": 3},
        user_message_id="msg1",
    )


async def test_a_reader_on_another_replica_resumes_and_follows_live(
    redis: Any, prefix: str
) -> None:
    owner_store = RedisStreamStore(redis, prefix=prefix, replica_id="a")
    reader_store = RedisStreamStore(redis, prefix=prefix, replica_id="b")
    owner = owner_store.create(meta())
    await owner.sync()  # publishes the meta
    for word in ("one ", "two ", "three "):
        await owner.append("delta", {"text": word})

    reader = await reader_store.load(owner.meta.stream_id)
    assert reader is not None and reader.meta == owner.meta
    assert reader.last_id == 3 and not reader.closed and reader.status() == "running"

    async def follow() -> list[tuple[int, str]]:
        return [(e.id, e.event) async for e in reader.read_after(1)]

    following = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    await owner.append("done", {"finish_reason": "stop"})
    await owner.close(keep_seconds=30)
    assert await asyncio.wait_for(following, 5) == [(2, "delta"), (3, "delta"), (4, "done")]
    await reader.sync()
    assert reader.closed and reader.status() == "complete" and reader.final is not None
    assert await reader_store.load("unknown") is None


async def test_readers_on_other_replicas_count_for_the_owners_grace(
    redis: Any, prefix: str
) -> None:
    owner = RedisStreamStore(redis, prefix=prefix, replica_id="a").create(meta())
    await owner.sync()
    reader = await RedisStreamStore(redis, prefix=prefix, replica_id="b").load(owner.meta.stream_id)
    assert reader is not None
    assert owner.subscribers == 0 and owner.idle_seconds() >= 0
    reader.attach()
    assert await synced_until(owner, 1), "the count is written in the background"
    assert owner.idle_seconds() == 0
    reader.detach()
    assert await synced_until(owner, 0)


class ReplyLost:
    """A Redis client whose next XADD is carried out but whose caller is cancelled before the
    reply arrives, as when the sweeper or a stop cancels a generation mid-write."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def xadd(self, *args: Any, **kwargs: Any) -> Any:
        answer = await self._redis.xadd(*args, **kwargs)
        if self.armed:
            self.armed = False
            raise asyncio.CancelledError
        return answer


async def test_the_final_event_is_written_after_a_write_whose_reply_was_lost(
    redis: Any, prefix: str
) -> None:
    """The final event used to reuse the lost write's id, which Redis refuses ("equal or
    smaller than the target stream top item"): the stream then never ended on any replica."""
    client = ReplyLost(redis)
    owner = RedisStreamStore(client, prefix=prefix, replica_id="a").create(meta())
    await owner.sync()
    await owner.append("delta", {"text": "one "})
    client.armed = True
    with pytest.raises(asyncio.CancelledError):
        await owner.append("delta", {"text": "two "})
    assert await owner.append("done", {"finish_reason": "cancelled"}) == 3
    await owner.close(keep_seconds=30)
    reader = await RedisStreamStore(redis, prefix=prefix, replica_id="b").load(owner.meta.stream_id)
    assert reader is not None
    events = [(e.id, e.event) async for e in reader.read_after(0)]
    assert events == [(1, "delta"), (2, "delta"), (3, "done")]
    assert reader.status() == "cancelled"


async def synced_until(owner: Any, subscribers: int, timeout: float = 10.0) -> bool:
    """Sync the owner until it sees `subscribers` readers (False after `timeout`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await owner.sync()
        if owner.subscribers == subscribers:
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)


async def test_a_reader_waits_longer_than_the_socket_timeout_for_news(prefix: str) -> None:
    """The gateway's clients give up on Redis after a few hundred ms, but a blocking read of
    a quiet stream waits a whole block for its next event, and then follows it."""
    require_service("Redis", "127.0.0.1", 6379)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        redis_socket_timeout=0.5,  # still shorter than a block (1 s)
    )
    owner_cluster, reader_cluster = Cluster.connect(settings), Cluster.connect(settings)
    try:
        assert owner_cluster.store is not None and reader_cluster.store is not None
        owner = owner_cluster.store.create(meta())
        await owner.sync()
        reader = await reader_cluster.store.load(owner.meta.stream_id)
        assert reader is not None

        async def follow() -> list[str]:
            return [e.event async for e in reader.read_after(0)]

        following = asyncio.create_task(follow())
        await asyncio.sleep(READ_BLOCK_MS / 1000 * 1.5)  # quiet: longer than a block
        assert not following.done(), following
        await owner.append("delta", {"text": "late"})
        await owner.append("done", {"finish_reason": "stop"})
        await owner.close(keep_seconds=30)
        assert await asyncio.wait_for(following, 10) == ["delta", "done"]
    finally:
        await owner_cluster.close()
        await reader_cluster.close()


async def test_the_bus_reaches_other_replicas_but_not_the_sender(redis: Any, prefix: str) -> None:
    a, b = RedisBus(redis, prefix=prefix), RedisBus(redis, prefix=prefix)
    seen: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}

    async def on_a(message: dict[str, Any]) -> None:
        seen["a"].append(message)

    async def on_b(message: dict[str, Any]) -> None:
        seen["b"].append(message)

    a.on("auth", on_a)
    b.on("auth", on_b)
    await a.start()
    await b.start()
    try:
        await a.publish("auth", key_hash="abc")
        for _ in range(1000):  # up to 10 s: a busy machine delivers late, not never
            if seen["b"]:
                break
            await asyncio.sleep(0.01)
        assert [m["key_hash"] for m in seen["b"]] == ["abc"]
        assert seen["a"] == []
    finally:
        await a.close()
        await b.close()


async def test_the_bus_resyncs_after_redis_py_reconnected_it_quietly(prefix: str) -> None:
    """The gateway's Redis client retries a dropped connection at once, and redis-py then
    subscribes again by itself, so the bus saw no error: whatever was published meanwhile was
    lost, and nothing resynced (a quick Redis restart, a failover, a proxy dropping
    connections). Only this bus's connection is dropped: other suites share this Redis."""
    name = f"{prefix}-bus"
    client = cluster_client(f"{REDIS_URL}?client_name={name}", timeout=0.5, connect_timeout=0.5)
    bus = RedisBus(client, prefix=prefix)
    resynced = asyncio.Event()

    async def resync() -> None:
        resynced.set()

    bus.on_resync(resync)
    await bus.start()
    admin: Any = from_url(REDIS_URL)
    try:
        killed = 0
        for _ in range(1000):  # the bus's pub/sub connection, once it subscribed
            listing: bytes = await admin.execute_command("CLIENT", "LIST", "TYPE", "pubsub")
            for line in listing.splitlines():
                fields = dict(f.split(b"=", 1) for f in line.split() if b"=" in f)
                if fields.get(b"name") == name.encode():
                    killed += await admin.execute_command("CLIENT", "KILL", "ID", fields[b"id"])
            if killed:
                break
            await asyncio.sleep(0.01)
        assert killed == 1
        await asyncio.wait_for(resynced.wait(), 30)
        assert bus.resyncs == 1
    finally:
        await admin.aclose()
        await bus.close()
        await client.aclose()


async def test_the_model_cache_is_shared_and_namespaced(redis: Any, prefix: str) -> None:
    other: Any = from_url(REDIS_URL)  # another replica's client
    namespace = f"{prefix}:models"
    first = make_model_cache(redis, namespace=namespace)
    second = make_model_cache(other, namespace=namespace)
    try:
        await first.set("p", {"models": [{"id": "m"}]}, ttl=30)
        assert await second.get("p") == {"models": [{"id": "m"}]}
        assert await redis.exists(f"{namespace}:p"), "stored under the prefix"
        await second.delete("p")
        assert await first.get("p") is None
    finally:
        await first.close()
        await second.close()
    assert await redis.ping(), "closing a cache leaves the shared client open"
    await other.aclose()


async def test_an_unreachable_model_cache_is_a_miss_not_a_failure() -> None:
    unreachable: Any = from_url("redis://127.0.0.1:9/0")
    cache = make_model_cache(unreachable, namespace="bigshot-test-none:models")
    try:
        assert await cache.get("models:p") is None
        assert not await cache.set("models:p", {"models": []}, ttl=5)
    finally:
        await cache.close()
        await unreachable.aclose()


async def test_stream_slots_are_counted_per_user_under_the_prefix(redis: Any, prefix: str) -> None:
    other: Any = from_url(REDIS_URL)  # a second replica
    here = StreamSlots(redis, prefix=f"{prefix}:streams", user_limit=1)
    there = StreamSlots(other, prefix=f"{prefix}:streams", user_limit=1)
    alice = Principal(user_id="u1", user_name="alice", role="user", key_id="k1")
    alice_other_key = Principal(user_id="u1", user_name="alice", role="user", key_id="k2")
    try:
        slot = await here.acquire(alice)
        assert await redis.get(f"{prefix}:streams:user:u1") == b"1"
        with pytest.raises(RateLimited):
            await there.acquire(alice_other_key)  # the same user, another key, another replica
        await here.release(slot)
        assert await redis.get(f"{prefix}:streams:user:u1") == b"0"
        await here.release(await there.acquire(alice_other_key))
    finally:
        await other.aclose()
