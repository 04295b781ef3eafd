"""README command 1: the demo provisions, serves, investigates and prints the report, and can be re-run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port, process_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _demo(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = process_env(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "tracehound", "demo", "--exit", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_demo_prints_a_report_naming_the_injected_fault_and_is_safe_to_rerun(tmp_path: Path) -> None:
    port = free_port()
    first = _demo(tmp_path, port)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"trv_ak_[A-Za-z0-9_-]{43}", first.stdout)
    assert f"http://127.0.0.1:{port}" in first.stdout
    assert "payment" in first.stdout.lower()
    assert "is idle" in first.stdout
    second = _demo(tmp_path, port)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "is idle" in second.stdout
