"""Identifiers and API key material."""

from __future__ import annotations

import hashlib
import secrets
import uuid

API_KEY_PREFIX = "trv_ak_"
# 32 random bytes -> 43 characters of url-safe base64.
API_KEY_RANDOM_BYTES = 32


def new_id() -> str:
    return str(uuid.uuid4())


def parse_uuid(value: str) -> str | None:
    """The canonical lowercase form of a UUID string, or None when it is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)


def hash_api_key(key: str) -> str:
    """Keys carry 256 bits of entropy, so a fast unsalted hash is safe to store and to look up by."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(value: str) -> bool:
    body = value[len(API_KEY_PREFIX) :]
    return value.startswith(API_KEY_PREFIX) and 40 <= len(body) <= 64 and all(c.isalnum() or c in "-_" for c in body)


def uuid7_hex() -> str:
    """A UUIDv7 (RFC 9562: 48-bit Unix milliseconds, version 7, variant 10, random rest) as 32 lowercase hex."""
    import os
    import time

    value = (time.time_ns() // 1_000_000 & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant
    return f"{value:032x}"


def new_agent_id() -> str:
    return "agent_" + uuid7_hex()
