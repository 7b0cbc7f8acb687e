"""Accounts in the admin, against a real `plinth serve`: change password (the old one fails,
other logins end), two-factor login with TOTP (admin, /auth/login, /auth/token; wrong codes
refused and throttled like passwords) and the members page (an owner adds a member who can
then act as agent; another organization's owner cannot see or touch that membership)."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pyotp
import pytest

from admin.plinth_links import SIDEBAR_LINKS as PLINTH_LINKS
from runtime.identity import accounts
from tests.admin_session import membership_id, on_database
from tests.conftest import PASSWORD, Site

NEW_PASSWORD = "a new and longer passphrase"


@pytest.fixture
def ip() -> str:
    """This test's client address (X-Forwarded-For, honoured from 127.0.0.1): the tests of a
    module share one server, whose login throttle counts failures per IP."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _client(site: Site, ip: str, path: str = "") -> httpx.Client:
    return httpx.Client(base_url=site.url + path, timeout=30, headers={"X-Forwarded-For": ip})


def admin_login(
    site: Site, ip: str, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    with _client(site, ip, "/admin") as client:
        client.get("/")
        return client.post(
            "/public/login/",
            json={"username": email, "password": password, **extra},
            headers={"X-CSRFToken": client.cookies["csrftoken"]},
        )


def admin_client(site: Site, ip: str, email: str) -> httpx.Client:
    """Signed in to the admin as its front-end does (tests/admin_session.py), from `ip`."""
    client = _client(site, ip, "/admin")
    client.get("/")
    response = client.post(
        "/public/login/",
        json={"username": email, "password": PASSWORD},
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def token_login(
    site: Site, ip: str, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    with _client(site, ip) as client:
        return client.post("/auth/token", json={"email": email, "password": password, **extra})


def form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """An HTML form post of the admin's own pages, with the CSRF field they carry."""
    return client.post(path, data={"csrftoken": client.cookies["csrftoken"], **fields})


# -- change password -------------------------------------------------------------------------


def test_change_password_ends_other_logins_and_the_old_password_fails(site: Site, ip: str) -> None:
    mine, other = admin_client(site, ip, site.a), admin_client(site, ip, site.a)
    tokens = token_login(site, ip, site.a).json()
    change = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_new_password": NEW_PASSWORD,
    }
    response = mine.post("/api/change-password/", json=change)
    assert response.status_code == 200, response.text

    assert mine.get("/api/user/").status_code == 200  # this session goes on
    assert other.get("/api/user/").status_code == 401  # the other one ended
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{site.url}/auth/me", headers=bearer).status_code == 401
    refreshed = httpx.post(
        f"{site.url}/auth/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert admin_login(site, ip, site.a).status_code == 401
    assert token_login(site, ip, site.a).status_code == 401
    assert admin_login(site, ip, site.a, NEW_PASSWORD).status_code == 200
    assert token_login(site, ip, site.a, NEW_PASSWORD).status_code == 200


def test_change_password_needs_the_current_password_and_the_csrf_token(site: Site, ip: str) -> None:
    client = admin_client(site, ip, site.a)
    wrong = {
        "current_password": "not it",
        "new_password": NEW_PASSWORD,
        "confirm_new_password": NEW_PASSWORD,
    }
    response = client.post("/api/change-password/", json=wrong)
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "the current password is wrong"},
    )
    right = wrong | {"current_password": PASSWORD}
    no_csrf = client.post("/api/change-password/", json=right, headers={"X-CSRFToken": "x"})
    assert no_csrf.status_code == 403
    short = right | {"new_password": "short", "confirm_new_password": "short"}
    assert "8 to 1024 characters" in client.post("/api/change-password/", json=short).text
    assert token_login(site, ip, site.a).status_code == 200  # nothing changed


# -- two-factor login ------------------------------------------------------------------------


def enrol(site: Site, ip: str, email: str) -> tuple[pyotp.TOTP, list[str]]:
    """Turns two-factor login on through the admin's MFA Setup page: the app and the
    recovery codes, as the user would copy them."""
    client = admin_client(site, ip, email)
    assert "Two-factor login is off" in client.get("/api/mfa-setup/").text
    assert form(client, "/api/mfa-setup/", action="start", password="wrong").status_code == 422
    page = form(client, "/api/mfa-setup/", action="start", password=PASSWORD)
    assert page.status_code == 200, page.text
    secret = re.search(r'data-uitest="mfa_secret">([A-Z2-7]+)<', page.text).group(1)
    codes = re.findall(r"<li>([a-z2-9]{6}-[a-z2-9]{6})</li>", page.text)
    enrolment_id = re.search(r'name="enrolment_id" value="([^"]+)"', page.text).group(1)
    assert len(codes) == 10
    app = pyotp.TOTP(secret)
    assert "Two-factor login is off" in client.get("/api/mfa-setup/").text  # not yet on
    confirmed = form(
        client, "/api/mfa-setup/", action="confirm", enrolment_id=enrolment_id, code=app.now()
    )
    assert "Two-factor login is on" in confirmed.text, confirmed.text
    return app, codes


def next_code(app: pyotp.TOTP) -> str:
    """The code of the next 30-second step (the current one was used to confirm)."""
    return app.at(time.time() + 30)


def test_totp_enrolment_then_every_login_needs_the_code(site: Site, ip: str) -> None:
    app, codes = enrol(site, ip, site.a)

    needs = token_login(site, ip, site.a)
    assert needs.status_code == 401 and "mfa_code" in needs.json()["detail"]
    wrong = token_login(site, ip, site.a, mfa_code="000000")
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong mfa_code"
    code = next_code(app)
    assert token_login(site, ip, site.a, mfa_code=code).status_code == 200
    assert token_login(site, ip, site.a, mfa_code=code).status_code == 401  # a code works once

    session = _client(site, ip).post("/auth/login", json={"email": site.a, "password": PASSWORD})
    assert session.status_code == 401
    assert admin_login(site, ip, site.a).json() == {"detail": "MFA code required"}
    assert admin_login(site, ip, site.a, mfa_code="123456").json() == {"detail": "MFA failed"}
    assert admin_login(site, ip, site.a, mfa_code=codes[0]).status_code == 200
    assert admin_login(site, ip, site.a, mfa_code=codes[0]).status_code == 401  # used up
    recovered = _client(site, ip).post(
        "/auth/login",
        json={"email": site.a, "password": PASSWORD, "mfa_code": codes[1].upper()},
    )
    assert recovered.status_code == 200, recovered.text


# -- members ---------------------------------------------------------------------------------


def test_an_owner_adds_a_member_who_then_acts_as_agent(site: Site, ip: str) -> None:
    owner = admin_client(site, ip, site.a)
    page = owner.get("/members/")
    assert page.status_code == 200 and site.a in page.text
    new = f"agent-{uuid.uuid4().hex[:6]}@acme.test"
    short = form(owner, "/members/", action="add", email=new, role="agent", password="x")
    assert short.status_code == 422 and "has no account yet" in short.text
    added = form(owner, "/members/", action="add", email=new, role="agent", password=PASSWORD)
    assert added.status_code == 200 and f"{new} now has the role agent" in added.text

    with site.client(new) as agent:
        me = agent.get("/auth/me").json()
        assert (me["organization"]["slug"], me["roles"]) == (site.orgs[site.a], ["agent"])
        ticket = agent.post("/api/tickets", json={"subject": "by the new agent"})
        assert ticket.status_code == 201, ticket.text
        assert agent.delete(f"/api/tickets/{ticket.json()['id']}").status_code in (403, 404)
    as_agent = admin_client(site, ip, new)
    assert as_agent.get("/members/").status_code == 403  # agents don't manage members
    assert "Members" not in as_agent.get("/api/links/").json()  # nor see the sidebar link
    assert as_agent.get("/api/links/").json() == PLINTH_LINKS  # Plinth's pages: everyone's
    assert owner.get("/api/links/").json() == {**PLINTH_LINKS, "Members": "./members/"}

    member = membership_id(site, new)
    assert form(owner, "/members/", action="grant", membership_id=member, role="viewer").is_success
    revoked = form(owner, "/members/", action="revoke", membership_id=member, role="agent")
    assert revoked.status_code == 200
    with site.client(new) as viewer:
        assert viewer.get("/auth/me").json()["roles"] == ["viewer"]
    assert form(owner, "/members/", action="deactivate", membership_id=member).is_success
    assert token_login(site, ip, new).status_code == 403  # no organization left


def test_an_owner_keeps_their_organization_owned(site: Site, ip: str) -> None:
    owner = admin_client(site, ip, site.a)
    mine = membership_id(site, site.a)
    response = form(owner, "/members/", action="revoke", membership_id=mine, role="owner")
    assert response.status_code == 422 and "no owner left" in response.text
    assert form(owner, "/members/", action="deactivate", membership_id=mine).status_code == 422


def test_another_organizations_owner_cannot_see_or_change_a_membership(site: Site, ip: str) -> None:
    owner_a = admin_client(site, ip, site.a)
    new = f"agent-{uuid.uuid4().hex[:6]}@acme.test"
    form(owner_a, "/members/", action="add", email=new, role="agent", password=PASSWORD)
    member = membership_id(site, new)
    owner_b = admin_client(site, ip, site.b)
    for query in ({}, {"org": site.orgs[site.a]}):
        page = owner_b.get("/members/", params=query)
        assert page.status_code == 200 and new not in page.text and site.a not in page.text
    for action in ("grant", "revoke", "deactivate"):
        fields = {"membership_id": member, "role": "owner", "org": site.orgs[site.a]}
        response = form(owner_b, "/members/", action=action, **fields)
        assert response.status_code == 422 and "no such member" in response.text
        assert new not in response.text
    stolen = form(owner_b, "/members/", action="add", email=new, role="owner", org="x")
    assert stolen.status_code == 200  # added to B's organization, not to A's
    with site.client(new) as agent:
        me = agent.get("/auth/me").json()
    assert me["roles"] == ["agent"] and me["organization"]["slug"] == site.orgs[site.a]
    assert sorted(m["organization"] for m in me["memberships"]) == sorted(site.orgs.values())
    missing_csrf = owner_b.post(
        "/members/", data={"action": "deactivate"}, headers={"X-CSRFToken": ""}
    )
    assert missing_csrf.status_code == 403


def test_a_superuser_manages_every_organization(site: Site, ip: str) -> None:
    root = f"root-{uuid.uuid4().hex[:6]}@plinth.test"
    on_database(site, lambda r: accounts.create_user(r, root, PASSWORD, superuser=True))
    client = admin_client(site, ip, root)
    for email, slug in site.orgs.items():
        page = client.get("/members/", params={"org": slug})
        assert page.status_code == 200 and email in page.text
        assert all(other not in page.text for other in site.orgs if other != email)
    b_slug, b_member = site.orgs[site.b], membership_id(site, site.b)
    granted = form(
        client, "/members/", action="grant", org=b_slug, membership_id=b_member, role="agent"
    )
    assert granted.status_code == 200, granted.text
    with site.client(site.b) as owner_b:
        assert owner_b.get("/auth/me").json()["roles"] == ["agent", "owner"]


# -- the throttle ----------------------------------------------------------------------------


def test_wrong_codes_are_throttled_like_passwords(site: Site, ip: str) -> None:
    app, _ = enrol(site, ip, site.a)  # one failure: enrol's wrong password
    assert admin_login(site, ip, site.a).status_code == 401  # "MFA code required": not counted
    wrong = [admin_login(site, ip, site.a, mfa_code="000000").status_code for _ in range(4)]
    wrong += [token_login(site, ip, site.a, mfa_code="000000").status_code for _ in range(5)]
    assert wrong == [401] * 9
    assert token_login(site, ip, site.a, mfa_code="000000").status_code == 429
    for login in (token_login, admin_login):
        throttled = login(site, ip, site.a, mfa_code=next_code(app))
        assert throttled.status_code == 429 and "try again in" in throttled.text
