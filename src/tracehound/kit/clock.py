"""Time helpers. Every datetime in tracehound is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, to the millisecond: what is stored is exactly what the API shows (and what filters compare with)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes (as SQLite returns them) are read as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat_z(value: datetime | None) -> str | None:
    """``2024-03-15T14:35:00.123Z`` (milliseconds, ``Z`` suffix), or None."""
    if value is None:
        return None
    v = ensure_utc(value)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}."
        f"{v.microsecond // 1000:03d}Z"
    )
