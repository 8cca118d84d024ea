"""login_locks: the locks a username or a client address got for failed logins, each one in a row
longer than the last

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_locks",
        sa.Column("id", Id, nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_locks_key", "login_locks", ["scope", "key", "locked_until"], unique=False)
    op.create_index("ix_login_locks_locked_until", "login_locks", ["locked_until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_locks_locked_until", table_name="login_locks")
    op.drop_index("ix_login_locks_key", table_name="login_locks")
    op.drop_table("login_locks")
