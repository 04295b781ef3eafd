"""``tracehound investigate`` and ``tracehound sessions`` through the real entry point (``python -m tracehound``)
against a real server process, plus ``investigate --local`` (no server)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.hostile import EVIL_SERVICE, INCIDENT_TIME, write_dataset
from tests.support.servers import Proc, process_env, server
from tests.support.tenants import DEMO_SIM, Tenant, make_tenant

pytestmark = pytest.mark.e2e

INCIDENT = "Checkout is returning 500 errors since 10 minutes ago."


@dataclass(frozen=True)
class Env:
    proc: Proc
    tenant: Tenant
    tmp: Path
    proc_url: str  # the server's database

    def run(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        base = process_env("sqlite:///unused.db", self.tmp)
        base.pop("TRACEHOUND_DATABASE_URL")
        base.update({"XDG_CONFIG_HOME": str(self.tmp / "noconfig"), "COLUMNS": "200", **env})
        done = subprocess.run(
            [sys.executable, "-m", "tracehound", *args],
            env=base,
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

    def with_env(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(*args, ok=ok, TRACEHOUND_URL=self.proc.base_url, TRACEHOUND_API_KEY=self.tenant.admin_key)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("cli-sessions")
    url = f"sqlite:///{tmp / 'th.db'}"
    proc = server(url, tmp).start()
    yield Env(proc, make_tenant(url), tmp, url)
    proc.stop()


def test_investigate_shows_progress_and_prints_the_report(env: Env) -> None:
    done = env.with_env("investigate", INCIDENT, "--tag", "cli", "--title", "cli run")
    assert "Root cause" in done.stdout
    assert "payment" in done.stdout
    assert "✓" in done.stderr
    assert "analyse" in done.stderr
    assert "is idle" in done.stderr


def test_investigate_json_and_sessions_list_show_ask(env: Env) -> None:
    out = json.loads(env.with_env("investigate", INCIDENT, "--json", "--time", "2024-03-15T14:30:00").stdout)
    assert out["status"] == "idle"
    assert out["time"].startswith("2024-03-15T14:30:00")
    assert out["messages"][-1]["role"] == "assistant"
    sid = out["id"]
    started = json.loads(env.with_env("investigate", INCIDENT, "--no-wait", "--json", "--tag", "later").stdout)
    assert started["status"] == "running"
    listed = json.loads(env.with_env("sessions", "list", "--json", "--all", "--limit", "1").stdout)
    assert sid in [s["id"] for s in listed["sessions"]]
    assert listed["count"] == listed["total"] >= 2
    table = env.with_env("sessions", "list", "--tag", "later").stdout
    assert started["id"] in table
    assert sid not in table
    shown = json.loads(env.with_env("sessions", "show", sid, "--json", "--events").stdout)
    assert shown["id"] == sid
    assert shown["events"][-1]["type"] == "session.idled"
    text = env.with_env("sessions", "show", sid, "--events").stdout
    assert "session.idled" in text
    assert "assistant" in text
    asked = json.loads(env.with_env("sessions", "ask", sid, "Why payment?", "--json").stdout)
    assert asked["status"] == "idle"
    assert [m["role"] for m in asked["messages"]] == ["user", "assistant", "user", "assistant"]


def test_connection_comes_from_flags_then_environment_then_config_file(env: Env) -> None:
    cfg = env.tmp / "xdg" / "tracehound" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'url = "{env.proc.base_url}"\nkey = "{env.tenant.admin_key}"\n')
    from_file = env.run("sessions", "list", "--json", XDG_CONFIG_HOME=str(env.tmp / "xdg"))
    assert "sessions" in json.loads(from_file.stdout)
    bad_env = {"TRACEHOUND_API_KEY": "trv_ak_" + "x" * 43, "XDG_CONFIG_HOME": str(env.tmp / "xdg")}
    refused = env.run("sessions", "list", ok=False, **bad_env)
    assert refused.returncode == 1
    assert "401" in refused.stderr
    flagged = env.run("sessions", "list", "--json", "--key", env.tenant.admin_key, **bad_env)
    assert "sessions" in json.loads(flagged.stdout)
    nowhere = env.run("sessions", "list", ok=False)
    assert nowhere.returncode == 2
    assert "TRACEHOUND_URL" in nowhere.stderr
    missing = env.with_env("sessions", "show", "00000000-0000-4000-8000-000000000000", ok=False)
    assert missing.returncode == 1
    assert "404" in missing.stderr


def test_local_mode_needs_no_server(env: Env) -> None:
    report = json.loads(env.run("investigate", "--local", "--json", INCIDENT).stdout)
    assert report["root_cause"] == "payment"
    helped = env.run("investigate", "--help").stdout
    assert "--local" in helped
    assert "config.toml" in helped


def test_local_mode_reads_a_dataset_folder_and_prints_its_text_as_text(env: Env) -> None:
    folder = write_dataset(env.tmp / "hostile-dataset")
    args = ("investigate", "--dataset", str(folder), "--time", INCIDENT_TIME.isoformat(), "checkout errors")
    report = json.loads(env.run(*args, "--json").stdout)
    assert report["root_cause"] == EVIL_SERVICE
    assert report["fault_type"] == "bad_deploy"
    shown = env.run(*args)
    assert "[release notes]" in shown.stderr  # engine text with brackets is not taken for Rich markup
    assert "Root cause" in shown.stdout
    missing = env.run("investigate", "--dataset", str(env.tmp / "nowhere"), "x", ok=False)
    assert missing.returncode == 2 and "not a folder" in missing.stderr


def test_every_command_explains_itself_and_offers_json(env: Env) -> None:
    for command in (["investigate"], ["sessions", "list"], ["sessions", "show"], ["sessions", "ask"]):
        helped = env.run(*command, "--help").stdout
        assert "Examples" in helped and "--json" in helped and "Exit codes" in helped, command
    assert "cancel" in env.run("sessions", "--help").stdout


def test_cancel_and_no_wait_print_json(env: Env) -> None:
    slow = make_tenant(env.proc_url, sim={**DEMO_SIM, "latency_seconds": 3})
    keys = {"TRACEHOUND_URL": env.proc.base_url, "TRACEHOUND_API_KEY": slow.admin_key}
    started = json.loads(env.run("investigate", INCIDENT, "--no-wait", "--json", **keys).stdout)
    cancelled = json.loads(env.run("sessions", "cancel", started["id"], "--json", **keys).stdout)
    assert cancelled["cancelled"] is True and cancelled["status"] == "idle"
    again = env.run("sessions", "cancel", started["id"], **keys).stdout
    assert "nothing was running" in again
