"""Tokens and users."""
from __future__ import annotations

from flask import jsonify

from ..auth import current_user, issue_token, log_in
from ..db_session import commit, db
from ..errors import to_response
from ..schemas import TokenRequest, TokenResponse, UserCreate, UserOut, UserUpdate
from ..services import logins, users
from ..services.logins import Throttled
from .blueprint import Blueprint

blp = Blueprint("auth", __name__, description="Authentication and users")
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


@blp.post("/auth/token")
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.alt_response(429, description="Too many failed logins for this username or from this address", headers=RETRY_AFTER)
def token(data):
    """Trade a username and password for a bearer token."""
    try:
        user = log_in(data["username"], data["password"])
    except Throttled as exc:
        # Answered here rather than by the error handler, which sends no headers.
        status, body = to_response(exc)
        response = jsonify(body)
        response.status_code = status
        response.headers.update(exc.headers)
        return response
    return {"token": issue_token(user), "username": user.username, "role": user.role}


@blp.post("/auth/revoke")
@blp.response(204)
def revoke():
    """End every token and page session of the caller, this one included."""
    users.end_sessions(db(), current_user())
    commit()


@blp.get("/me")
@blp.response(200, UserOut)
def me():
    """Return the calling user."""
    return current_user()


@blp.get("/users")
@blp.admin_only
@blp.response(200, UserOut(many=True))
def list_users():
    """List users (admins only)."""
    return users.list_users(db())


@blp.post("/users")
@blp.admin_only
@blp.arguments(UserCreate)
@blp.response(201, UserOut)
def create_user(data):
    """Create a user (admins only)."""
    user = users.create_user(db(), data["username"], data["password"], data["role"])
    commit()
    return user


@blp.patch("/users/<int:user_id>")
@blp.admin_only
@blp.arguments(UserUpdate)
@blp.response(200, UserOut)
def update_user(data, user_id):
    """Deactivate or reactivate a user, or set its password (admins only); both deactivating and a new password end its tokens and sessions."""
    user = users.update_user(db(), user_id, current_user(), **data)
    commit()
    return user


@blp.post("/users/<int:user_id>/unlock")
@blp.admin_only
@blp.response(204)
def unlock_user(user_id):
    """Let a user locked out by failed logins try again at once (admins only)."""
    logins.unlock_user(db(), user_id)
    commit()


@blp.delete("/users/<int:user_id>")
@blp.admin_only
@blp.response(204)
def delete_user(user_id):
    """Delete a user (admins only)."""
    users.delete_user(db(), user_id, current_user())
    commit()
