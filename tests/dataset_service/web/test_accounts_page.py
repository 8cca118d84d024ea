"""The admins' users page: create users, set passwords, deactivate, reactivate and unlock them,
with the API's rules; and the login page saying when a locked name may try again."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dataset_service.models import User
from tests.dataset_service.conftest import PASSWORD, app_with, as_user, make_user
from tests.dataset_service.web.pages import csrf_token, signed_in

STRONG = "violet-kettle-42"  # passes the password policy


@pytest.fixture
def browser(app, admin):
    """The admin's page session; `admin` made the user."""
    return signed_in(app)


def user_row(html: str, username: str) -> str:
    return re.search(rf'<tr data-user="{username}">(.*?)</tr>', html, re.S).group(1)


def stored(app, username: str) -> User | None:
    with app.extensions["db_sessionmaker"]() as session:
        return session.scalar(select(User).where(User.username == username))


def test_only_admins_see_the_page_and_its_link(app, browser, labeler, client):
    admin_page, _ = browser
    home = admin_page.get("/").get_data(as_text=True)
    assert 'href="/users">Users</a>' in home
    page = admin_page.get("/users")
    assert page.status_code == 200 and "active" in user_row(page.get_data(as_text=True), "lena")
    lena, token = signed_in(app, "lena")
    assert 'href="/users"' not in lena.get("/").get_data(as_text=True)
    assert lena.get("/users").status_code == 403
    assert lena.post("/users", data={"username": "x-man", "password": STRONG, "csrf_token": token}).status_code == 403
    assert stored(app, "x-man") is None
    assert client.get("/users").headers["Location"] == "/login?next=%2Fusers"


def test_admin_creates_a_user_with_the_apis_rules(app, browser):
    client, token = browser
    made = client.post("/users", data={"username": "nina", "password": STRONG, "role": "admin", "csrf_token": token})
    assert made.status_code == 303 and made.headers["Location"] == "/users"
    assert "Created admin &#39;nina&#39;." in client.get("/users").get_data(as_text=True)
    assert stored(app, "nina").role == "admin"
    for password, reason in (("short-one", "at least 10"), ("I-am-NINA2-ok", "must not contain the username")):
        refused = client.post("/users", data={"username": "nina2", "password": password, "role": "labeler", "csrf_token": token})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and reason in html and 'value="nina2"' in html
        assert stored(app, "nina2") is None
    taken = client.post("/users", data={"username": "nina", "password": STRONG, "role": "labeler", "csrf_token": token})
    assert taken.status_code == 409 and "already exists" in taken.get_data(as_text=True)
    no_token = client.post("/users", data={"username": "nora", "password": STRONG, "role": "labeler"})
    assert no_token.status_code == 302 and stored(app, "nora") is None  # CSRF refused


def test_a_new_password_ends_the_users_sessions_and_tokens(app, browser):
    client, token = browser
    bob_id = make_user(app, "bob")
    bob_page, _ = signed_in(app, "bob")
    bob_api = as_user(app, "bob")
    weak = client.post(f"/users/{bob_id}/password", data={"password": "short", "csrf_token": token})
    assert weak.status_code == 422 and "at least 10" in user_row(weak.get_data(as_text=True), "bob")
    assert bob_page.get("/").status_code == 200  # nothing changed
    done = client.post(f"/users/{bob_id}/password", data={"password": STRONG, "csrf_token": token})
    assert done.status_code == 303
    assert bob_page.get("/").status_code == 302 and bob_api.get("/api/v1/me").status_code == 401
    assert app.test_client().post("/api/v1/auth/token", json={"username": "bob", "password": STRONG}).status_code == 200
    assert client.post("/users/999999/password", data={"password": STRONG, "csrf_token": token}).status_code == 404


def test_deactivating_ends_everything_at_once_and_reactivating_lets_the_user_back(app, browser):
    client, token = browser
    bob_id = make_user(app, "bob")
    bob_page, _ = signed_in(app, "bob")
    bob_api = as_user(app, "bob")
    assert client.post(f"/users/{bob_id}/active", data={"active": "false", "csrf_token": token}).status_code == 303
    page = client.get("/users").get_data(as_text=True)
    assert "deactivated" in user_row(page, "bob") and "Reactivate" in user_row(page, "bob")
    assert bob_page.get("/").status_code == 302 and bob_api.get("/api/v1/me").status_code == 401
    login = app.test_client()
    refused = login.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_token(login)})
    assert refused.status_code == 401 and "deactivated" in refused.get_data(as_text=True)
    assert client.post(f"/users/{bob_id}/active", data={"active": "true", "csrf_token": token}).status_code == 303
    assert login.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_token(login)}).status_code == 302
    admin_id = stored(app, "admin").id
    myself = client.post(f"/users/{admin_id}/active", data={"active": "false", "csrf_token": token})
    assert myself.status_code == 409 and "cannot deactivate yourself" in myself.get_data(as_text=True)
    assert stored(app, "admin").active


def test_a_locked_user_is_shown_and_unlocked(app, browser):
    client, token = browser
    bob_id = make_user(app, "bob")
    strict = app_with(app, login_failures_per_user=1)
    login = strict.test_client()
    wrong = login.post("/login", data={"username": "bob", "password": "wrong-password", "csrf_token": csrf_token(login)})
    assert wrong.status_code == 401
    locked = login.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_token(login)})
    html = locked.get_data(as_text=True)
    assert locked.status_code == 429 and 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert re.search(r"try again in 15 minutes \(at \d\d:\d\d UTC\)", html), html
    assert "locked until" in user_row(client.get("/users").get_data(as_text=True), "bob")
    assert client.post(f"/users/{bob_id}/unlock", data={"csrf_token": token}).status_code == 303
    assert "active" in user_row(client.get("/users").get_data(as_text=True), "bob")
    assert login.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_token(login)}).status_code == 302
