"""Field types shared by the request schemas.

PostgreSQL ``text`` and ``jsonb`` cannot hold the NUL character, SQLite can: every string a request stores is
checked here, so that both databases answer the same 400 naming the field instead of a 500 from the driver.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, StrictStr

T = TypeVar("T")
SQL_INT_MAX = 2**63 - 1
"""The largest page number or offset accepted: a signed 64-bit integer, what SQL and JSON encoders carry."""
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def no_nul_deep(value: T) -> T:
    """Rejects a NUL character anywhere in a JSON value (keys included), saying where."""
    where = _nul_path(value, "")
    if where is not None:
        raise ValueError(f"{NUL_MESSAGE}, found at {where}" if where else NUL_MESSAGE)
    return value


Text = Annotated[StrictStr, AfterValidator(no_nul)]
"""A strict string that PostgreSQL can store."""

JsonObject = Annotated[dict[str, Any], AfterValidator(no_nul_deep)]
"""A JSON object that PostgreSQL's jsonb can store."""
