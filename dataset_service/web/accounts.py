"""Logging in and out of the pages with the session cookie."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from ..auth import current_user
from ..db_session import db
from ..errors import Unauthorized
from ..models import User
from ..services import users
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
    error = None
    if form.validate_on_submit():
        try:
            user = users.authenticate(db(), form.username.data, form.password.data)
        except Unauthorized as exc:
            error = exc.message
        else:
            session.clear()  # a new session id for the new identity
            session["uid"] = user.id
            session.permanent = True
            return redirect(safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error, next=request.args.get("next", "")), status


@blp.post("/logout")
def logout():
    """End the session."""
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("accounts.login"))
