"""Who is calling: logging in, bearer tokens for the API and the session cookie for pages (what
they may do is `access`).

Tokens and page sessions carry the user's id and session generation; either stops working when the
user is gone, deactivated, or its generation changed (new password, logout, revocation).
"""
from __future__ import annotations

import time
from functools import wraps
from typing import Any, Callable

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .db_session import commit, db
from .errors import Unauthorized
from .models import User
from .services import logins


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user: User) -> str:
    """Sign a token naming the user and its session generation."""
    return _serializer().dumps(_claims(user))


def _claims(user: User) -> dict[str, int]:
    return {"uid": user.id, "gen": user.session_generation}


def _live_user(claims: Any) -> User | None:
    """Return the user a token or session names, if it is still active and in the same generation."""
    if not isinstance(claims, dict) or not isinstance(claims.get("uid"), int) or not isinstance(claims.get("gen"), int):
        return None  # also tokens and cookies made before generations existed
    user = db().get(User, claims["uid"])
    if user is None or not user.active or user.session_generation != claims["gen"]:
        return None
    return user


def user_from_token(token: str) -> User:
    """Return the user a token names, or raise Unauthorized."""
    max_age = current_app.config["SERVICE"].token_max_age_s
    try:
        claims = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("The token has expired; ask for a new one.") from None
    except BadSignature:
        raise Unauthorized("The token is not valid.") from None
    user = _live_user(claims)
    if user is None:
        raise Unauthorized("The token is no longer valid (revoked, or its user changed); ask for a new one.")
    return user


def log_in(username: str, password: str) -> User:
    """Check credentials from this request's client; commit the outcome either way (a failure counts although the answer is an error)."""
    limits = logins.LoginLimits.from_config(current_app.config["SERVICE"])
    try:
        user = logins.log_in(db(), username, password, client_address(), limits)
    except Unauthorized:
        commit()
        raise
    commit()
    return user


def client_address() -> str:
    """Return the caller's address (the one trusted proxies forwarded, see TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def start_session(user: User) -> None:
    """Begin a fresh page session for the user (a new cookie, bound to its session generation)."""
    session.clear()
    session.update(session_claims(user))
    session.permanent = True


def session_claims(user: User) -> dict[str, int]:
    """Return what a page session carries: the user, its generation and when the session began."""
    return {**_claims(user), "since": int(time.time())}


def _session_user() -> User | None:
    """Return the page session's user; a session that ended (expired, or its generation changed) is cleared."""
    if session.get("uid") is None:
        return None
    since = session.get("since")
    lifetime = current_app.config["SERVICE"].session_lifetime_s
    # The lifetime counts from logging in: the cookie's own age restarts whenever it is re-sent.
    user = _live_user(dict(session)) if isinstance(since, int) and time.time() - since < lifetime else None
    if user is None:
        session.clear()
    return user


def current_user() -> User:
    """Return the caller, from the bearer token or the page session; raise Unauthorized."""
    if "user" in g:
        return g.user
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.user = user_from_token(header.removeprefix("Bearer ").strip())
    elif (user := _session_user()) is not None:
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


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, the cookie marked Secure whenever the page came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        # Known per request: directly, or from X-Forwarded-Proto when TRUSTED_PROXIES says so.
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure
