"""Helpers for the page tests: a signed-in test client, the CSRF token, a page's data."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from dataset_service.auth import session_claims
from dataset_service.models import User
from tests.dataset_service.conftest import PASSWORD

TOKEN_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    return TOKEN_RE.search(client.get(path).get_data(as_text=True)).group(1)


def page_login(app, username: str = "admin", password: str = PASSWORD):
    """Return a test client logged in through the form, and its CSRF token (for the login tests)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, csrf_token(client, "/")


def signed_in(app, username: str = "admin"):
    """Return a test client whose page session is the user's (no form, no password check), and
    its CSRF token."""
    with app.extensions["db_sessionmaker"]() as session:
        user = session.scalar(select(User).where(User.username == username))
    assert user is not None, f"no user {username!r}"
    client = app.test_client()
    with client.session_transaction() as page_session:
        page_session.update(session_claims(user))
    return client, csrf_token(client, "/")


def page_data(response) -> dict:
    html = response.get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S).group(1))
