"""Who is calling: bearer tokens for the API, the session cookie for pages, and role checks."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .db_session import db
from .errors import Forbidden, Unauthorized
from .models import User

ROLES = ("admin", "labeler")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user: User) -> str:
    """Sign a token naming the user."""
    return _serializer().dumps({"uid": user.id})


def user_from_token(token: str) -> User:
    """Return the user a token names, or raise Unauthorized."""
    max_age = current_app.config["SERVICE"].token_max_age_s
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("The token has expired; ask for a new one.") from None
    except BadSignature:
        raise Unauthorized("The token is not valid.") from None
    user = db().get(User, data.get("uid"))
    if user is None:
        raise Unauthorized("The token's user no longer exists.")
    return user


def current_user() -> User:
    """Return the caller, from the bearer token or the page session; raise Unauthorized."""
    if "user" in g:
        return g.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.user = user_from_token(header.removeprefix("Bearer ").strip())
    elif session.get("uid") is not None and (user := db().get(User, session["uid"])) is not None:
        g.user = user
    else:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return g.user


def login_required(view: Callable) -> Callable:
    """Let any signed-in user through."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        current_user()
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    """Let only admins through."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user().role != "admin":
            raise Forbidden("Only an admin may do this.")
        return view(*args, **kwargs)

    return wrapper
