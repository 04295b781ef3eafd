from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta, timezone

from dbos import DBOS

from tracehound.kit.clock import ensure_utc, isoformat_z
from tracehound.kit.ids import hash_api_key, looks_like_api_key, new_api_key, parse_uuid


def test_api_keys_carry_32_random_bytes_and_the_traversal_prefix() -> None:
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"trv_ak_[A-Za-z0-9_-]{43}", k) for k in keys)
    assert all(looks_like_api_key(k) for k in keys)


def test_key_hash_is_stable_and_not_the_key() -> None:
    key = new_api_key()
    assert hash_api_key(key) == hash_api_key(key)
    assert key not in hash_api_key(key)
    assert len(hash_api_key(key)) == 64


def test_malformed_keys_are_recognised() -> None:
    for bad in ("", "trv_ak_", "trv_ak_short", "sk_" + "a" * 43, "trv_ak_" + "a" * 42 + "!"):
        assert not looks_like_api_key(bad)


def test_uuid_parsing_canonicalises_and_rejects() -> None:
    assert parse_uuid("A1B2C3D4-E5F6-7890-ABCD-EF1234567890") == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert parse_uuid("not-a-uuid") is None
    assert parse_uuid("") is None


def test_timestamps_are_utc_with_z_and_milliseconds() -> None:
    t = datetime(2024, 3, 15, 16, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert isoformat_z(t) == "2024-03-15T14:30:00.123Z"
    assert isoformat_z(None) is None
    assert ensure_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)


def test_dbos_private_recovery_entry_point_still_exists() -> None:
    """worker/liveness.py relies on DBOS's internal recovery function; fail loudly when DBOS changes it."""
    fn = DBOS._recover_pending_workflows
    params = list(inspect.signature(fn).parameters)
    assert params == ["executor_ids"]


def test_early_years_keep_four_digits() -> None:
    assert isoformat_z(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00.000Z"
