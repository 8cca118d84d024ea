"""Logging in: failed attempts counted per username and per client address, in the database so
that every API process sees them. A name or an address with too many failures in the window is
locked: for the window's length the first time, twice as long each time after within a day."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import DomainError, Unauthorized
from ..models import LoginFailure, LoginLock, User, utcnow
from . import users

USER, ADDRESS = "user", "address"  # the two scopes failures are counted in
KEY_MAX = 255  # characters of a counted key (LoginFailure.key)
LOCKS_REMEMBERED = timedelta(days=1)  # a lock that ended longer ago no longer lengthens the next one
MAX_DOUBLINGS = 16  # keeps the growing length a sane number before the cap applies


class Throttled(DomainError):
    """Too many failed logins for the username or from the address: wait `retry_after` seconds."""

    status, code = 429, "too_many_requests"

    def __init__(self, retry_after: int, now: datetime):
        until = now + timedelta(seconds=retry_after)
        super().__init__(f"Too many failed logins; try again in {in_words(retry_after)} (at {until:%H:%M} UTC).")
        self.retry_after, self.until = retry_after, until

    @property
    def headers(self) -> dict[str, str]:
        """Return the headers that tell the client when to try again."""
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True)
class LoginLimits:
    """How many failures a username and an address may have within the window (0: no limit), and
    the longest a lock grows."""

    per_user: int
    per_address: int
    window: timedelta
    lock_max: timedelta

    @classmethod
    def from_config(cls, config: Any) -> LoginLimits:
        """Read the limits from the service's settings."""
        return cls(
            config.login_failures_per_user, config.login_failures_per_address,
            timedelta(seconds=config.login_window_s), timedelta(seconds=config.login_lock_max_s),
        )


def log_in(session: Session, username: str, password: str, address: str, limits: LoginLimits) -> User:
    """Return the user these credentials name; raise Throttled, or Unauthorized once the failure is counted (flushed, for the caller to commit)."""
    now, keys = utcnow(), {USER: username[:KEY_MAX], ADDRESS: address[:KEY_MAX]}
    # Refused before the password is checked, so that even the right one waits for the lock to end.
    wait = max(_locked_for(session, scope, key, now) for scope, key in keys.items())
    if wait:
        raise Throttled(wait, now)
    try:
        user = users.authenticate(session, username, password)
    except Unauthorized:
        _count_failure(session, keys, limits, now)
        raise
    forget_user(session, username)
    return user


def forget_user(session: Session, username: str) -> None:
    """Clear a username's failures and locks (a login succeeded, or an admin unlocked it)."""
    for model in (LoginFailure, LoginLock):
        session.execute(delete(model).where(model.scope == USER, model.key == username[:KEY_MAX]))
    session.flush()


def unlock_user(session: Session, user_id: int) -> User:
    """Let a user try again at once (an admin vouches for them): their failures and locks are forgotten."""
    user = users.get_user(session, user_id)
    forget_user(session, user.username)
    return user


def locked_users(session: Session) -> dict[str, datetime]:
    """Return the usernames locked now, each with the time its lock ends."""
    rows = session.execute(
        select(LoginLock.key, func.max(LoginLock.locked_until))
        .where(LoginLock.scope == USER, LoginLock.locked_until > utcnow())
        .group_by(LoginLock.key)
    )
    return {key: until for key, until in rows}


def in_words(seconds: int) -> str:
    """Say a wait the way a person would: '40 seconds', '15 minutes', '2 hours 5 minutes'."""
    if seconds < 60:
        return _plural(seconds, "second")
    minutes = math.ceil(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(_plural(n, unit) for n, unit in ((hours, "hour"), (minutes, "minute")) if n)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _last_lock_end(session: Session, scope: str, key: str) -> datetime | None:
    return session.scalar(select(func.max(LoginLock.locked_until)).where(LoginLock.scope == scope, LoginLock.key == key))


def _locked_for(session: Session, scope: str, key: str, now: datetime) -> int:
    """Return the seconds before this key may try again (0: it may now)."""
    until = _last_lock_end(session, scope, key)
    if until is None or until <= now:
        return 0
    return max(1, math.ceil((until - now).total_seconds()))


def _count_failure(session: Session, keys: dict[str, str], limits: LoginLimits, now: datetime) -> None:
    """Record a failed login for its username and its address, locking either one past its limit;
    forget failures older than the window and locks too old to matter."""
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - limits.window))
    session.execute(delete(LoginLock).where(LoginLock.locked_until <= now - LOCKS_REMEMBERED))
    session.add_all([LoginFailure(scope=scope, key=key, failed_at=now) for scope, key in keys.items()])
    session.flush()
    for scope, limit in ((USER, limits.per_user), (ADDRESS, limits.per_address)):
        if limit > 0 and _recent_failures(session, scope, keys[scope], limits.window, now) >= limit:
            _lock(session, scope, keys[scope], limits, now)


def _recent_failures(session: Session, scope: str, key: str, window: timedelta, now: datetime) -> int:
    """Count the key's failures within the window since its last lock ended (a lock starts the count afresh)."""
    since = max(now - window, _last_lock_end(session, scope, key) or now - window)
    return session.scalar(
        select(func.count()).select_from(LoginFailure)
        .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.failed_at > since)
    ) or 0


def _lock(session: Session, scope: str, key: str, limits: LoginLimits, now: datetime) -> None:
    """Lock the key: for the window's length, doubled for each lock it had within the last day, at most `lock_max`."""
    earlier = session.scalar(
        select(func.count()).select_from(LoginLock)
        .where(LoginLock.scope == scope, LoginLock.key == key, LoginLock.locked_until > now - LOCKS_REMEMBERED)
    ) or 0
    length = min(limits.window * 2 ** min(earlier, MAX_DOUBLINGS), limits.lock_max)
    session.add(LoginLock(scope=scope, key=key, locked_until=now + length))
    session.flush()
