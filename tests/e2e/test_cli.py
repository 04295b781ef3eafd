"""The operator CLI through its real entry point (``python -m tracehound``) on an SQLite file, and its effect on a
live server sharing that database: keys it creates work, keys it revokes stop working at once, and the per-org
API switch turns the V1 API off (403) and on again."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.servers import Proc, process_env, server

pytestmark = pytest.mark.e2e

KEY_LINE = re.compile(r"^trv_ak_[A-Za-z0-9_-]{43}$")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Cli:
    tmp: Path
    database_url: str
    env: dict[str, str]

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tracehound", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.tmp,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, f"{args} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def new_admin_key(self) -> tuple[str, str, str]:
        """A fresh organisation with an admin user: (org name, key, key id)."""
        org = f"cli-{uuid.uuid4().hex[:8]}"
        self("org", "create", org)
        self("user", "add", "--org", org, "--email", "ops@example.com", "--role", "admin")
        created = self("key", "create", "--org", org, "--email", "ops@example.com", "--name", "ci")
        key = created.stdout.splitlines()[-1]
        key_id = UUID_RE.search(created.stderr)
        assert key_id is not None, created.stderr
        return org, key, key_id.group(0)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    tmp = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{tmp / 't.db'}"
    # A wide, colourless terminal so that rich prints whole ids in its tables.
    env = process_env(url, tmp, COLUMNS="240", NO_COLOR="1", TERM="dumb")
    env["TRACEHOUND_DATABASE_URL"] = url
    return Cli(tmp, url, env)


@pytest.fixture(scope="module")
def live(cli: Cli) -> Iterator[Proc]:
    """A server on the CLI's database."""
    cli("migrate")
    proc = server(cli.database_url, cli.tmp).start()
    yield proc
    proc.stop()


def _list(live: Proc, key: str) -> httpx.Response:
    return httpx.get(f"{live.base_url}/v1/sessions", headers={"Authorization": f"Bearer {key}"}, timeout=10)


HELP_COMMANDS = [
    [],
    ["org"],
    ["org", "create"],
    ["org", "update"],
    ["org", "list"],
    ["user"],
    ["user", "add"],
    ["key"],
    ["key", "create"],
    ["key", "list"],
    ["key", "revoke"],
    ["source"],
    ["source", "add"],
    ["source", "list"],
    ["source", "remove"],
    ["source", "show"],
    ["source", "check"],
    ["integration"],
    ["integration", "add"],
    ["integration", "list"],
    ["integration", "remove"],
    ["webhook"],
    ["webhook", "add"],
    ["webhook", "list"],
    ["webhook", "remove"],
    ["serve"],
    ["worker"],
    ["migrate"],
    ["demo"],
]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "tracehound")
def test_help_of_every_command_exits_0(cli: Cli, command: list[str]) -> None:
    done = cli(*command, "--help")
    assert "Usage:" in done.stdout
    assert done.stderr == ""


def test_key_create_prints_the_key_as_the_last_line_of_stdout(cli: Cli) -> None:
    org = f"cli-{uuid.uuid4().hex[:8]}"
    created_org = cli("org", "create", org)
    assert org in created_org.stdout and "enabled" in created_org.stdout
    added = cli("user", "add", "--org", org, "--email", "Admin@Example.com", "--role", "admin")
    assert "admin" in added.stdout
    created = cli("key", "create", "--org", org, "--email", "admin@example.com")
    last = created.stdout.splitlines()[-1]
    assert KEY_LINE.match(last), created.stdout
    assert last not in created.stderr
    assert "not shown again" in created.stderr


def test_key_list_shows_the_id_and_prefix_but_never_the_key(cli: Cli) -> None:
    org, key, key_id = cli.new_admin_key()
    listed = cli("key", "list", "--org", org)
    assert key_id in listed.stdout
    assert key[:12] in listed.stdout
    assert key not in listed.stdout and key not in listed.stderr
    assert key[12:] not in listed.stdout


def test_the_key_is_stored_only_as_a_hash(cli: Cli) -> None:
    _, key, _ = cli.new_admin_key()
    files = sorted(cli.tmp.glob("t.db*"))
    assert files
    for path in files:
        assert key.encode() not in path.read_bytes(), path


def test_a_cli_key_works_and_stops_working_once_revoked(cli: Cli, live: Proc) -> None:
    org, key, key_id = cli.new_admin_key()
    assert _list(live, key).status_code == 200
    revoked = cli("key", "revoke", key_id)
    assert key_id in revoked.stdout
    r = _list(live, key)
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]
    listed = cli("key", "list", "--org", org)
    row = next(line for line in listed.stdout.splitlines() if key_id in line)
    assert len(re.findall(r"\d{4}-\d{2}-\d{2}T", row)) == 2, row  # created and revoked


def test_org_update_switches_the_v1_api_off_and_on(cli: Cli, live: Proc) -> None:
    org, key, _ = cli.new_admin_key()
    assert _list(live, key).status_code == 200
    off = cli("org", "update", org, "--api-disabled")
    assert "disabled" in off.stdout
    r = _list(live, key)
    assert r.status_code == 403
    assert org in r.json()["error"]["message"]
    on = cli("org", "update", org, "--api-enabled")
    assert "enabled" in on.stdout
    r = _list(live, key)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 0


def test_org_update_with_nothing_to_change_fails(cli: Cli) -> None:
    org, _, _ = cli.new_admin_key()
    done = cli("org", "update", org, ok=False)
    assert done.returncode != 0
    assert "nothing to change" in done.stderr


def test_user_add_with_a_bad_role_fails_with_a_clear_message(cli: Cli) -> None:
    org = f"cli-{uuid.uuid4().hex[:8]}"
    cli("org", "create", org)
    done = cli("user", "add", "--org", org, "--email", "x@example.com", "--role", "superuser", ok=False)
    assert done.returncode != 0
    assert "role" in done.stderr and "member" in done.stderr and "admin" in done.stderr
    # Nothing was created: a key for that user cannot be made.
    key = cli("key", "create", "--org", org, "--email", "x@example.com", ok=False)
    assert key.returncode != 0
    assert "No user" in key.stderr
    assert not any(KEY_LINE.match(line) for line in key.stdout.splitlines())


def test_commands_on_an_unknown_organization_fail_clearly(cli: Cli) -> None:
    for args in (
        ["user", "add", "--org", "nope-org", "--email", "a@example.com"],
        ["key", "list", "--org", "nope-org"],
        ["org", "update", "nope-org", "--api-enabled"],
    ):
        done = cli(*args, ok=False)
        assert done.returncode != 0, args
        assert "nope-org" in done.stderr, (args, done.stderr)


def test_org_create_rejects_a_duplicate_name(cli: Cli) -> None:
    org = f"cli-{uuid.uuid4().hex[:8]}"
    cli("org", "create", org)
    done = cli("org", "create", org, ok=False)
    assert done.returncode != 0
    assert "already exists" in done.stderr


def test_revoking_an_unknown_key_fails_clearly(cli: Cli) -> None:
    done = cli("key", "revoke", str(uuid.uuid4()), ok=False)
    assert done.returncode != 0
    assert "No API key" in done.stderr


ALERT = {
    "version": "4",
    "groupKey": '{}:{alertname="DiskFull"}',
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull"}, "startsAt": "2024-03-15T14:30:00Z"}],
}


def test_cli_integration_token_works_until_removed(cli: Cli, live: Proc) -> None:
    org, key, _ = cli.new_admin_key()
    added = cli("integration", "add", "--org", org, "--name", "am", "--kind", "alertmanager", "--tag", "cli")
    token = added.stdout.splitlines()[-1]
    assert token.startswith("thw_") and token not in added.stderr and "/v1/alerts/alertmanager" in added.stderr
    listed = cli("integration", "list", "--org", org)
    assert "am" in listed.stdout and token not in listed.stdout
    url = f"{live.base_url}/v1/alerts/alertmanager"
    r = httpx.post(url, json=ALERT, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 201, r.text
    got = httpx.get(f"{live.base_url}/v1/sessions/{r.json()['session_id']}", headers={"Authorization": f"Bearer {key}"})
    assert {"alertmanager", "cli"} <= set(got.json()["tags"])
    cli("integration", "remove", "--org", org, "am")
    r = httpx.post(url, json=ALERT, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 401


def test_cli_pagerduty_secret_comes_from_the_environment(cli: Cli) -> None:
    org, _, _ = cli.new_admin_key()
    missing = cli("integration", "add", "--org", org, "--name", "pd", "--kind", "pagerduty", ok=False)
    assert missing.returncode == 1 and "secret: required" in missing.stderr
    unset = cli(
        "integration", "add", "--org", org, "--name", "pd", "--kind", "pagerduty", "--secret-env", "NOPE", ok=False
    )
    assert unset.returncode == 2 and "NOPE is not set" in unset.stderr


def test_cli_webhook_secret_is_printed_once(cli: Cli) -> None:
    org, _, _ = cli.new_admin_key()
    bad = cli("webhook", "add", "--org", org, "--url", "ftp://x", ok=False)
    assert bad.returncode == 2 and "url" in bad.stderr
    added = cli("webhook", "add", "--org", org, "--url", "http://127.0.0.1:9/hook", "--event", "session.failed")
    secret = added.stdout.splitlines()[-1]
    assert secret.startswith("whsec_")
    hook_id = UUID_RE.search(added.stderr)
    assert hook_id is not None
    listed = cli("webhook", "list", "--org", org)
    assert hook_id.group(0) in listed.stdout and "session.failed" in listed.stdout and secret not in listed.stdout
    cli("webhook", "remove", "--org", org, hook_id.group(0))
    assert hook_id.group(0) not in cli("webhook", "list", "--org", org).stdout
