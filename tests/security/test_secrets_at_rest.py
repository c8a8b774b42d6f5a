"""Secrets at rest: real encryption (checked on the stored bytes), a KDF for passphrases that
still reads older databases, a rotation that covers every encrypted column and takes no
secret on the command line, clear errors for undecryptable rows, private SQLite files, and
header-safe API keys."""

from __future__ import annotations

import base64
import binascii
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigshot_llm.main import create_app
from bigshot_llm.services.access.secrets import (
    KDF_PREFIX,
    SecretBox,
    SecretUnreadable,
    legacy_fernet,
)
from tests.conftest import ADMIN_KEY, auth, make_settings
from tests.support.servers import ThreadedServer

ADMIN = auth(ADMIN_KEY)
PROVIDERS = "/api/v1/llm-providers"
PLANTED = "sk-at-rest-0123456789abcdefXYZ"


def _decodings(stored: str) -> list[bytes]:
    """Every way a lazy "encryption" could hide the plaintext: none, base64 of any part."""
    found = [stored.encode()]
    for part in stored.replace(":", " ").split():
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                found.append(decoder(part + "=" * (-len(part) % 4)))
            except (ValueError, binascii.Error):
                pass
    return found


async def test_the_stored_api_key_is_ciphertext(client: httpx.AsyncClient, app: Any) -> None:
    created = await client.post(
        PROVIDERS,
        json={
            "name": "rest",
            "kind": "openai",
            "base_url": "http://127.0.0.1:9",
            "api_key": PLANTED,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    resources = app.state.resources
    async with resources.engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT api_key_encrypted FROM provider_configs WHERE id = :id"),
                {"id": created.json()["data"]["id"]},
            )
        ).scalar_one()
    for candidate in _decodings(stored):
        assert PLANTED.encode() not in candidate
    assert stored.startswith(KDF_PREFIX)  # the test secret is a passphrase: stretched
    assert SecretBox("test-secret-key").decrypt(stored) == PLANTED
    with pytest.raises(SecretUnreadable):
        SecretBox("another-secret").decrypt(stored)


def test_a_passphrase_goes_through_a_salted_kdf_and_old_values_stay_readable() -> None:
    first, second = SecretBox("correct horse"), SecretBox("correct horse")
    one, two = first.encrypt("value"), second.encrypt("value")
    assert one.startswith(KDF_PREFIX) and two.startswith(KDF_PREFIX)
    assert one.split(":")[1] != two.split(":")[1]  # a random salt per box
    assert first.decrypt(two) == second.decrypt(one) == "value"
    # the single SHA-256 of the old scheme does not open the new values …
    token = one.split(":", 2)[2]
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidToken
        legacy_fernet("correct horse").decrypt(token.encode())
    # … but values written by it (existing databases) still decrypt, and rotate to the KDF
    old = legacy_fernet("correct horse").encrypt(b"from-an-old-db").decode()
    assert first.decrypt(old) == "from-an-old-db"
    rotated = first.rotate(old)
    assert rotated.startswith(KDF_PREFIX) and first.decrypt(rotated) == "from-an-old-db"


def test_a_fernet_key_is_used_as_is() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    stored = SecretBox(key).encrypt("v")
    assert not stored.startswith(KDF_PREFIX)
    assert Fernet(key.encode()).decrypt(stored.encode()) == b"v"


@pytest.mark.parametrize("bad", ["sk-ab\r\nX-Injected: 1", "sk-ab\ncd", "sk-ab\x00cd", "a\rb"])
async def test_control_characters_in_an_api_key_are_422(
    client: httpx.AsyncClient, bad: str
) -> None:
    body = {"name": "ctl", "kind": "openai", "base_url": "http://127.0.0.1:9", "api_key": bad}
    created = await client.post(PROVIDERS, json=body, headers=ADMIN)
    assert created.status_code == 422, created.text
    assert created.json()["error"]["details"][0]["loc"][-1] == "api_key"
    good = await client.post(PROVIDERS, json={**body, "api_key": "sk-fine"}, headers=ADMIN)
    assert good.status_code == 201
    patched = await client.patch(
        f"{PROVIDERS}/{good.json()['data']['id']}", json={"api_key": bad}, headers=ADMIN
    )
    assert patched.status_code == 422, patched.text


async def test_the_data_dir_and_sqlite_files_are_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key=None)  # the generated key file too
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/api/v1/me", headers=ADMIN)).status_code == 200
        data = settings.data_dir
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file() and not p.name.endswith(".lock")]
        assert {p.name for p in files} >= {"bigshot.db", "secret.key"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


async def test_existing_loose_permissions_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    db = data / "bigshot.db"
    db.touch(mode=0o644)
    os.chmod(data, 0o755)
    os.chmod(db, 0o644)
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE(db.stat().st_mode) == 0o600


# ---- rotation ------------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.calls = 0
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.calls += 1
        return Response("ok")


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with ThreadedServer(rec.app, lifespan="off") as server:
        yield rec, f"{server.url}/hook"


def _run(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bigshot_llm.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


async def test_rotation_covers_webhook_secrets_and_reads_no_argv(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    settings = make_settings(tmp_path, secret_key="old-passphrase")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            hook = await client.post(
                "/api/v1/webhooks", json={"url": url, "events": ["config.changed"]}, headers=ADMIN
            )
            assert hook.status_code == 201, hook.text
            hook_id = hook.json()["data"]["id"]
    env = {
        "PATH": os.environ["PATH"],
        "BIGSHOT_DATA_DIR": str(settings.data_dir),
        "BIGSHOT_SECRET_KEY": "old-passphrase",
    }
    # a secret on the command line is refused outright (argv is visible to every local user)
    argv = _run(["secrets", "rotate", "--old", "old-passphrase", "--new", "n"], env, tmp_path)
    assert argv.returncode == 2 and "unrecognized arguments" in argv.stderr
    # the new secret from standard input; the old one is the current BIGSHOT_SECRET_KEY
    rotated = _run(["secrets", "rotate"], env, tmp_path, stdin="new-passphrase\n")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 stored secrets" in rotated.stdout  # the seeded provider + the hook
    # the webhook works under the new key: signed and delivered, no 500
    app = create_app(make_settings(tmp_path, secret_key="new-passphrase"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tested = await client.post(f"/api/v1/webhooks/{hook_id}/test", headers=ADMIN)
            assert tested.status_code == 200, tested.text
            assert tested.json()["data"]["status"] == "delivered"
    assert rec.calls == 1
    # from the environment as well, back again; a wrong old secret names the record
    env_rotated = _run(
        ["secrets", "rotate"],
        {**env, "BIGSHOT_OLD_SECRET_KEY": "new-passphrase", "BIGSHOT_NEW_SECRET_KEY": "third"},
        tmp_path,
    )
    assert env_rotated.returncode == 0, env_rotated.stderr
    wrong = _run(
        ["secrets", "rotate"],
        {**env, "BIGSHOT_OLD_SECRET_KEY": "bogus", "BIGSHOT_NEW_SECRET_KEY": "fourth"},
        tmp_path,
    )
    assert wrong.returncode == 1
    assert "neither" in wrong.stderr and "provider 'LMStudio Local'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


async def test_undecryptable_secrets_give_a_clear_error_naming_the_record(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    _, url = receiver
    app = create_app(make_settings(tmp_path, secret_key="first"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            hook = await client.post(
                "/api/v1/webhooks", json={"url": url, "events": ["config.changed"]}, headers=ADMIN
            )
            hook_id = hook.json()["data"]["id"]
    # the key changed without a rotation: the app still starts and says what is wrong
    app = create_app(make_settings(tmp_path, secret_key="second"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            listed = await client.get(PROVIDERS, headers=ADMIN)
            assert listed.status_code == 200
            chat = await client.post(
                f"{PROVIDERS}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
                headers=ADMIN,
            )
            assert chat.status_code == 500
            error = chat.json()["error"]
            assert error["code"] == "secret_unreadable"
            assert "LMStudio Local" in error["message"] and "secrets rotate" in error["message"]
            tested = await client.post(f"/api/v1/webhooks/{hook_id}/test", headers=ADMIN)
            assert tested.status_code == 200, tested.text
            delivery = tested.json()["data"]
            assert delivery["status"] == "failed"
            assert hook_id in delivery["last_error"] and "decrypted" in delivery["last_error"]
