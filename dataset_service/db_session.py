"""The request's (or job's) session: opened on first use, committed once, rolled back on error."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session


def db() -> Session:
    """Return the session of the current request, opening it on first use."""
    if "db" not in g:
        g.db = current_app.extensions["db_sessionmaker"]()
    return g.db


def commit() -> None:
    """Commit the request's work: called once, by the view, after the service flushed."""
    db().commit()


def init_app(app: Flask) -> None:
    """Close (and roll back anything uncommitted) when the request ends."""

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db", None)
        if session is not None:
            if exc is not None or session.in_transaction():
                session.rollback()
            session.close()
