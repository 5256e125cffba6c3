"""Unguessable tokens in URLs (QR codes, status links, display links)."""

import re

# secrets.token_urlsafe() output. Anything else (a NUL byte, 300 characters…)
# matches nothing, without a query PostgreSQL would refuse with an error.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def looks_like_token(value: str | None) -> bool:
    return bool(value) and TOKEN_SHAPE.fullmatch(value) is not None
