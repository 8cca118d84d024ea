"""Logging in: throttling per username and per address (shared through the database), one cost for
known and unknown names, and the username and password rules of every way a user is made."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dataset_service import passwords
from dataset_service.models import LoginFailure, LoginLock, User
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
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "try again in 15 minutes (at " in refused.get_json()["message"]
    make_user(app, "carol")
    assert attempt(client, "carol", PASSWORD).status_code == 200  # only bob's name is throttled


def pass_time(app, delta: timedelta) -> None:
    """Move every failure and lock back by `delta`, as if that much time had passed."""
    with app.extensions["db_sessionmaker"]() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.failed_at -= delta
        for lock in session.scalars(select(LoginLock)):
            lock.locked_until -= delta
        session.commit()


def fail(client, username: str, times: int) -> None:
    for _ in range(times):
        assert attempt(client, username, "wrong-password").status_code == 401


def wait_of(client, username: str) -> int:
    """Return the seconds a refused login says to wait."""
    refused = attempt(client, username, PASSWORD)
    assert refused.status_code == 429, refused.get_json()
    return int(refused.headers["Retry-After"])


def test_each_lock_in_a_row_is_twice_as_long_up_to_the_longest_and_a_success_starts_over(app):
    make_user(app, "bob")
    client = app_with(app, login_failures_per_user=1, login_lock_max_s=40 * 60).test_client()
    for minutes in (15, 30, 40):  # 60 is cut to the longest
        fail(client, "bob", 1)
        assert (minutes - 1) * 60 < wait_of(client, "bob") <= minutes * 60
        pass_time(app, timedelta(minutes=minutes))
    assert attempt(client, "bob", PASSWORD).status_code == 200
    fail(client, "bob", 1)
    assert 14 * 60 < wait_of(client, "bob") <= 15 * 60


def test_a_lock_more_than_a_day_old_no_longer_counts(app):
    client = app_with(app, login_failures_per_user=1).test_client()
    fail(client, "nobody", 1)
    pass_time(app, timedelta(minutes=15, days=1))
    fail(client, "nobody", 1)
    assert 14 * 60 < wait_of(client, "nobody") <= 15 * 60


def test_an_admin_unlocks_a_user(app, admin, labeler):
    bob = make_user(app, "bob")
    client = app_with(app, login_failures_per_user=1).test_client()
    fail(client, "bob", 1)
    assert wait_of(client, "bob") > 0
    assert labeler.post(f"/api/v1/users/{bob}/unlock").status_code == 403
    assert admin.post("/api/v1/users/999999/unlock").status_code == 404
    assert admin.post(f"/api/v1/users/{bob}/unlock").status_code == 204
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


@pytest.mark.parametrize("password", ["carl-the-great", "CARL-carl-1234", "9 x Carl x 9"])
def test_a_password_holding_the_username_is_refused(admin, password):
    response = admin.post("/api/v1/users", json={"username": "carl", "password": password})
    assert response.status_code == 422, response.get_json()
    assert "must not contain the username" in str(response.get_json()["fields"]["password"])


def test_a_new_password_may_not_hold_the_username_either(app, admin):
    user_id = make_user(app, "carla")
    response = admin.patch(f"/api/v1/users/{user_id}", json={"password": "my name is carla"})
    assert response.status_code == 422 and "username" in str(response.get_json()["fields"]["password"])
    assert admin.patch(f"/api/v1/users/{user_id}", json={"password": STRONG}).status_code == 200


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


def test_the_command_line_sets_a_password_and_lifts_the_lock(app):
    make_user(app, "bob")
    strict = app_with(app, login_failures_per_user=1)
    client = strict.test_client()
    fail(client, "bob", 1)
    assert wait_of(client, "bob") > 0
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "set-password", "nobody", "--password", STRONG])
    assert unknown.exit_code != 0 and "no user 'nobody'" in unknown.output
    weak = runner.invoke(args=["users", "set-password", "bob", "--password", "short"])
    assert weak.exit_code != 0 and "at least 10" in weak.output
    done = runner.invoke(args=["users", "set-password", "bob", "--password", STRONG])
    assert done.exit_code == 0, done.output
    assert attempt(client, "bob", STRONG).status_code == 200
