"""Users: creation, lookup and password checks."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import ROLES
from ..errors import Conflict, Invalid, NotFound, Unauthorized
from ..models import User
from ..passwords import hash_password, verify_password


def create_user(session: Session, username: str, password: str, role: str = "labeler") -> User:
    """Create a user with a hashed password."""
    if role not in ROLES:
        raise Invalid(f"Role must be one of {', '.join(ROLES)}.", {"role": ["unknown role"]})
    if len(password) < 8:
        raise Invalid("The password needs at least 8 characters.", {"password": ["too short"]})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User '{username}' already exists.", {"username": ["already exists"]})
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Change a user's password."""
    user.password_hash = hash_password(password)
    session.flush()


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the user whose credentials these are, or raise Unauthorized."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not verify_password(user.password_hash, password):
        raise Unauthorized("Wrong username or password.")
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
    session.delete(user)
    session.flush()
