"""Secrets at rest: provider keys are stored encrypted, never in clear (seed 003, "Encryption
at Rest").

``cryptography``'s Fernet (AES-128-CBC with an HMAC-SHA256, a timestamp and a version byte)
through ``MultiFernet``: the first key encrypts, every key decrypts. Rotation is therefore
adding a new key in front of ``SECRET_ENCRYPTION_KEYS``, running ``flask inkwright secrets
rotate`` (which re-encrypts every stored key with it), then dropping the old key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import AppError, ConfigError

#: HKDF's ``info``: binds the derived key to this one purpose, so the same SECRET_KEY
#: (which also signs sessions) never yields the same bytes for anything else.
_DERIVATION_INFO = b"inkwright/secret-box/provider-keys/v1"
_DERIVATION_SALT = b"inkwright-secret-box"


class SecretUnreadableError(AppError):
    """No configured key decrypts a stored secret (its key was dropped, or the row is damaged)."""

    code = "SECRET_UNREADABLE"
    status_code = 500

    def default_message(self) -> str:
        return ("A stored secret cannot be decrypted with any configured key; "
                "restore the old key in SECRET_ENCRYPTION_KEYS or enter the secret again.")


def derive_key(secret_key: str) -> bytes:
    """Derive one Fernet key from ``SECRET_KEY`` with HKDF-SHA256.

    :param secret_key: the app's ``SECRET_KEY``.
    :returns: a url-safe base64 Fernet key.
    """
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_DERIVATION_SALT, info=_DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.encode("ascii") if isinstance(key, str) else key)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        raise ConfigError([
            f"SECRET_ENCRYPTION_KEYS: entry {position} is not a Fernet key (32 url-safe base64-encoded "
            "bytes); make one with: python3 -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ]) from None


class SecretBox:
    """Encrypt and decrypt short secrets (provider keys) with the app's keys.

    :param keys: Fernet keys, newest first; the first encrypts, all decrypt.
    :param secret_key: the app's ``SECRET_KEY``. With no ``keys`` a key derived from it does
        everything; with ``keys`` it is kept last, for decrypting only, so secrets written
        before keys were configured stay readable until ``secrets rotate`` moves them.
    :raises ConfigError: when a key is not a Fernet key, or there is no key at all.
    """

    def __init__(self, keys: Sequence[str] = (), secret_key: str | None = None) -> None:
        fernets = [_fernet(key, position) for position, key in enumerate(keys, start=1)]
        # A laptop runs with no setup: no SECRET_ENCRYPTION_KEYS, only the SECRET_KEY that
        # config.py generates into the instance folder. Deriving from it keeps stored keys
        # encrypted (and readable across restarts) without asking anyone for a second secret.
        # Production refuses the empty default (set_in_production), so this is a dev fallback.
        if secret_key:
            fernets.append(Fernet(derive_key(secret_key)))
        if not fernets:
            raise ConfigError(["SECRET_ENCRYPTION_KEYS: empty, and there is no SECRET_KEY to derive a key from"])
        self.derived = not keys
        self._box = MultiFernet(fernets)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SecretBox":
        """Build the box from ``SECRET_ENCRYPTION_KEYS`` and ``SECRET_KEY``.

        :raises ConfigError: when a configured key is not a Fernet key.
        """
        return cls(tuple(config.get("SECRET_ENCRYPTION_KEYS") or ()), config.get("SECRET_KEY") or None)

    def encrypt(self, plain: str) -> str:
        """Encrypt a secret with the newest key.

        :param plain: the secret in clear.
        :returns: a Fernet token (ASCII), safe to store.
        """
        return self._box.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token written by :meth:`encrypt` with any configured key.

        :param token: the stored ciphertext.
        :returns: the secret in clear.
        :raises SecretUnreadableError: when no configured key decrypts it.
        """
        try:
            return self._box.decrypt(self._token_bytes(token)).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadableError() from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a token with the newest key (decrypting it with whichever key can).

        :param token: the stored ciphertext.
        :returns: the same secret, encrypted with the first key.
        :raises SecretUnreadableError: when no configured key decrypts it.
        """
        try:
            return self._box.rotate(self._token_bytes(token)).decode("ascii")
        except InvalidToken:
            raise SecretUnreadableError() from None

    @staticmethod
    def _token_bytes(token: str) -> bytes:
        try:
            return token.encode("ascii")
        except (AttributeError, UnicodeEncodeError):
            raise SecretUnreadableError() from None

    def __repr__(self) -> str:  # never show key material, not even in a traceback
        return f"SecretBox(derived={self.derived})"
