"""The web UI's cookie and CSRF tokens, signed with a server secret.

The cookie holds ``{"n": nonce, "s": session token or null, "t": issued}`` as base64url JSON plus an HMAC-SHA256
signature. Every visitor gets one (anonymous ones with ``s`` null), so the sign-in form is CSRF-protected too. The
session token names a server-side session (:mod:`tracehound.auth.web_sessions`): signing out deletes it, so a copy
of the cookie is worthless afterwards. The CSRF token of a form is ``HMAC(secret, "csrf|" + nonce)``: it changes when
the nonce does (at sign-in and sign-out). The API key itself never goes into the cookie.

The secret comes from ``TRACEHOUND_SECRET_KEY`` or, failing that, from ``<data_dir>/secret_key`` (created on first
use, mode 0600). Several server processes behind one address must share it: set ``TRACEHOUND_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

COOKIE_NAME = "th_session"


@dataclass(frozen=True, slots=True)
class WebOptions:
    secret: bytes
    session_seconds: int = 12 * 3600
    force_secure_cookie: bool = False  # Secure even on plain http (a TLS-terminating proxy without X-Forwarded-Proto)


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else the one in ``data_dir/secret_key`` (written once, atomically, 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "secret_key"
    with contextlib.suppress(FileNotFoundError):
        return bytes.fromhex(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return bytes.fromhex(value)


@dataclass(frozen=True, slots=True)
class CookieSession:
    nonce: str
    token: str | None  # the server-side session's token; None before sign-in
    issued: int

    @staticmethod
    def anonymous() -> CookieSession:
        return CookieSession(secrets.token_urlsafe(18), None, int(time.time()))

    @staticmethod
    def signed_in(token: str) -> CookieSession:
        return CookieSession(secrets.token_urlsafe(18), token, int(time.time()))


def _sign(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload, hashlib.sha256).digest()).decode().rstrip("=")


def encode_session(secret: bytes, session: CookieSession) -> str:
    raw = json.dumps({"n": session.nonce, "s": session.token, "t": session.issued}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{_sign(secret, b'session|' + body.encode())}"


def decode_session(secret: bytes, value: str | None, *, max_age: int) -> CookieSession | None:
    """The session in a cookie value, or None if it is missing, forged, malformed or older than ``max_age``."""
    if not value or value.count(".") != 1 or len(value) > 4096:
        return None
    body, sig = value.split(".")
    if not hmac.compare_digest(sig, _sign(secret, b"session|" + body.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        session = CookieSession(str(data["n"]), None if data["s"] is None else str(data["s"]), int(data["t"]))
    except (ValueError, KeyError, TypeError):
        return None
    if time.time() - session.issued > max_age:
        return None
    return session


def csrf_token(secret: bytes, session: CookieSession) -> str:
    return _sign(secret, b"csrf|" + session.nonce.encode())


def csrf_valid(secret: bytes, session: CookieSession | None, token: str | None) -> bool:
    if session is None or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret, session))
