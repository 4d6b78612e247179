"""Personal data and secrets at rest: AES-256-GCM sealing and keyed digests for look-ups.

等保 2.0 level 3 asks for the confidentiality of important data in storage. An ID number or a phone number
is stored three ways: a keyed digest (HMAC-SHA256) to find the row by an exact value, a sealed copy
(AES-GCM) to give the value back to its owner or to a relying system entitled to it, and a masked text to
show. Both keys are derived (HKDF-SHA256) from the one ``data_key`` setting, which is kept apart from the
session secret so that rotating session cookies never makes stored data unreadable.

Sealed values carry a key version (``v1.``) so that a later key rotation can re-seal row by row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value was altered, or was sealed under another key."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"wanshi/" + purpose).derive(master)


class Sealer:
    def __init__(self, data_key: str) -> None:
        master = data_key.encode("utf-8")
        self._aead = AESGCM(_derive(master, b"seal"))
        self._mac_key = _derive(master, b"digest")

    def seal(self, plain: str, *, context: str = "") -> str:
        """Encrypt; ``context`` (e.g. the column name) is authenticated, so a value cannot be moved."""
        nonce = os.urandom(_NONCE_BYTES)
        body = self._aead.encrypt(nonce, plain.encode("utf-8"), context.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + body).decode('ascii')}"

    def unseal(self, sealed: str, *, context: str = "") -> str:
        version, _, payload = sealed.partition(".")
        if version != _VERSION or not payload:
            raise SealBroken(f"unknown seal version {version!r}")
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("utf-8"))
        except InvalidTag as exc:
            raise SealBroken("sealed value does not verify") from exc
        return plain.decode("utf-8")

    def digest(self, value: str, *, context: str = "") -> str:
        """Keyed, so that a stolen table cannot be reversed by hashing every possible ID number."""
        mac = hmac.new(
            self._mac_key, context.encode("utf-8") + b"\x00" + value.encode("utf-8"), hashlib.sha256
        )
        return mac.hexdigest()


def token_digest(token: str) -> str:
    """Unkeyed SHA-256 of a random bearer secret (session ids, OTP challenges): the secret has full entropy,
    so a key adds nothing, and any process can check it without the data key."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
