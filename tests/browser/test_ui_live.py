"""The session page's live status survives a dropped connection: the server is killed (-9) in the middle of an
investigation and restarted on the same address; the open page reconnects by itself, picks the stream up where it
broke and shows the finished report, without a reload."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in
from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

VERY_SLOW = {
    "seed": 7,
    "latency_seconds": 2.5,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[tuple[list[Proc], Tenant]]:
    url = f"sqlite:///{tmp_path / 'th.db'}"
    procs = [server(url, tmp_path, name="live-1", TRACEHOUND_SSE_HEARTBEAT_SECONDS="2").start()]
    yield procs, make_tenant(url, sim=VERY_SLOW)
    procs[-1].stop()


def test_the_page_recovers_from_a_server_restart(page: Page, restartable: tuple[list[Proc], Tenant]) -> None:
    procs, tenant = restartable
    base = procs[0].base_url
    sign_in(page, base, tenant.admin_key)
    page.goto(f"{base}/ui/sessions/new")
    page.get_by_label("What is happening?").fill("payment errors since 10 minutes ago")
    page.get_by_role("button", name="Start investigation").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/[0-9a-f-]{36}$"))
    page.evaluate("window.__noReload = 'kept'")
    expect(page.locator("#progress-list .step").first).to_be_visible(timeout=30_000)
    seen_before = page.locator("#progress-list li").count()

    first = procs[0]
    first.kill9()
    expect(page.locator("#conn")).to_be_visible(timeout=30_000)  # the page says it lost the stream
    shot(page, "12-session-reconnecting-laptop")
    time.sleep(1)  # the page keeps trying while the server is down
    procs.append(Proc(first.args, first.env, first.log_path.with_name("live-2.log"), first.port).start())

    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-status", "idle", timeout=120_000)
    assert page.evaluate("window.__noReload") == "kept", "the page reloaded instead of reconnecting"
    expect(page.locator("#root-cause")).to_have_text("payment")
    expect(page.locator("#conn")).to_be_hidden()
    assert seen_before >= 1
    assert page.dialogs == []  # type: ignore[attr-defined]
