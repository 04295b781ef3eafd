"""The web UI in a real Chromium: sign in, investigate, watch it finish live, follow up, manage keys, stay inert
under hostile input, and keep members out of admin pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot, sign_in
from tests.support.tenants import Tenant

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

HOSTILE = "Checkout is failing <script>alert('xss-script')</script> <img src=x onerror=alert('xss-img')> since 5 min"


def test_investigation_end_to_end(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    shot(page, "01-login")
    sign_in(page, base_url, ui_tenant.admin_key)
    expect(page.get_by_role("heading", name="Investigations")).to_be_visible()

    page.get_by_role("link", name="New investigation").first.click()
    page.get_by_label("What is happening?").fill(HOSTILE)
    page.get_by_label("Title (optional)").fill("<img src=x onerror=alert('xss-title')> payment errors")
    page.get_by_label("Tags (optional)").fill("payments, <b>sev2</b>")
    shot(page, "02-new-investigation")
    page.get_by_role("button", name="Start investigation").click()
    expect(page).to_have_url(re.compile(r"/ui/sessions/[0-9a-f-]{36}$"))

    # Mark this document: if the page reloaded, the marker would be gone.
    page.evaluate("window.__noReload = 'still-here'")
    status = page.locator("#session-status")
    expect(status).to_have_attribute("data-status", "idle", timeout=60_000)
    assert page.evaluate("window.__noReload") == "still-here", "the page reloaded instead of updating live"
    expect(page.locator("#root-cause")).to_have_text("payment")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("svg.graph .graph-root")).to_have_count(1)
    shot(page, "03-session-report")

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
    page.evaluate("window.__noReload = 'again'")
    expect(page.locator(".msg-assistant")).to_have_count(2, timeout=60_000)
    expect(status).to_have_attribute("data-status", "idle", timeout=60_000)
    assert page.evaluate("window.__noReload") == "again"
    expect(page.locator(".msg-user").nth(1)).to_contain_text("<script>alert('xss-followup')</script>")
    assert page.dialogs == []  # type: ignore[attr-defined]

    # The list shows it with its badge, and search, status and tag filters find it.
    page.get_by_role("link", name="Investigations", exact=True).click()
    row = page.locator("tbody tr").first
    expect(row.locator(".badge")).to_have_text("Idle")
    assert page.locator("img").count() == 0
    shot(page, "04-investigations")
    page.get_by_label("Search").fill("checkout is failing")
    page.get_by_label("Status").select_option("idle")
    page.get_by_label("Tag").fill("payments")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No investigation matches these filters.")).to_be_visible()
    assert page.dialogs == []  # type: ignore[attr-defined]

    # The same session page on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/ui")
    page.locator("a.row-link").first.click()
    expect(page.locator("#root-cause")).to_have_text("payment")
    shot(page, "05-session-phone", full_page=False)
    page.locator("#charts-h").scroll_into_view_if_needed()
    shot(page, "05b-session-phone-charts", full_page=False)


def test_admin_creates_and_revokes_a_key(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    sign_in(page, base_url, ui_tenant.admin_key)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("User").select_option("member@example.com")
    page.get_by_label("Name (optional)").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("API key", exact=True).input_value()
    assert re.fullmatch(r"trv_ak_[A-Za-z0-9_-]{43}", secret)
    shot(page, "06-api-keys-created")
    page.goto(f"{base_url}/ui/admin/keys")
    assert secret not in page.content(), "a key must be shown only once"

    # The new key works for signing in (in a second context), then stops working once revoked.
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    member = other.new_page()
    sign_in(member, base_url, secret)
    expect(member.get_by_role("link", name="API keys")).to_have_count(0)

    row = page.locator("tr", has_text="laptop")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.locator(".notice")).to_contain_text("revoked")
    expect(page.locator("tr", has_text="laptop").locator(".badge")).to_have_text("Revoked")
    shot(page, "07-api-keys")

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
    shot(page, "08-member-403")


def test_admin_pages_render(page: Page, base_url: str, ui_tenant: Tenant) -> None:
    sign_in(page, base_url, ui_tenant.admin_key)
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Email").fill("oncall@example.com")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("cell", name="oncall@example.com", exact=True)).to_be_visible()
    shot(page, "09-users")
    page.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("cell", name="sim", exact=True)).to_be_visible()
    page.get_by_label("Concurrent investigations").fill("7")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".notice")).to_contain_text("saved")
    expect(page.get_by_label("Concurrent investigations")).to_have_value("7")
    shot(page, "10-organisation")
    # keyboard: the skip link is the first stop and is visible when focused
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
