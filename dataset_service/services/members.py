"""A dataset's team: its members and their roles. Who may do what with a role is `access.RULES`."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Invalid, NotFound
from ..models import DATASET_ROLES, DatasetMember, SampleAssignment, User, utcnow
from .users import find_user_id


def list_members(session: Session, dataset_id: int) -> list[DatasetMember]:
    """Return the dataset's members by role (owners first), then name."""
    order = {role: i for i, role in enumerate(DATASET_ROLES)}
    rows = session.scalars(select(DatasetMember).join(User).where(DatasetMember.dataset_id == dataset_id).order_by(User.username))
    return sorted(rows, key=lambda m: order.get(m.role, len(order)))


def get_member(session: Session, dataset_id: int, user_id: int) -> DatasetMember:
    member = session.get(DatasetMember, (dataset_id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of dataset {dataset_id}.")
    return member


def add_member(session: Session, dataset_id: int, username: str, role: str) -> DatasetMember:
    """Add a user to the dataset with a role, or change the role of one who is already in it."""
    _check_role(role)
    user_id = find_user_id(session, username)
    if user_id is None:
        raise Invalid(f"username: no user is named '{username}'.", {"username": ["unknown user"]})
    member = session.get(DatasetMember, (dataset_id, user_id))
    if member is None:
        member = DatasetMember(dataset_id=dataset_id, user_id=user_id, role=role, added_at=utcnow())
        session.add(member)
    else:
        _keep_an_owner(session, member, role)
        member.role = role
    session.flush()
    return member


def change_role(session: Session, member: DatasetMember, role: str) -> DatasetMember:
    _check_role(role)
    _keep_an_owner(session, member, role)
    member.role = role
    session.flush()
    return member


def remove_member(session: Session, member: DatasetMember) -> int:
    """Remove a member; the samples given to them whose work is still open go back to the pool.
    Return how many went back."""
    _keep_an_owner(session, member, None)
    returned = session.execute(
        delete(SampleAssignment)
        .where(SampleAssignment.dataset_id == member.dataset_id, SampleAssignment.user_id == member.user_id, SampleAssignment.open.is_(True))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.delete(member)
    session.flush()
    return returned


def _check_role(role: str) -> None:
    if role not in DATASET_ROLES:
        raise Invalid(f"role: must be one of {', '.join(DATASET_ROLES)}.", {"role": ["unknown role"]})


def _keep_an_owner(session: Session, member: DatasetMember, new_role: str | None) -> None:
    """A dataset that has owners keeps at least one: the last owner cannot leave or step down."""
    if member.role != "owner" or new_role == "owner":
        return
    owners = session.scalar(select(func.count()).select_from(DatasetMember).where(
        DatasetMember.dataset_id == member.dataset_id, DatasetMember.role == "owner")) or 0
    if owners <= 1:
        raise Conflict("This is the dataset's last owner: make someone else owner first.", {"role": ["the last owner"]})
