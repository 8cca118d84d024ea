"""The page session's cookie: SameSite, HttpOnly, Secure over HTTPS (also behind trusted proxies), a
lifetime counted from logging in, and an end on the server at logout, a new password or deactivation."""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from werkzeug.http import parse_date

from tests.dataset_service.conftest import PASSWORD, app_with, make_user
from tests.dataset_service.web.pages import csrf_token, page_login

STRONG = "violet-kettle-42"  # passes the password policy


def login_response(client, username: str = "admin", password: str = PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)}, **kw)


def session_cookie(response) -> str:
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))


def test_the_cookie_is_lax_httponly_and_lives_twelve_hours(app, admin):
    response = login_response(app.test_client())
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie  # plain HTTP here
    expires = parse_date(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert abs((expires - datetime.now(timezone.utc)).total_seconds() - 12 * 3600) < 120


def test_the_cookie_is_secure_over_https(app, admin):
    client = app.test_client()
    response = client.post(
        "/login", base_url="https://labeling.example",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf_token(client)},
        headers={"Referer": "https://labeling.example/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Secure" in session_cookie(response)


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(app, admin):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    untrusting = login_response(app.test_client(), headers=forwarded)
    assert "Secure" not in session_cookie(untrusting)  # TRUSTED_PROXIES=0: anyone could send the header
    behind = app_with(app, trusted_proxies=1)
    client = behind.test_client()
    token = csrf_token(client)
    trusted = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}, headers=forwarded)
    assert trusted.status_code == 302, trusted.get_data(as_text=True)
    assert "Secure" in session_cookie(trusted)


def test_a_replayed_cookie_fails_after_logout(app, admin):
    client, token = page_login(app)
    cookie = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/").status_code == 302  # sent to log in
    assert replay.get("/api/v1/me").status_code == 401
    assert admin.get("/api/v1/me").status_code == 401  # logging out ends the user's tokens too


def test_revoking_through_the_api_ends_page_sessions(app, admin):
    client, _ = page_login(app)
    assert client.get("/").status_code == 200
    assert admin.post("/api/v1/auth/revoke").status_code == 204
    assert client.get("/").status_code == 302


def test_a_new_password_or_deactivation_ends_page_sessions(app, admin):
    user_id = make_user(app, "bob")
    bob, _ = page_login(app, "bob")
    assert bob.get("/").status_code == 200
    assert admin.patch(f"/api/v1/users/{user_id}", json={"password": STRONG}).status_code == 200
    assert bob.get("/").status_code == 302
    bob, _ = page_login(app, "bob", STRONG)
    assert admin.patch(f"/api/v1/users/{user_id}", json={"active": False}).status_code == 200
    assert bob.get("/").status_code == 302
    refused = login_response(app.test_client(), "bob", STRONG)
    assert refused.status_code == 401 and "deactivated" in refused.get_data(as_text=True)


def test_a_session_ends_its_lifetime_after_logging_in_even_when_used(app, admin):
    client, _ = page_login(app)
    with client.session_transaction() as page_session:
        page_session["since"] -= 12 * 3600 - 60
    assert client.get("/").status_code == 200  # still within the lifetime
    with client.session_transaction() as page_session:
        page_session["since"] = int(time.time()) - 12 * 3600 - 1
    assert client.get("/").status_code == 302


def test_the_login_page_is_throttled_too(app, admin):
    client = app.test_client()
    for _ in range(5):
        assert login_response(client, password="wrong-password").status_code == 401
    refused = login_response(client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed logins" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in
