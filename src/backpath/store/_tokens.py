"""Unguessable tokens and their stored form (a SHA-256 digest, never the token itself)."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The hex SHA-256 of ``token``: what the database keeps and looks up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
