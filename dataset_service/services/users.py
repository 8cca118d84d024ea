"""Users: creation, the username and password rules, password checks, deactivation and the end of sessions."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Invalid, NotFound, Unauthorized
from ..models import GENERATION_MODULUS, NAME_MAX, SampleAssignment, User
from ..passwords import dummy_hash, hash_password, password_problem, verify_password

ROLES = ("admin", "labeler")
USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


def username_problem(username: str) -> str | None:
    """Return why a name may not be a username, or None when it may (names are taken as given, never stripped)."""
    if not username:
        return "must not be empty"
    if len(username) > NAME_MAX:
        return f"use at most {NAME_MAX} characters"
    if username != username.strip():
        return "must not start or end with whitespace"
    if any(unicodedata.category(c).startswith("C") for c in username):
        return "must not contain control characters"
    if not USERNAME_RE.fullmatch(username):
        return "use only letters, digits, '.', '_' or '-'"
    return None


def check_username(username: str) -> None:
    """Raise Invalid naming `username` when the name breaks the username rule."""
    if (problem := username_problem(username)) is not None:
        raise Invalid(f"The username {problem}.", {"username": [problem]})


def check_password(password: str, username: str) -> None:
    """Raise Invalid naming `password` when the password breaks the policy for this user."""
    if (problem := password_problem(password, username)) is not None:
        raise Invalid(f"The password cannot be used: {problem}.", {"password": [problem]})


def create_user(session: Session, username: str, password: str, role: str = "labeler") -> User:
    """Create a user with a hashed password."""
    if role not in ROLES:
        raise Invalid(f"Role must be one of {', '.join(ROLES)}.", {"role": ["unknown role"]})
    check_username(username)
    check_password(password, username)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User '{username}' already exists.", {"username": ["already exists"]})
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Change a user's password; when it really changes, their tokens and sessions end."""
    check_password(password, user.username)
    # Setting the same password again (`make run` does at each start) leaves the user logged in.
    if verify_password(user.password_hash, password):
        return
    user.password_hash = hash_password(password)
    end_sessions(session, user)


def set_active(session: Session, user: User, active: bool, acting: User) -> None:
    """Activate or deactivate a user; a deactivated user's tokens and sessions end."""
    if not active and user.id == acting.id:
        raise Conflict("You cannot deactivate yourself.", {"active": ["you cannot deactivate yourself"]})
    if user.active and not active:
        end_sessions(session, user)
    user.active = active
    session.flush()


def update_user(session: Session, user_id: int, acting: User, active: bool | None = None, password: str | None = None) -> User:
    """Change what an admin may change of a user: whether it is active, its password."""
    user = get_user(session, user_id)
    if password is not None:
        set_password(session, user, password)
    if active is not None:
        set_active(session, user, active, acting)
    return user


def end_sessions(session: Session, user: User) -> None:
    """End every token and page session of the user (they carry the generation this changes)."""
    user.session_generation = (user.session_generation + 1) % GENERATION_MODULUS
    session.flush()


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the active user whose credentials these are, or raise Unauthorized."""
    user = session.scalar(select(User).where(User.username == username))
    # An unknown name is checked against a dummy hash, so the answer takes as long as for a known
    # one and its time does not tell which names exist.
    matches = verify_password(user.password_hash if user is not None else dummy_hash(), password)
    if user is None or not matches:
        raise Unauthorized("Wrong username or password.")
    if not user.active:
        raise Unauthorized("This account is deactivated; ask an admin.")
    return user


def get_user(session: Session, user_id: int) -> User:
    """Return a user by id."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def find_user_id(session: Session, username: str) -> int | None:
    """Return the id of the user with this name, if any."""
    return session.scalar(select(User.id).where(User.username == username))


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def delete_user(session: Session, user_id: int, acting: User) -> None:
    """Delete a user (their labels keep their work, unattributed)."""
    user = get_user(session, user_id)
    if user.id == acting.id:
        raise Conflict("You cannot delete yourself.")
    # Their assignments go back to the pool (the table has no foreign key to users: see SampleAssignment).
    session.execute(delete(SampleAssignment).where(SampleAssignment.user_id == user.id))
    session.delete(user)
    session.flush()
