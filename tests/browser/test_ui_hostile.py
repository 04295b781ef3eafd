"""Hostile text from every direction renders inert in a real browser: the user's input, title, tags and follow-ups,
and engine-written text built from hostile telemetry (a service named with HTML, log lines with scripts, a deploy
note with a ``javascript:`` Markdown link) in the report, the evidence, the charts and the call graph."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shots, sign_in
from tests.support.hostile import EVIL_SERVICE, INCIDENT_TIME, write_dataset
from tests.support.servers import Proc
from tests.support.tenants import add_source, make_tenant
from tests.support.xss import XSS_PAYLOADS

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ACTIVE_CONTENT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'img', 'iframe', 'object', 'embed', 'math', 'style', 'link', 'base', 'meta'].includes(tag)) {
      bad.push(tag);
    }
    if (tag === 'svg' && !el.classList.contains('chart') && !el.classList.contains('graph')) bad.push('svg');
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(tag + '[' + a.name + ']');
      if (['href', 'src', 'action', 'xlink:href'].includes(a.name) && /^\\s*(javascript|data|vbscript):/i.test(a.value))
        bad.push(tag + '[' + a.name + '=' + a.value + ']');
    }
  }
  return bad;
}"""


def _assert_inert(page: Page) -> None:
    assert page.evaluate(ACTIVE_CONTENT) == []
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_hostile_user_and_engine_text_renders_inert(
    page: Page, base_url: str, ui_server: tuple[Proc, str], tmp_path: Path
) -> None:
    tenant = make_tenant(ui_server[1], sim=None)
    add_source(ui_server[1], tenant.org_id, name="files", kind="files", config={"path": str(write_dataset(tmp_path))})
    sign_in(page, base_url, tenant.admin_key)
    page.goto(f"{base_url}/ui/sessions/new")
    page.get_by_label("What is happening?").fill("checkout errors since 10:40\n" + "\n".join(XSS_PAYLOADS))
    page.get_by_label("Incident time (UTC, optional)").fill(INCIDENT_TIME.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Title (optional)").fill("<svg/onload=alert('title')> " + XSS_PAYLOADS[1])
    page.get_by_label("Tags (optional)").fill("<b>bold</b>, <img src=x onerror=alert('tag')>")
    page.get_by_role("button", name="Start investigation").click()
    expect(page.locator("#session-status")).to_have_attribute("data-status", "idle", timeout=60_000)
    expect(page.locator("#root-cause")).to_have_text(EVIL_SERVICE)  # engine text, shown as text
    expect(page.locator("svg.graph .graph-root title")).to_have_text(f"{EVIL_SERVICE} (suspected root cause)")
    expect(page.locator("figure.chart-root figcaption .chart-service")).to_have_text(EVIL_SERVICE)
    expect(page.locator(".evidence")).to_contain_text("<script>alert('log')</script>")
    _assert_inert(page)

    page.get_by_label("Ask a follow-up").fill("what changed before 10:40? " + " ".join(XSS_PAYLOADS))
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg-assistant")).to_have_count(2, timeout=60_000)
    expect(page.locator("#session-status")).to_have_attribute("data-status", "idle", timeout=60_000)
    expect(page.locator(".msg-assistant").nth(1)).to_contain_text("deploy")
    _assert_inert(page)
    shots(page, "11-hostile-session")

    page.goto(f"{base_url}/ui")
    expect(page.locator("tbody tr")).to_have_count(1)
    _assert_inert(page)
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_markdown_links_keep_only_safe_schemes(page: Page, base_url: str, ui_server: tuple[Proc, str]) -> None:
    tenant = make_tenant(ui_server[1], sim=None)
    sign_in(page, base_url, tenant.member_key)
    page.goto(f"{base_url}/ui/sessions/new")
    page.get_by_label("What is happening?").fill(
        "see [runbook](https://runbooks.example/checkout) and [bad](javascript:alert('x')) and "
        "[mail](mailto:oncall@example.com)"
    )
    page.get_by_role("button", name="Start investigation").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/"))
    links: list[Any] = page.evaluate(
        "() => [...document.querySelectorAll('.msg-body a')].map(a => [a.textContent, a.getAttribute('href'), a.rel])"
    )
    assert ["runbook", "https://runbooks.example/checkout", "noopener noreferrer nofollow"] in links
    assert ["mail", "mailto:oncall@example.com", "noopener noreferrer nofollow"] in links
    assert all(not str(href).lower().startswith("javascript") for _, href, _ in links)
    _assert_inert(page)
