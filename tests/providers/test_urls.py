"""Base URL normalisation and secret masking."""

from __future__ import annotations

import pytest

from bigshot_llm.providers.urls import mask_secret, normalize_base_url, scrub_secret


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://h:1234", "http://h:1234"),
        ("http://h:1234/", "http://h:1234"),
        ("http://h:1234/v1", "http://h:1234"),
        ("http://h:1234/v1/", "http://h:1234"),
        ("  http://h:1234/v1//  ", "http://h:1234"),
        ("http://h:1234/api/v0", "http://h:1234"),
        ("http://h:1234/api/v1/", "http://h:1234"),
        ("HTTP://LocalHost:1234/v1", "http://localhost:1234"),
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("http://h/proxy/openai/v1", "http://h/proxy/openai"),
        ("http://h/proxy/openai/", "http://h/proxy/openai"),
        ("http://[::1]:1234/v1", "http://[::1]:1234"),
        ("http://h/v1x", "http://h/v1x"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected
    assert not normalize_base_url(raw).endswith("/")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("localhost:1234", "http"),
        ("ftp://h/", "http"),
        ("http://", "no host"),
        ("http://user:pass@h:1234", "credentials"),
        ("http://token@h", "credentials"),
        ("http://h:1234/v1?x=1", "query"),
        ("http://h:1234/#frag", "fragment"),
        ("http://h:99999", "port"),
        ("http://h :1234", "spaces"),
    ],
)
def test_normalize_rejects(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_base_url(raw)


def test_credentials_are_not_echoed() -> None:
    with pytest.raises(ValueError) as info:
        normalize_base_url("http://user:hunter2@h")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("sk-abcdefghijklmnopx9Qa", "…x9Qa"),
        ("lm-studio", "…io"),
        ("short", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_secret(secret: str | None, masked: str) -> None:
    assert mask_secret(secret) == masked


def test_scrub_secret() -> None:
    key = "sk-abcdefghijklmnopx9Qa"
    assert scrub_secret(f"Incorrect API key provided: {key}.", key) == (
        "Incorrect API key provided: …x9Qa."
    )
    assert scrub_secret("nothing here", key) == "nothing here"
    assert scrub_secret("nothing here", None) == "nothing here"
