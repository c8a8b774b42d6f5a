"""Encryption at rest for upstream API keys (Fernet), with the key from settings or a file.

`BIGSHOT_SECRET_KEY` may be a Fernet key or any passphrase (a key is derived from it). On the
embedded default with no key set, one is generated once into the data directory with 0600
permissions, so a fresh `make run` needs no configuration and nothing is stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_FILE_NAME = "secret.key"


def fernet_for(secret: str) -> Fernet:
    """A Fernet for a configured secret: used as is when it is a Fernet key, else derived."""
    try:
        return Fernet(secret.encode())
    except (ValueError, TypeError):
        derived = hashlib.sha256(b"bigshot-llm/v1/" + secret.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(derived))


def load_or_create_key_file(data_dir: Path) -> str:
    """Read the generated key, creating it (0600) on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class SecretBox:
    """Encrypts and decrypts secrets; accepts older keys for decryption during rotation."""

    def __init__(self, secret: str, *, old_secrets: tuple[str, ...] = ()) -> None:
        self._fernet = MultiFernet([fernet_for(secret), *(fernet_for(s) for s in old_secrets)])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "a stored secret cannot be decrypted: BIGSHOT_SECRET_KEY changed without "
                "`bigshot-llm secrets rotate`"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the primary key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a stored secret matches neither the old nor the new key") from exc
