"""Encryption of stored merchant secrets (webhook secrets, API keys, insurer credentials)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be read with any configured ENCRYPTION_KEY."""


def _fernet(passphrase: str) -> Fernet:
    # Any string works as a key: HKDF stretches it into Fernet's 32 bytes, with a context of its own.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shipping-protection secrets v1").derive(
        passphrase.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretBox:
    """Encrypts with the first key, decrypts with any (so keys can be rotated)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._box = MultiFernet([_fernet(key) for key in keys])

    @classmethod
    def from_config(cls, encryption_key: str | None, secret_key: str) -> SecretBox:
        """ENCRYPTION_KEY (comma-separated, newest first), else a key derived from SECRET_KEY."""
        if encryption_key:
            return cls([key.strip() for key in encryption_key.split(",") if key.strip()])
        derived = hashlib.sha256(b"encryption-key:" + secret_key.encode()).hexdigest()
        return cls([derived])

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext to store."""
        return self._box.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The stored secret in clear."""
        try:
            return self._box.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError("stored secret cannot be decrypted with ENCRYPTION_KEY") from exc


def mask(secret: str) -> str:
    """A secret as shown back to its owner: its prefix and last four characters."""
    prefix, sep, _ = secret.partition("_")
    head = f"{prefix}_" if sep and len(prefix) <= 8 else ""
    return f"{head}…{secret[-4:]}" if len(secret) > 8 else "…"
