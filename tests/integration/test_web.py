"""The web UI's routes over HTTP against a real server: cookies, CSRF, sign-out, roles, scoping and escaping."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import DEMO_SIM, Tenant, make_tenant

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def signed_in(base: str, key: str) -> tuple[httpx.Client, str]:
    """A client with a signed-in web session, and the session's CSRF token."""
    c = httpx.Client(base_url=base, timeout=30)
    token = csrf_of(c.get("/ui/login").text)
    r = c.post("/ui/login", data={"csrf_token": token, "api_key": key, "next": "/ui"})
    assert r.status_code == 303, r.text
    page = c.get("/ui")
    assert page.status_code == 200
    return c, csrf_of(page.text)


def test_root_redirects_and_pages_need_sign_in(api: Proc) -> None:
    r = httpx.get(f"{api.base_url}/")
    assert r.status_code == 307 and r.headers["location"] == "/ui"
    r = httpx.get(f"{api.base_url}/ui/sessions/new")
    assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=%2Fui%2Fsessions%2Fnew"


def test_cookie_flags_and_security_headers(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/ui/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    # behind a TLS-terminating proxy on loopback (uvicorn trusts X-Forwarded-Proto from 127.0.0.1): Secure
    r = httpx.get(f"{api.base_url}/ui/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in r.headers["set-cookie"].lower()
    # the API key never goes into the cookie
    c, _ = signed_in(api.base_url, tenant.admin_key)
    assert tenant.admin_key not in str(c.cookies.get("th_session"))
    c.close()


def test_sign_in_rejects_bad_keys(api: Proc, tenant: Tenant) -> None:
    c = httpx.Client(base_url=api.base_url)
    token = csrf_of(c.get("/ui/login").text)
    r = c.post("/ui/login", data={"csrf_token": token, "api_key": "trv_ak_" + "x" * 43})
    assert r.status_code == 401 and "Unknown API key" in r.text
    r = c.post("/ui/login", data={"csrf_token": token, "api_key": "hello"})
    assert r.status_code == 401 and "does not look like" in r.text
    # an open redirect through ?next is not possible
    r = c.post("/ui/login", data={"csrf_token": token, "api_key": tenant.member_key, "next": "//evil.example/ui"})
    assert r.status_code == 303 and r.headers["location"] == "/ui"
    c.close()


def test_csrf_is_required_on_every_form(api: Proc, tenant: Tenant) -> None:
    c = httpx.Client(base_url=api.base_url)
    c.get("/ui/login")
    r = c.post("/ui/login", data={"api_key": tenant.admin_key})
    assert r.status_code == 403 and "security token" in r.text
    c.close()

    c, token = signed_in(api.base_url, tenant.admin_key)
    other, other_token = signed_in(api.base_url, tenant.admin_key)
    sid = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "db errors"}, headers=tenant.headers()).json()["id"]
    wait_status(api.base_url, tenant.headers(), sid)
    before = c.get("/ui").text.count("row-link")
    for path, data in [
        ("/ui/sessions", {"input": "checkout is down"}),
        (f"/ui/sessions/{sid}/messages", {"input": "why?"}),
        (f"/ui/sessions/{sid}/cancel", {}),
        ("/ui/admin/keys", {"email": "member@example.com"}),
        (f"/ui/admin/keys/{tenant.admin_key_id}/revoke", {}),
        ("/ui/admin/users", {"email": "x@example.com", "role": "admin"}),
        ("/ui/admin/org", {"api_enabled": "on", "max_running": "9"}),
        ("/ui/admin/connectors", {"name": "x", "kind": "simulator", "config": "{}"}),
        ("/ui/admin/connectors/sim/check", {}),
        ("/ui/admin/connectors/sim/delete", {}),
        ("/ui/logout", {}),
    ]:
        assert c.post(path, data=data).status_code == 403, path
        assert c.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
        assert c.post(path, data={**data, "csrf_token": other_token}).status_code == 403, path  # another session's
    # a cross-site Origin is refused even with the right token
    r = c.post("/ui/sessions", data={"input": "x", "csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert c.get("/ui").text.count("row-link") == before
    assert "x@example.com" not in c.get("/ui/admin/users").text
    assert "<code>sim</code>" in c.get("/ui/admin/org").text  # not removed
    assert len(wait_status(api.base_url, tenant.headers(), sid)["messages"]) == 2  # no follow-up was taken
    assert httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers()).status_code == 200  # key not revoked
    c.close()
    other.close()


def test_sign_out_ends_the_session(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    r = c.post("/ui/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    r = c.get("/ui")
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    c.close()


def test_members_get_403_on_admin_pages(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.member_key)
    for path in ("/ui/admin/keys", "/ui/admin/users", "/ui/admin/org"):
        r = c.get(path)
        assert r.status_code == 403, path
        assert "&#39;admin&#39; role" in r.text and "member@example.com" in r.text
        assert (
            c.post(path, data={"csrf_token": token, "email": "member@example.com", "role": "admin"}).status_code == 403
        )
    assert "/ui/admin/keys" not in c.get("/ui").text  # no admin links for members
    c.close()


def test_list_escapes_hostile_text_and_filters(api: Proc, tenant: Tenant) -> None:
    hostile = {
        "input": "db down <script>alert(1)</script> <img src=x onerror=alert(2)>",
        "title": "<svg onload=alert(3)>title",
        "tags": ["<b>t</b>", "web-test"],
    }
    r = httpx.post(f"{api.base_url}/v1/sessions", json=hostile, headers=tenant.headers())
    assert r.status_code == 201, r.text
    wait_status(api.base_url, tenant.headers(), r.json()["id"])
    c, _ = signed_in(api.base_url, tenant.admin_key)
    page = c.get("/ui").text
    for raw in ("<script>alert(1)", "<img src=x", "<svg onload", "<b>t</b>"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;svg onload=alert(3)&gt;title" in page
    detail = c.get(f"/ui/sessions/{r.json()['id']}").text
    assert "<script>alert(1)" not in detail and "<img src=x" not in detail
    # filters
    assert c.get("/ui", params={"tag": "web-test"}).text.count("row-link") == 1
    assert c.get("/ui", params={"q": "db down"}).text.count("row-link") == 1
    assert c.get("/ui", params={"q": "no such text 42"}).text.count("row-link") == 0
    assert c.get("/ui", params={"status": "failed", "tag": "web-test"}).text.count("row-link") == 0
    c.close()


def test_sessions_are_scoped_to_the_organisation(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "checkout errors"}, headers=tenant.headers())
    session_id = r.json()["id"]
    stranger = make_tenant(shared_db_url)
    c, token = signed_in(api.base_url, stranger.admin_key)
    assert c.get(f"/ui/sessions/{session_id}").status_code == 404
    r = c.post(f"/ui/sessions/{session_id}/messages", data={"csrf_token": token, "input": "why?"})
    assert r.status_code == 404
    assert session_id not in c.get("/ui").text
    # a member lists only their own sessions; an admin lists everyone's
    m, _ = signed_in(api.base_url, tenant.member_key)
    assert session_id not in m.get("/ui").text
    assert m.get(f"/ui/sessions/{session_id}").status_code == 200  # but may open it, like GET /v1/sessions/{id}
    a, _ = signed_in(api.base_url, tenant.admin_key)
    assert session_id in a.get("/ui").text
    for client in (c, m, a):
        client.close()


def test_create_follow_up_and_limits(api: Proc, shared_db_url: str) -> None:
    tenant = make_tenant(shared_db_url, max_running=1)
    c, token = signed_in(api.base_url, tenant.member_key)
    r = c.post("/ui/sessions", data={"csrf_token": token, "input": " "})
    assert r.status_code == 400 and "Description" in r.text
    r = c.post("/ui/sessions", data={"csrf_token": token, "input": "checkout errors", "time": "not a time"})
    assert r.status_code == 400 and "Incident time" in r.text
    r = c.post(
        "/ui/sessions", data={"csrf_token": token, "input": "payment errors", "tags": "a, b", "idempotency_key": "k1"}
    )
    assert r.status_code == 303
    session_id = r.headers["location"].rsplit("/", 1)[1]
    # the same form posted twice (double click) gives the same session
    r2 = c.post("/ui/sessions", data={"csrf_token": token, "input": "payment errors", "idempotency_key": "k1"})
    assert r2.headers["location"] == r.headers["location"]
    # at the organisation's limit: a friendly 429 (unless the first already finished)
    r3 = c.post("/ui/sessions", data={"csrf_token": token, "input": "second incident"})
    if r3.status_code == 429:
        assert "limit" in r3.text and r3.headers["retry-after"]
    wait_status(api.base_url, tenant.headers(), session_id)
    if r3.status_code == 303:
        wait_status(api.base_url, tenant.headers(), r3.headers["location"].rsplit("/", 1)[1])
    live = c.get(f"/ui/sessions/{session_id}/live").text
    assert 'data-status="idle"' in live and 'id="root-cause"' in live
    assert f'data-sse-url="/ui/sessions/{session_id}/sse"' in live
    r = c.post(f"/ui/sessions/{session_id}/messages", data={"csrf_token": token, "input": "why payment?"})
    assert r.status_code == 303
    live = c.get(f"/ui/sessions/{session_id}/live").text
    if 'data-status="follow_up_running"' in live:
        assert 'id="progress-list"' in live and "Ask a follow-up" not in live
        # a second follow-up while one runs: a friendly 409 on the page
        r = c.post(f"/ui/sessions/{session_id}/messages", data={"csrf_token": token, "input": "and now?"})
        assert r.status_code in (303, 409)
    body = wait_status(api.base_url, tenant.headers(), session_id)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant"]
    c.close()


def test_a_copied_cookie_is_worthless_after_sign_out(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    stolen = str(c.cookies.get("th_session"))
    thief = httpx.Client(base_url=api.base_url, cookies={"th_session": stolen})
    assert thief.get("/ui").status_code == 200  # a copy works while the session lives...
    assert c.post("/ui/logout", data={"csrf_token": token}).status_code == 303
    r = thief.get("/ui")  # ...and not after sign-out: the server-side session is gone
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    for client in (c, thief):
        client.close()


def test_a_tampered_or_foreign_cookie_is_refused(api: Proc, tenant: Tenant) -> None:
    c, _ = signed_in(api.base_url, tenant.admin_key)
    body, _, sig = str(c.cookies.get("th_session")).partition(".")
    forged = httpx.Client(base_url=api.base_url, cookies={"th_session": f"{body}.{sig[:-2]}xx"})
    assert forged.get("/ui").status_code == 303
    for client in (c, forged):
        client.close()


def test_cross_site_posts_are_refused_by_fetch_metadata(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    r = c.post("/ui/sessions", data={"input": "x", "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and "security token" in r.text
    r = c.post("/ui/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 303
    c.close()


def _sse_frames(c: httpx.Client, path: str, until: str) -> list[tuple[str, str]]:
    """(event, data) frames of a cookie-authenticated stream, up to the first ``until`` event."""
    frames: list[tuple[str, str]] = []
    event = ""
    with c.stream("GET", path, timeout=httpx.Timeout(10, read=30)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                frames.append((event, line[6:]))
                if event == until:
                    break
    return frames


def test_the_page_stream_needs_the_cookie_and_the_organisation(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "checkout errors"}, headers=tenant.headers())
    sid = r.json()["id"]
    c, _ = signed_in(api.base_url, tenant.member_key)
    frames = _sse_frames(c, f"/ui/sessions/{sid}/sse", until="session.idled")
    assert frames[0][0] == "connected"
    assert [e for e, _ in frames if e == "session.status"] == ["session.status"]
    assert frames[-1][0] == "session.idled"
    last = int(json.loads(frames[-1][1])["id"])
    resumed = _sse_frames(c, f"/ui/sessions/{sid}/sse?since_id={last}", until="connected")
    assert json.loads(resumed[0][1]) == {"session_id": sid, "since_id": last}
    anonymous = httpx.get(f"{api.base_url}/ui/sessions/{sid}/sse")
    assert anonymous.status_code == 303
    stranger, _ = signed_in(api.base_url, make_tenant(shared_db_url).admin_key)
    assert stranger.get(f"/ui/sessions/{sid}/sse").status_code == 404
    for client in (c, stranger):
        client.close()


def test_admins_change_roles_but_never_remove_the_last_admin(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    r = c.post("/ui/admin/users", data={"csrf_token": token, "email": "admin@example.com", "role": "member"})
    assert r.status_code == 400 and "last admin" in r.text
    m, _ = signed_in(api.base_url, tenant.member_key)
    assert m.get("/ui/admin/keys").status_code == 403
    r = c.post("/ui/admin/users", data={"csrf_token": token, "email": "member@example.com", "role": "admin"})
    assert r.status_code == 303
    assert m.get("/ui/admin/keys").status_code == 200  # the promotion applies at the next request
    # now that there are two admins, the first may step down (and lands on the list, no longer an admin)
    r = c.post("/ui/admin/users", data={"csrf_token": token, "email": "admin@example.com", "role": "member"})
    assert r.status_code == 303 and r.headers["location"].startswith("/ui?")
    assert c.get("/ui/admin/users").status_code == 403
    r = c.post("/ui/admin/users", data={"csrf_token": token, "email": "not an email", "role": "admin"})
    assert r.status_code == 403  # no longer an admin: refused before the form is even read
    for client in (c, m):
        client.close()


def test_connectors_are_added_checked_and_removed_without_showing_secrets(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    page = c.get("/ui/admin/org").text
    assert "<code>sim</code>" in page
    bad = c.post(
        "/ui/admin/connectors", data={"csrf_token": token, "name": "prom", "kind": "prometheus", "config": "{"}
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    invalid = {"csrf_token": token, "name": "prom", "kind": "prometheus", "config": '{"url": "ftp://x"}'}
    r = c.post("/ui/admin/connectors", data=invalid)
    assert r.status_code == 400 and "url" in r.text
    config = {"url": "http://127.0.0.1:9", "basic_auth_username": "u", "basic_auth_password": "hunter2-secret"}
    r = c.post(
        "/ui/admin/connectors",
        data={"csrf_token": token, "name": "prom", "kind": "prometheus", "config": json.dumps(config)},
    )
    assert r.status_code == 303
    page = c.get("/ui/admin/org").text
    assert "<code>prom</code>" in page and "basic_auth_password" in page and "hunter2-secret" not in page
    checked = c.post("/ui/admin/connectors/sim/check", data={"csrf_token": token})
    assert checked.status_code == 200 and "reachable" in checked.text and "payment" in checked.text
    unreachable = c.post("/ui/admin/connectors/prom/check", data={"csrf_token": token})
    assert "not reachable" in unreachable.text
    assert c.post("/ui/admin/connectors/prom/delete", data={"csrf_token": token}).status_code == 303
    assert "<code>prom</code>" not in c.get("/ui/admin/org").text
    assert c.post("/ui/admin/connectors/prom/delete", data={"csrf_token": token}).status_code == 404
    c.close()


def test_turning_the_api_off_closes_v1_but_not_the_ui(api: Proc, tenant: Tenant) -> None:
    c, token = signed_in(api.base_url, tenant.admin_key)
    assert c.post("/ui/admin/org", data={"csrf_token": token, "max_running": "5"}).status_code == 303  # box unticked
    r = httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers())
    assert r.status_code == 403 and "not enabled" in r.json()["error"]["message"]
    assert c.get("/ui/admin/org").status_code == 200
    data = {"csrf_token": token, "api_enabled": "on", "max_running": "5"}
    assert c.post("/ui/admin/org", data=data).status_code == 303
    assert httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers()).status_code == 200
    c.close()


def test_unknown_pages_are_html_404s(api: Proc, tenant: Tenant) -> None:
    c, _ = signed_in(api.base_url, tenant.member_key)
    r = c.get("/ui/no/such/page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"] and "no/such/page" in r.text
    c.close()


def test_the_list_pages_twenty_at_a_time_newest_first(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, sim=None, max_running=50)
    ids = []
    for i in range(22):
        r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": f"incident {i:02d}"}, headers=t.headers())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    c, _ = signed_in(api.base_url, t.admin_key)
    first = c.get("/ui").text
    assert first.count("row-link") == 20 and "page 1 of 2" in first and "22 investigations" in first
    assert ids[-1] in first and ids[0] not in first and ids[1] not in first
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None and older.group(1) == "/ui?page=2"
    second = c.get(older.group(1)).text
    assert second.count("row-link") == 2 and "page 2 of 2" in second and 'rel="prev"' in second
    assert ids[0] in second and ids[1] in second
    filtered = c.get("/ui", params={"q": "incident 0", "page": "1"}).text
    assert filtered.count("row-link") == 10 and 'rel="next"' not in filtered
    c.close()


def test_cancel_from_the_page_ends_the_turn(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, sim={**DEMO_SIM, "latency_seconds": 5})
    c, token = signed_in(api.base_url, t.member_key)
    r = c.post("/ui/sessions", data={"csrf_token": token, "input": "payment errors since 10 minutes ago"})
    sid = r.headers["location"].rsplit("/", 1)[1]
    assert 'action="/ui/sessions/' in c.get(f"/ui/sessions/{sid}").text  # the Cancel form is there while it runs
    assert c.post(f"/ui/sessions/{sid}/cancel", data={}).status_code == 403  # CSRF here too
    r = c.post(f"/ui/sessions/{sid}/cancel", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=cancelled")
    page = c.get(r.headers["location"]).text
    assert "The running turn was cancelled." in page and 'data-status="idle"' in page
    assert "was cancelled at the request of member@example.com" in page
    c.close()
