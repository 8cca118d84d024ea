"""Logging in: throttling per username and per address (shared through the database), one cost for
known and unknown names, and the username and password rules of every way a user is made."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dataset_service import passwords
from dataset_service.models import LoginFailure, User
from tests.dataset_service.conftest import PASSWORD, app_with, make_user

STRONG = "violet-kettle-42"  # passes the password policy


def attempt(client, username: str, password: str, **headers):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, headers=headers)


def test_after_five_failures_even_the_right_password_waits(app):
    make_user(app, "bob")
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "bob", "wrong-password").status_code == 401
    refused = attempt(client, "bob", PASSWORD)
    assert refused.status_code == 429, refused.get_json()
    assert refused.get_json()["error"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    make_user(app, "carol")
    assert attempt(client, "carol", PASSWORD).status_code == 200  # only bob's name is throttled


def test_logins_open_again_when_the_window_passes(app):
    make_user(app, "bob")
    client = app.test_client()
    for _ in range(5):
        attempt(client, "bob", "wrong-password")
    assert attempt(client, "bob", PASSWORD).status_code == 429
    with app.extensions["db_sessionmaker"]() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.failed_at -= timedelta(minutes=15)
        session.commit()
    assert attempt(client, "bob", PASSWORD).status_code == 200


def test_a_success_clears_the_users_count(app):
    make_user(app, "bob")
    client = app.test_client()
    for _ in range(4):
        attempt(client, "bob", "wrong-password")
    assert attempt(client, "bob", PASSWORD).status_code == 200
    for _ in range(4):
        assert attempt(client, "bob", "wrong-password").status_code == 401
    assert attempt(client, "bob", PASSWORD).status_code == 200


def test_unknown_names_are_throttled_like_known_ones(app):
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "nobody", "wrong-password").status_code == 401
    assert attempt(client, "nobody", "wrong-password").status_code == 429


def test_one_address_is_throttled_across_usernames(app):
    small = app_with(app, login_failures_per_address=3)
    make_user(small, "bob")
    client = small.test_client()
    for name in ("ann", "ben", "cid"):
        assert attempt(client, name, "wrong-password").status_code == 401
    refused = attempt(client, "bob", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_failures_are_shared_by_every_process(app):
    """Two apps (two API processes) on one database see each other's failures."""
    make_user(app, "bob")
    first, second = app_with(app), app_with(app)
    for _ in range(5):
        attempt(first.test_client(), "bob", "wrong-password")
    assert attempt(second.test_client(), "bob", PASSWORD).status_code == 429


def test_addresses_come_from_trusted_proxies_only(app):
    behind = app_with(app, trusted_proxies=1, login_failures_per_address=2)
    client = behind.test_client()
    for _ in range(2):
        attempt(client, "ann", "wrong-password", **{"X-Forwarded-For": "203.0.113.7"})
    assert attempt(client, "ben", "wrong-password", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert attempt(client, "ben", "wrong-password", **{"X-Forwarded-For": "203.0.113.8"}).status_code == 401
    with app.extensions["db_sessionmaker"]() as session:
        keys = set(session.scalars(select(LoginFailure.key).where(LoginFailure.scope == "address")))
    assert keys == {"203.0.113.7", "203.0.113.8"}
    direct = app_with(app, login_failures_per_address=2).test_client()  # no proxy trusted: the header is ignored
    assert attempt(direct, "cid", "wrong-password", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 401
    assert attempt(direct, "cid", "wrong-password", **{"X-Forwarded-For": "198.51.100.2"}).status_code == 401
    assert attempt(direct, "dan", "wrong-password", **{"X-Forwarded-For": "198.51.100.3"}).status_code == 429


class CountingHasher:
    """Argon2's hasher, counting the verifications it makes."""

    def __init__(self, real):
        self.real, self.verified = real, []

    def verify(self, stored_hash, password):
        self.verified.append(stored_hash)
        return self.real.verify(stored_hash, password)

    def hash(self, password):
        return self.real.hash(password)


def test_unknown_and_known_names_both_pay_for_a_hash_check(app, monkeypatch):
    make_user(app, "bob")
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    client = app.test_client()
    assert attempt(client, "bob", "wrong-password").status_code == 401
    assert attempt(client, "nobody", "wrong-password").status_code == 401
    assert len(hasher.verified) == 2
    assert hasher.verified[1] == passwords.dummy_hash()  # the unknown name was checked against the dummy


@pytest.mark.parametrize("username, reason", [
    ("bob ", "whitespace"), (" bob", "whitespace"), ("bo\x07b", "control"), ("bo b", "letters"), ("", "empty"), ("b" * 65, "64"),
])
def test_usernames_are_refused_not_stripped(admin, username, reason):
    response = admin.post("/api/v1/users", json={"username": username, "password": STRONG})
    assert response.status_code == 422, response.get_json()
    assert reason in str(response.get_json()["fields"]["username"])


@pytest.mark.parametrize("password, reason", [
    ("short-one", "at least 10"), ("aaaaaaaaaaaa", "distinct"), ("password123", "common"), ("Password1234", "common"),
    ("1234567890", "common"), ("qwertyuiop", "common"), ("x" * 257, "at most"),
])
def test_weak_passwords_are_refused(admin, password, reason):
    response = admin.post("/api/v1/users", json={"username": "carl", "password": password})
    assert response.status_code == 422, response.get_json()
    assert reason in str(response.get_json()["fields"]["password"])


def test_the_command_line_applies_the_same_rules(app):
    runner = app.test_cli_runner()
    spaced = runner.invoke(args=["users", "create", "bob ", "--password", STRONG])
    assert spaced.exit_code != 0 and "username" in spaced.output and "whitespace" in spaced.output
    weak = runner.invoke(args=["users", "create", "bob", "--password", "password123"])
    assert weak.exit_code != 0 and "password" in weak.output and "common" in weak.output
    made = runner.invoke(args=["users", "create", "bob", "--role", "admin", "--password", STRONG])
    assert made.exit_code == 0, made.output
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(select(User.username).where(User.username.like("bob%"))).all() == ["bob"]
