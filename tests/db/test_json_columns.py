"""JSON columns take whatever valid JSON a user may send, integers beyond 64 bits included.

(The schema fuzzer found it: orjson, which encodes the JSON columns, refuses such integers,
and importing a conversation holding one answered 500.)
"""

from __future__ import annotations

from bigshot_llm.db.engine import (
    JSON_CODEC,
    DatabaseTimeouts,
    make_engine,
    make_session_factory,
)
from bigshot_llm.db.migrate import upgrade
from bigshot_llm.services.access.auth import ensure_user
from bigshot_llm.services.agents.stored_responses import ResponseStore


async def test_a_json_column_stores_an_integer_beyond_64_bits(database_url: str) -> None:
    engine = make_engine(database_url, timeouts=DatabaseTimeouts())
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            owner = (await ensure_user(session, "json-writer", "user")).id
            await session.commit()
        store = ResponseStore(sessions, ttl_seconds=3600)
        huge = 2**70
        answer = {"id": "resp_huge", "model": "m", "metadata": {"n": huge, "1": "one"}}
        await store.save(owner, answer, [{"role": "user", "content": "x", "n": -huge}])
        row = await store.get(owner, "resp_huge")
        assert row is not None
        assert row.response["metadata"] == {"n": huge, "1": "one"}
        assert row.history[0]["n"] == -huge
    finally:
        await engine.dispose()


def test_the_codec_keeps_what_json_dumps_kept() -> None:
    dumps, loads = JSON_CODEC["json_serializer"], JSON_CODEC["json_deserializer"]
    assert loads(dumps({1: "int key", "é": [1.5, None, True]})) == {
        "1": "int key",
        "é": [1.5, None, True],
    }
    assert loads(dumps({"n": 2**64})) == {"n": 2**64}
