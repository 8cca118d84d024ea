"""Tokens and users."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..auth import admin_required, current_user, issue_token
from ..db_session import commit, db
from ..schemas import TokenRequest, TokenResponse, UserCreate, UserOut
from ..services import users

blp = Blueprint("auth", __name__, description="Authentication and users")


@blp.post("/auth/token")
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
def token(data):
    """Trade a username and password for a bearer token."""
    user = users.authenticate(db(), data["username"], data["password"])
    return {"token": issue_token(user), "username": user.username, "role": user.role}


@blp.get("/me")
@blp.response(200, UserOut)
def me():
    """Return the calling user."""
    return current_user()


@blp.get("/users")
@admin_required
@blp.response(200, UserOut(many=True))
def list_users():
    """List users (admins only)."""
    return users.list_users(db())


@blp.post("/users")
@admin_required
@blp.arguments(UserCreate)
@blp.response(201, UserOut)
def create_user(data):
    """Create a user (admins only)."""
    user = users.create_user(db(), data["username"], data["password"], data["role"])
    commit()
    return user


@blp.delete("/users/<int:user_id>")
@admin_required
@blp.response(204)
def delete_user(user_id):
    """Delete a user (admins only)."""
    users.delete_user(db(), user_id, current_user())
    commit()
