"""`GET /v1/models` and `/v1/models/{id}` through the `openai` SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.openai_compat.conftest import CHAT_MODEL, add_provider

LOCAL = "LMStudio Local"  # the provider the gateway creates from LMSTUDIO_API_BASE


def test_list_has_bare_ids_of_the_active_provider_and_prefixed_ids(
    gw: OpenAI, direct: OpenAI
) -> None:
    upstream = [m.id for m in direct.models.list()]
    models = list(gw.models.list())
    ids = [m.id for m in models]
    assert ids == upstream + [f"{LOCAL}/{i}" for i in upstream]
    for model in models:
        assert model.object == "model"
        assert model.owned_by == LOCAL
        assert isinstance(model.created, int) and model.created > 0


def test_dead_provider_is_left_out(gw: OpenAI, http: httpx.Client) -> None:
    add_provider(http, "dead", "http://127.0.0.1:9")
    ids = [m.id for m in gw.models.list()]
    assert CHAT_MODEL in ids
    assert f"{LOCAL}/{CHAT_MODEL}" in ids
    assert not any(i.startswith("dead/") for i in ids)


def test_list_shape_is_openai_s(http: httpx.Client) -> None:
    body = http.get("/v1/models").json()
    assert body["object"] == "list"
    assert set(body["data"][0]) == {"id", "object", "created", "owned_by"}


def test_retrieve_bare_and_prefixed(gw: OpenAI) -> None:
    for model_id in (CHAT_MODEL, f"{LOCAL}/{CHAT_MODEL}"):
        model = gw.models.retrieve(model_id)
        assert model.id == model_id
        assert model.object == "model" and model.owned_by == LOCAL


def test_retrieve_unknown_is_not_found(gw: OpenAI) -> None:
    for model_id in ("no-such-model", "nope/" + CHAT_MODEL, f"{LOCAL}/nope"):
        with pytest.raises(openai.NotFoundError) as caught:
            gw.models.retrieve(model_id)
        assert caught.value.code == "model_not_found"
        assert caught.value.param == "model"


def test_retrieve_on_a_stopped_upstream_is_503(gw: OpenAI, sim: Any) -> None:
    sim.stop()
    with pytest.raises(openai.InternalServerError) as caught:
        gw.models.retrieve(CHAT_MODEL)
    assert caught.value.status_code == 503
