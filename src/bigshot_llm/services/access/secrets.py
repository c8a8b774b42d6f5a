"""Encryption at rest for stored secrets (Fernet), with the key from settings or a file.

`BIGSHOT_SECRET_KEY` may be a Fernet key (used as is: it is already 256 random bits) or any
passphrase. A passphrase is stretched with scrypt and a random salt; the salt travels with
each value (``kdf1:<salt>:<fernet token>``), so every replica sharing a database can decrypt
without any file of its own, and one salt is reused per process so the costly derivation runs
once per salt, not per value. Values written before the KDF existed (a passphrase hashed once
with SHA-256) stay readable; `bigshot-llm secrets rotate` re-encrypts them under the KDF.

On the embedded default with no key set, a Fernet key is generated once into the data
directory with 0600 permissions, so a fresh `make run` needs no configuration and nothing is
stored in clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_FILE_NAME = "secret.key"
KDF_PREFIX = "kdf1:"
SALT_BYTES = 16
# scrypt cost: about 16 MiB and a few tens of milliseconds, once per salt and process.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class SecretUnreadable(ValueError):
    """A stored value matches none of the keys (the key changed without a rotation)."""


def _as_fernet_key(secret: str) -> Fernet | None:
    try:
        return Fernet(secret.encode())
    except (ValueError, TypeError, binascii.Error):
        return None


def legacy_fernet(secret: str) -> Fernet:
    """How a passphrase became a key before the KDF (one SHA-256): read-only, for old values."""
    derived = hashlib.sha256(b"bigshot-llm/v1/" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def derive(secret: str, salt: bytes) -> Fernet:
    """The Fernet of a passphrase and salt (scrypt)."""
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


def fernet_for(secret: str) -> Fernet:
    """A Fernet key used as is, else the pre-KDF derivation (kept for older callers/tests)."""
    return _as_fernet_key(secret) or legacy_fernet(secret)


def secure_data_dir(data_dir: Path) -> None:
    """The data directory: created 0700, and tightened to it when it already exists."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(data_dir, 0o700)


def secure_file(path: Path) -> None:
    """Create `path` empty with 0600 if missing, else tighten it to 0600 (SQLite then gives
    its -wal and -shm files the same permissions as the database file)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    _tighten(path, 0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        sibling = path.with_name(path.name + suffix)
        if sibling.exists():
            _tighten(sibling, 0o600)


def secure_sqlite(database_url: str) -> None:
    """A SQLite database's file and folder private to this user (0600 / 0700)."""
    prefix = "sqlite+aiosqlite:///"
    if not database_url.startswith(prefix):
        return
    location = database_url[len(prefix) :].split("?", 1)[0]
    if not location or location == ":memory:" or location.startswith("file:"):
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secure_file(path)


def _tighten(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError:  # not ours (a mounted volume): leave it to the operator
        pass


def load_or_create_key_file(data_dir: Path) -> str:
    """Read the generated key, creating it (0600) on first use."""
    secure_data_dir(data_dir)
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        _tighten(path, 0o600)
        return path.read_text().strip()
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass(eq=False)
class _Key:
    """One configured secret and the Fernets it stands for."""

    secret: str
    fernet: Fernet | None  # when the secret is a Fernet key itself
    derived: dict[bytes, Fernet] = field(default_factory=dict)  # salt → key, for passphrases

    @classmethod
    def of(cls, secret: str) -> _Key:
        return cls(secret, _as_fernet_key(secret))

    def for_salt(self, salt: bytes) -> Fernet:
        cached = self.derived.get(salt)
        if cached is None:
            cached = self.derived[salt] = derive(self.secret, salt)
        return cached


class SecretBox:
    """Encrypts and decrypts secrets; accepts older keys for decryption during rotation."""

    def __init__(self, secret: str, *, old_secrets: tuple[str, ...] = ()) -> None:
        self._primary = _Key.of(secret)
        self._keys = [self._primary, *(_Key.of(s) for s in old_secrets)]
        self._salt: bytes | None = None

    @property
    def uses_kdf(self) -> bool:
        """True when the primary secret is a passphrase (stretched with scrypt)."""
        return self._primary.fernet is None

    def encrypt(self, plaintext: str) -> str:
        key = self._primary
        if key.fernet is not None:
            return key.fernet.encrypt(plaintext.encode()).decode()
        salt = self._salt_for_writing()
        token = key.for_salt(salt).encrypt(plaintext.encode()).decode()
        return f"{KDF_PREFIX}{base64.urlsafe_b64encode(salt).decode().rstrip('=')}:{token}"

    def decrypt(self, token: str) -> str:
        try:
            return self._decrypt(token)
        except SecretUnreadable:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted: BIGSHOT_SECRET_KEY changed without "
                "`bigshot-llm secrets rotate`"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a value under the primary key (and the KDF, for a passphrase)."""
        try:
            return self.encrypt(self._decrypt(token))
        except SecretUnreadable:
            raise SecretUnreadable(
                "a stored secret matches neither the old nor the new key"
            ) from None

    # ---- internals ------------------------------------------------------------------------

    def _salt_for_writing(self) -> bytes:
        # Reuse a salt whose key is already derived (one derivation per process), else a new one.
        if self._salt is None:
            known = next(iter(self._primary.derived), None)
            self._salt = known or secrets.token_bytes(SALT_BYTES)
        return self._salt

    def _decrypt(self, token: str) -> str:
        if token.startswith(KDF_PREFIX):
            salt_text, _, body = token[len(KDF_PREFIX) :].partition(":")
            try:
                salt = base64.urlsafe_b64decode(salt_text + "=" * (-len(salt_text) % 4))
            except (ValueError, binascii.Error):
                raise SecretUnreadable("malformed stored secret") from None
            candidates = [k.for_salt(salt) for k in self._keys if k.fernet is None]
        else:
            body = token
            candidates = [k.fernet or legacy_fernet(k.secret) for k in self._keys]
        for fernet in candidates:
            try:
                return fernet.decrypt(body.encode()).decode()
            except InvalidToken:
                continue
        raise SecretUnreadable("no key matches")
