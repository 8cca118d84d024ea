"""Accounts in the pages: logging in and out with the session cookie, and the admins' users page
(create users, set their passwords, deactivate, reactivate and unlock them)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from ..access import admin_required
from ..auth import current_user, log_in, start_session
from ..db_session import commit, db
from ..errors import DomainError, Unauthorized, form_errors
from ..models import User
from ..passwords import PASSWORD_MIN
from ..schemas import UserCreate, UserUpdate
from ..services import logins, users
from ..services.logins import Throttled
from .forms import LoginForm

blp = Blueprint("accounts", __name__)


@blp.app_context_processor
def viewer_context() -> dict:
    """Give every template the signed-in user, or None."""
    return {"viewer": viewer()}


def viewer() -> User | None:
    """Return the signed-in user without failing when there is none."""
    if "user" in g:
        return g.user
    try:
        return current_user()
    except Unauthorized:
        return None


def safe_next(target: str | None) -> str:
    """Return a local path to go to after logging in; anything else goes to the start page."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("datasets.index")
    return target


@blp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on good credentials start a fresh session."""
    form = LoginForm()
    error, status, headers = None, 200, {}
    if form.validate_on_submit():
        try:
            user = log_in(form.username.data, form.password.data)
        except Throttled as exc:
            error, status, headers = exc.message, exc.status, exc.headers
        except Unauthorized as exc:
            error, status = exc.message, exc.status
        else:
            start_session(user)
            return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", form=form, error=error, next=request.args.get("next", "")), status, headers


@blp.post("/logout")
def logout():
    """End the session, on the server too: every session and token of the user stops working."""
    if (user := viewer()) is not None:
        users.end_sessions(db(), user)
        commit()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("accounts.login"))


@blp.get("/users")
@admin_required
def user_list():
    """List every user with its role, state and lock, and the forms that change them (admins only)."""
    return _users_page()


@blp.post("/users")
@admin_required
def create_user():
    """Create a user from the page's form, with the API's schema and rules."""
    entered = {name: request.form.get(name, "") for name in ("username", "password", "role")}
    try:
        data = UserCreate().load(entered)
        user = users.create_user(db(), data["username"], data["password"], data["role"])
    except (ValidationError, DomainError) as exc:
        return _users_page(_status(exc), create_errors=form_errors(exc), entered=entered)
    commit()
    flash(f"Created {user.role} '{user.username}'.")
    return redirect(url_for("accounts.user_list"), 303)


@blp.post("/users/<int:user_id>/password")
@admin_required
def set_password(user_id: int):
    """Give a user a new password; their tokens and sessions end."""
    return _change(user_id, {"password": request.form.get("password", "")}, "Set a new password for '{}'; their sessions ended.")


@blp.post("/users/<int:user_id>/active")
@admin_required
def set_active(user_id: int):
    """Deactivate a user (their tokens and sessions end at once) or reactivate one."""
    active = request.form.get("active", "")
    message = "Reactivated '{}'." if active == "true" else "Deactivated '{}': they cannot log in, and their sessions ended."
    return _change(user_id, {"active": active}, message)


@blp.post("/users/<int:user_id>/unlock")
@admin_required
def unlock(user_id: int):
    """Let a user locked out by failed logins try again at once."""
    user = logins.unlock_user(db(), user_id)
    commit()
    flash(f"Unlocked '{user.username}': they may log in again now.")
    return redirect(url_for("accounts.user_list"), 303)


def _change(user_id: int, entered: dict[str, str], done: str):
    """Apply one change of a user through the API's schema and service; say how it went."""
    try:
        user = users.update_user(db(), user_id, current_user(), **UserUpdate().load(entered))
    except ValidationError as exc:
        return _users_page(422, row_id=user_id, row_errors=form_errors(exc))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _users_page(exc.status, row_id=user_id, row_errors=form_errors(exc))
    commit()
    flash(done.format(user.username))
    return redirect(url_for("accounts.user_list"), 303)


def _status(exc: ValidationError | DomainError) -> int:
    return exc.status if isinstance(exc, DomainError) else 422


def _users_page(status: int = 200, **context: Any):
    context.setdefault("entered", {"role": "labeler"})
    page = render_template(
        "accounts/users.html", items=users.list_users(db()), locked=logins.locked_users(db()),
        roles=users.ROLES, password_min=PASSWORD_MIN, **{"create_errors": {}, "row_id": None, "row_errors": {}, **context},
    )
    return page, status
