"""How API and service tokens are stored: SHA-256 of the secret.

Tokens are long random strings, so a fast hash is enough and lets a request find its
token by equality instead of trying every slow password hash.
"""

from __future__ import annotations

import hashlib


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
