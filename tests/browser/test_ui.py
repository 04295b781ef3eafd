"""The web UI in a real Chromium: sign in, investigate, watch it progress and finish live, read the root cause and
its charts, follow up, find it in the list; manage keys, roles and connectors; keep members out of admin pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SLOW_SIM, shot, shots, sign_in
from tests.support.servers import Proc
from tests.support.tenants import Tenant, make_tenant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

HOSTILE = "Checkout is failing <script>alert('xss-script')</script> <img src=x onerror=alert('xss-img')> since 5 min"


def _no_reload_marker(page: Page, value: str) -> None:
    page.evaluate(f"window.__noReload = '{value}'")


def _still(page: Page, value: str) -> bool:
    return bool(page.evaluate("window.__noReload") == value)


def test_investigation_end_to_end(page: Page, base_url: str, ui_server: tuple[Proc, str]) -> None:
    tenant = make_tenant(ui_server[1], sim=SLOW_SIM)  # about 5 s per investigation: the progress is visible
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    shots(page, "01-login")
    sign_in(page, base_url, tenant.admin_key)
    expect(page.get_by_role("heading", name="Investigations")).to_be_visible()

    page.get_by_role("link", name="New investigation").first.click()
    page.get_by_label("What is happening?").fill(HOSTILE)
    page.get_by_label("Title (optional)").fill("<img src=x onerror=alert('xss-title')> payment errors")
    page.get_by_label("Tags (optional)").fill("payments, <b>sev2</b>")
    page.get_by_label("Analysis").select_option("deep")
    shots(page, "02-new-investigation")
    page.get_by_role("button", name="Start investigation").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/[0-9a-f-]{36}$"))

    # Mark this document: if the page reloaded, the marker would be gone.
    _no_reload_marker(page, "still-here")
    expect(page.locator("#progress-list .step").first).to_be_visible(timeout=30_000)  # streamed in
    shot(page, "03a-session-running-laptop")
    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-status", "idle", timeout=90_000)
    assert _still(page, "still-here"), "the page reloaded instead of updating live"
    expect(page.locator("#root-cause")).to_have_text("payment")
    expect(page.locator("#announcer")).to_have_text("Status: Idle")
    expect(page.locator("#analysis-mode strong")).to_have_text("deep")
    expect(page.locator("figure.chart-root svg.chart")).to_have_count(1)
    assert page.locator("figure.chart-fig").count() >= 2
    expect(page.locator("figure.chart-root figcaption")).to_contain_text("payment")
    expect(page.locator("svg.chart .chart-marker").first).to_be_attached()  # the anomaly start is marked
    expect(page.locator("svg.graph .graph-root")).to_have_count(1)
    expect(page.locator("svg.graph .graph-root title")).to_have_text("payment (suspected root cause)")
    expect(page.locator(".timeline li").first).to_be_visible()
    shots(page, "03-session-report")

    # Hostile input is shown as text, never executed or turned into elements.
    expect(page.get_by_role("heading", level=1)).to_contain_text("<img src=x onerror=alert('xss-title')>")
    expect(page.locator(".msg-user").first).to_contain_text("<script>alert('xss-script')</script>")
    assert page.locator("img").count() == 0
    assert page.locator("main script").count() == 0
    assert page.locator("b").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]

    # Follow-up: the session runs again and answers without a reload.
    page.get_by_label("Ask a follow-up").fill("Why payment and not checkout? <script>alert('xss-followup')</script>")
    page.get_by_role("button", name="Send").click()
    _no_reload_marker(page, "again")
    expect(page.locator(".msg-assistant")).to_have_count(2, timeout=90_000)
    expect(status).to_have_attribute("data-status", "idle", timeout=90_000)
    assert _still(page, "again")
    expect(page.locator(".msg-user").nth(1)).to_contain_text("<script>alert('xss-followup')</script>")
    expect(page.get_by_label("Ask a follow-up")).to_be_visible()
    assert page.dialogs == []  # type: ignore[attr-defined]

    # The list shows it with its badge, and search, status and tag filters find it.
    page.get_by_role("link", name="Investigations", exact=True).click()
    row = page.locator("tbody tr").first
    expect(row.locator(".badge")).to_have_text("Idle")
    assert page.locator("img").count() == 0
    shots(page, "04-investigations")
    page.get_by_label("Search").fill("checkout is failing")
    page.get_by_label("Status").select_option("idle")
    page.get_by_label("Tag").fill("payments")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No investigation matches these filters.")).to_be_visible()
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_the_list_follows_a_running_investigation_without_reloading(
    page: Page, base_url: str, ui_server: tuple[Proc, str]
) -> None:
    tenant = make_tenant(ui_server[1], sim={**SLOW_SIM, "latency_seconds": 2.0})  # about 10 s
    sign_in(page, base_url, tenant.member_key)
    page.get_by_role("link", name="New investigation").first.click()
    page.get_by_label("What is happening?").fill("payment errors since 10 minutes ago")
    page.get_by_role("button", name="Start investigation").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/"))
    page.get_by_role("link", name="Investigations", exact=True).click()
    _no_reload_marker(page, "list")
    badge = page.locator("tbody tr").first.locator(".badge")
    expect(badge).to_have_text("Running")
    expect(badge).to_have_text("Idle", timeout=90_000)
    assert _still(page, "list")


def test_admin_creates_and_revokes_a_key(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    sign_in(page, base_url, ui_tenant.admin_key)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("User").select_option("member@example.com")
    page.get_by_label("Name (optional)").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("API key", exact=True).input_value()
    assert re.fullmatch(r"trv_ak_[A-Za-z0-9_-]{43}", secret)
    copy = page.locator("button[data-copy='#new-key']")
    copy.click()
    expect(copy).to_have_text("Copied")
    shots(page, "06-api-keys-created")
    page.goto(f"{base_url}/ui/admin/keys")
    assert secret not in page.content(), "a key must be shown only once"

    # The new key works for signing in (in a second context), then stops working once revoked.
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    member = other.new_page()
    sign_in(member, base_url, secret)
    expect(member.get_by_role("link", name="API keys")).to_have_count(0)

    row = page.locator("tr", has_text="laptop")
    row.locator("summary", has_text="Revoke").click()  # a second, explicit step confirms
    row.get_by_role("button", name=re.compile("Revoke key")).click()
    expect(page.locator(".notice")).to_contain_text("revoked")
    expect(page.locator("tr", has_text="laptop").locator(".badge")).to_have_text("Revoked")
    shots(page, "07-api-keys")

    member.goto(f"{base_url}/ui")
    expect(member).to_have_url(re.compile(r"/ui/login"))
    member.get_by_label("API key").fill(secret)
    member.get_by_role("button", name="Sign in").click()
    expect(member.get_by_role("alert")).to_contain_text("revoked")
    other.close()


def test_member_cannot_open_admin_pages(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    sign_in(page, base_url, ui_tenant.member_key)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_count(2)
    for path in ("/ui/admin/keys", "/ui/admin/users", "/ui/admin/org"):
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 403
        expect(page.locator("#error-message")).to_contain_text("'admin' role")
        expect(page.locator("#error-message")).to_contain_text("member@example.com")
    shots(page, "08-member-403")


def test_admin_changes_a_role_and_manages_connectors(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    sign_in(page, base_url, ui_tenant.admin_key)
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Email").fill("oncall@example.com")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("cell", name="oncall@example.com", exact=True)).to_be_visible()
    page.get_by_label("Role of member@example.com", exact=True).select_option("admin")
    page.get_by_role("button", name="Save the role of member@example.com").click()
    expect(page.locator(".notice")).to_contain_text("saved")
    expect(page.get_by_label("Role of member@example.com", exact=True)).to_have_value("admin")
    shots(page, "09-users")

    page.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("cell", name="sim", exact=True)).to_be_visible()
    page.get_by_label("Concurrent investigations").fill("7")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".notice")).to_contain_text("saved")
    expect(page.get_by_label("Concurrent investigations")).to_have_value("7")
    page.get_by_label("Name", exact=True).fill("sim-two")
    page.get_by_label("Kind").select_option("simulator")
    page.get_by_label("Configuration (JSON)").fill('{"seed": 3}')
    page.get_by_role("button", name="Add connector").click()
    expect(page.locator(".notice")).to_contain_text("connector was added")
    page.get_by_role("button", name="Check connector sim-two").click()
    expect(page.locator("#check-result")).to_contain_text("reachable")
    shots(page, "10-organisation")
    row = page.locator("tr", has_text="sim-two")
    row.locator("summary", has_text="Remove").click()
    row.get_by_role("button", name="Remove sim-two").click()
    expect(page.locator(".notice")).to_contain_text("removed")
    expect(page.get_by_role("cell", name="sim-two", exact=True)).to_have_count(0)


def _unlabelled(page: Page) -> Any:
    return page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
            .map(el => el.outerHTML.slice(0, 120))"""
    )


def test_keyboard_only_and_every_control_labelled(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    page.goto(f"{base_url}/ui/login")
    expect(page.locator("#api_key")).to_be_focused()  # the only field of the page has the focus
    page.keyboard.type(ui_tenant.admin_key)
    page.keyboard.press("Enter")  # submits the sign-in form
    page.wait_for_url(f"{base_url}/ui")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()  # the skip link is the first stop
    expect(page.locator("a.skip")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")  # the first stop in the content: the page's main action
    expect(page.locator("main a.btn-primary").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/ui/sessions/new")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "input":
            break
    page.keyboard.type("payment errors since 10 minutes ago")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Start investigation":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/sessions/[0-9a-f-]{36}$"))
    expect(page.locator("#session-status")).to_have_attribute("data-status", "idle", timeout=60_000)
    for path in ("/ui", "/ui/sessions/new", page.url, "/ui/admin/keys", "/ui/admin/users", "/ui/admin/org"):
        page.goto(path if path.startswith("http") else f"{base_url}{path}")
        assert _unlabelled(page) == [], path
