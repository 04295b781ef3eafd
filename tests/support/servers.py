"""Real tracehound server and worker processes for integration and end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """A tracehound process (``serve`` or ``worker``) with its log file."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 60) -> Proc:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tracehound", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait_ready and self.port is not None:
            deadline = time.monotonic() + timeout
            while True:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"server exited with {self.popen.returncode}:\n{self.log_tail()}")
                try:
                    if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready in {timeout}s:\n{self.log_tail()}")
                time.sleep(0.1)
        return self

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def process_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHOUND_")}
    env.update(
        {
            "TRACEHOUND_DATABASE_URL": database_url,
            "TRACEHOUND_DATA_DIR": str(data_dir),
            "TRACEHOUND_LOG_LEVEL": "INFO",
            "TRACEHOUND_HEARTBEAT_INTERVAL_SECONDS": "1",
            "TRACEHOUND_HEARTBEAT_TTL_SECONDS": "4",
            "TRACEHOUND_SWEEP_INTERVAL_SECONDS": "1",
            "TRACEHOUND_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        }
    )
    env.update(overrides)
    return env


def server(
    database_url: str, tmp: Path, *, name: str = "server", extra_args: list[str] | None = None, **env: str
) -> Proc:
    port = free_port()
    return Proc(
        ["serve", "--port", str(port), *(extra_args or [])],
        process_env(database_url, tmp, **env),
        tmp / f"{name}.log",
        port,
    )


def worker(database_url: str, tmp: Path, *, name: str, **env: str) -> Proc:
    return Proc(["worker", "--executor-id", name], process_env(database_url, tmp, **env), tmp / f"{name}.log")
