"""Symmetric encryption for secrets Tandem must keep at rest (tool private keys, LMS web service tokens).

The key is derived from TANDEM_SECRET_KEY, so a database dump alone reveals no secret.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(("tandem-at-rest:" + secret_key).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: TANDEM_SECRET_KEY differs from the one that sealed it") from exc
