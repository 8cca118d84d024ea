"""Logging in: failed attempts counted per username and per client address, in the database so
that every API process sees them; past a limit, attempts are refused until the window passes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import DomainError, Unauthorized
from ..models import LoginFailure, User, utcnow
from . import users

USER, ADDRESS = "user", "address"  # the two scopes failures are counted in
KEY_MAX = 255  # characters of a counted key (LoginFailure.key)


class Throttled(DomainError):
    """Too many failed logins for the username or from the address: wait `retry_after` seconds."""

    status, code = 429, "too_many_requests"

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed logins; try again in {retry_after} seconds.")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers that tell the client when to try again."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class LoginLimits:
    """How many failures a username and an address may have within the window (0: no limit)."""

    per_user: int
    per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Any) -> LoginLimits:
        """Read the limits from the service's settings."""
        return cls(config.login_failures_per_user, config.login_failures_per_address, timedelta(seconds=config.login_window_s))


def log_in(session: Session, username: str, password: str, address: str, limits: LoginLimits) -> User:
    """Return the user these credentials name; raise Throttled, or Unauthorized once the failure is counted (flushed, for the caller to commit)."""
    now, name_key, address_key = utcnow(), username[:KEY_MAX], address[:KEY_MAX]
    # Refused before the password is checked, so that even the right one waits for the window.
    wait = max(
        _wait(session, USER, name_key, limits.per_user, limits.window, now),
        _wait(session, ADDRESS, address_key, limits.per_address, limits.window, now),
    )
    if wait:
        raise Throttled(wait)
    try:
        user = users.authenticate(session, username, password)
    except Unauthorized:
        _count_failure(session, name_key, address_key, now, limits.window)
        raise
    session.execute(delete(LoginFailure).where(LoginFailure.scope == USER, LoginFailure.key == name_key))
    return user


def _wait(session: Session, scope: str, key: str, limit: int, window: timedelta, now: datetime) -> int:
    """Return the seconds before this key may try again: 0 unless `limit` failures lie within the window."""
    if limit <= 0:
        return 0
    recent = session.scalars(
        select(LoginFailure.failed_at)
        .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.failed_at > now - window)
        .order_by(LoginFailure.failed_at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return 0
    # Attempts open again when the limit-th most recent failure leaves the window.
    return max(1, math.ceil((recent[-1] + window - now).total_seconds()))


def _count_failure(session: Session, name_key: str, address_key: str, now: datetime, window: timedelta) -> None:
    """Record a failed login for its username and its address; forget failures older than the window."""
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - window))
    session.add_all([
        LoginFailure(scope=USER, key=name_key, failed_at=now),
        LoginFailure(scope=ADDRESS, key=address_key, failed_at=now),
    ])
    session.flush()
