"""Logging in and out of the pages with the session cookie."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from ..auth import current_user, log_in, start_session
from ..db_session import commit, db
from ..errors import Unauthorized
from ..models import User
from ..services import users
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
