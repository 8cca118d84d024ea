"""sync_listed: the keys a running sync has listed, for an order-independent comparison

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sync_listed",
        sa.Column("job_id", ID, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("etag", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Scratch rows, written for every listed key: no WAL for them.
        op.execute("ALTER TABLE sync_listed SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("sync_listed")
