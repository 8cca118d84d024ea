"""user sessions: ids never reused (SQLite AUTOINCREMENT), users.active, users.session_generation,
login_failures for login throttling

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _refuse_sqlite_foreign_keys()
    # On SQLite the table is rebuilt to gain AUTOINCREMENT (the copy keeps every id, and SQLite's
    # sequence starts above the highest); PostgreSQL's sequences never reuse ids and only gain columns.
    with op.batch_alter_table(
        "users", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.create_table(
        "login_failures",
        sa.Column("id", Id, nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_key", "login_failures", ["scope", "key", "failed_at"], unique=False)
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"], unique=False)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _refuse_sqlite_foreign_keys()
    op.drop_index("ix_login_failures_failed_at", table_name="login_failures")
    op.drop_index("ix_login_failures_key", table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table(
        "users", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": False}
    ) as batch:
        batch.drop_column("session_generation")
        batch.drop_column("active")


def _refuse_sqlite_foreign_keys() -> None:
    """Stop rather than rebuild `users` with foreign keys enforced: dropping the old table would
    then cascade to every row that refers to a user (and PRAGMA cannot turn them off in a transaction)."""
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("migration 0007 rebuilds the users table: run it with SQLite's foreign keys off")
