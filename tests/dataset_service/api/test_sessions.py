"""Tokens are bound to their user's session generation: deleting, deactivating, a new password and
revocation end them; user ids are never reused."""
from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer

from tests.dataset_service.conftest import Api, as_user, login, make_user

STRONG = "violet-kettle-42"  # passes the password policy
OTHER = "amber-lantern-77"


def test_a_deleted_users_token_never_authenticates_the_next_user(app, admin):
    old_id = make_user(app, "temp", "labeler")
    old_token = as_user(app, "temp").token
    assert admin.delete(f"/api/v1/users/{old_id}").status_code == 204
    created = admin.post("/api/v1/users", json={"username": "newcomer", "password": STRONG, "role": "admin"}).get_json()
    assert created["id"] > old_id  # SQLite too: AUTOINCREMENT, no reuse of the highest id
    response = Api(app.test_client(), old_token).get("/api/v1/me")
    assert response.status_code == 401, response.get_json()


def test_a_new_password_ends_the_users_tokens(app, admin):
    user_id = make_user(app, "bob")
    before = as_user(app, "bob")
    assert before.get("/api/v1/me").status_code == 200
    response = admin.patch(f"/api/v1/users/{user_id}", json={"password": STRONG})
    assert response.status_code == 200, response.get_json()
    assert before.get("/api/v1/me").status_code == 401
    assert login(app, "bob", STRONG).get("/api/v1/me").status_code == 200


def test_setting_the_same_password_again_keeps_the_user_logged_in(app, admin):
    user_id = make_user(app, "bob")
    bob = login(app, "bob")
    assert admin.patch(f"/api/v1/users/{user_id}", json={"password": STRONG}).status_code == 200
    bob = login(app, "bob", STRONG)
    assert admin.patch(f"/api/v1/users/{user_id}", json={"password": STRONG}).status_code == 200
    assert bob.get("/api/v1/me").status_code == 200


def test_a_deactivated_user_cannot_log_in_and_its_tokens_end(app, admin):
    user_id = make_user(app, "bob")
    bob = login(app, "bob")
    response = admin.patch(f"/api/v1/users/{user_id}", json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert bob.get("/api/v1/me").status_code == 401
    refused = app.test_client().post("/api/v1/auth/token", json={"username": "bob", "password": "password123"})
    assert refused.status_code == 401 and "deactivated" in refused.get_json()["message"]
    assert admin.patch(f"/api/v1/users/{user_id}", json={"active": True}).get_json()["active"] is True
    assert login(app, "bob").get("/api/v1/me").status_code == 200
    assert bob.get("/api/v1/me").status_code == 401  # reactivating does not bring old tokens back


def test_revoke_ends_every_token_of_the_caller_only(app, admin):
    make_user(app, "bob")
    first, second, admins = login(app, "bob"), login(app, "bob"), admin
    assert first.post("/api/v1/auth/revoke").status_code == 204
    assert first.get("/api/v1/me").status_code == 401
    assert second.get("/api/v1/me").status_code == 401
    assert admins.get("/api/v1/me").status_code == 200
    assert login(app, "bob").get("/api/v1/me").status_code == 200


def test_revoke_needs_a_caller(client):
    assert client.post("/api/v1/auth/revoke").status_code == 401


def test_a_token_without_a_generation_is_refused(app):
    """Tokens signed before generations existed named only the user id."""
    user_id = make_user(app, "bob")
    old = URLSafeTimedSerializer("test-secret", salt="api-token").dumps({"uid": user_id})
    response = Api(app.test_client(), old).get("/api/v1/me")
    assert response.status_code == 401


def test_user_update_checks_its_input_and_who_asks(app, admin, labeler):
    user_id = make_user(app, "bob")
    weak = admin.patch(f"/api/v1/users/{user_id}", json={"password": "aaaaaaaaaaaa"})
    assert weak.status_code == 422 and "password" in weak.get_json()["fields"]
    assert admin.patch(f"/api/v1/users/{user_id}", json={"active": "maybe"}).status_code == 422
    assert admin.patch("/api/v1/users/999999", json={"active": False}).status_code == 404
    assert labeler.patch(f"/api/v1/users/{user_id}", json={"active": False}).status_code == 403
    me = admin.get("/api/v1/me").get_json()
    myself = admin.patch(f"/api/v1/users/{me['id']}", json={"active": False})
    assert myself.status_code == 409 and "active" in myself.get_json()["fields"]
    assert admin.get("/api/v1/me").status_code == 200
