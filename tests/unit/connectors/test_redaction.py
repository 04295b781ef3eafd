"""What of a connector's config may be shown, and how an update keeps the secrets it cannot see."""

from __future__ import annotations

from pathlib import Path

from tracehound.sources.service import check_source, merge_secrets, redact


def test_redact_hides_declared_and_credential_like_fields() -> None:
    config = {
        "url": "http://p:9090",
        "auth_header_name": "Authorization",
        "auth_header_value": "Bearer x",
        "basic_auth_username": "reader",
        "basic_auth_password": None,
    }
    shown, present = redact("prometheus", config)
    assert shown == {"url": "http://p:9090", "auth_header_name": "Authorization", "basic_auth_username": "reader"}
    assert present == ["auth_header_value"]  # a secret set to null is not "set"
    shown, present = redact("future-kind", {"api_token": "t", "region": "eu"})
    assert shown == {"region": "eu"} and present == ["api_token"]


def test_merge_keeps_left_out_secrets_and_null_clears_them() -> None:
    stored = {"url": "http://old:9090", "basic_auth_username": "u", "basic_auth_password": "pw"}
    assert merge_secrets("prometheus", stored, {"url": "http://new:9090", "basic_auth_username": "u"}) == {
        "url": "http://new:9090",
        "basic_auth_username": "u",
        "basic_auth_password": "pw",
    }
    cleared = merge_secrets("prometheus", stored, {"url": "http://new:9090", "basic_auth_password": None})
    assert cleared == {"url": "http://new:9090", "basic_auth_password": None}


async def test_check_reports_a_config_that_no_longer_validates(tmp_path: Path) -> None:
    result = await check_source("files", {"path": str(tmp_path / "gone")})
    assert result["ok"] is False and "not a readable directory" in result["error"] and result["services"] == []
