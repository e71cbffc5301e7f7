"""Encryption of stored merchant secrets (webhook secrets, API keys, insurer credentials)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be read with any configured ENCRYPTION_KEY."""


def derived_key(secret_key: str) -> str:
    """The encryption key of an installation without ENCRYPTION_KEY: derived from its SECRET_KEY."""
    return hashlib.sha256(b"encryption-key:" + secret_key.encode()).hexdigest()


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
        keys = list(dict.fromkeys(keys))
        self._primary = _fernet(keys[0])
        self._box = MultiFernet([self._primary, *(_fernet(key) for key in keys[1:])])

    @classmethod
    def from_config(
        cls, encryption_key: str | None, secret_key: str, secret_key_fallbacks: Sequence[str] = ()
    ) -> SecretBox:
        """ENCRYPTION_KEY (comma-separated, newest first), else a key derived from SECRET_KEY.

        The keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS always decrypt, after ENCRYPTION_KEY's: secrets
        written before ENCRYPTION_KEY was set, or before SECRET_KEY was rolled, stay readable until `keys rotate`
        re-encrypts them under the first key. (Whoever holds SECRET_KEY could read those rows anyway.)
        """
        explicit = [key.strip() for key in (encryption_key or "").split(",") if key.strip()]
        derived = [derived_key(key) for key in [secret_key, *secret_key_fallbacks] if key]
        return cls([*explicit, *derived])

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext to store."""
        return self._box.encrypt(plaintext.encode()).decode("ascii")

    def reencrypt(self, ciphertext: str) -> str | None:
        """The secret encrypted under the first key; None when it already is (nothing to do).

        SecretDecryptionError when no key reads it.
        """
        token = ciphertext.encode("ascii", "replace")  # a mangled row is unreadable, not a crash
        try:
            self._primary.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return self._box.rotate(token).decode("ascii")
        except InvalidToken as exc:
            raise SecretDecryptionError("stored secret cannot be decrypted with ENCRYPTION_KEY") from exc

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
