"""dataset_versions.is_current (one per dataset), autosave, current_job_id: "set as current"

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("dataset_versions", sa.Column("is_current", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("dataset_versions", sa.Column("autosave", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("dataset_versions", sa.Column("current_job_id", ID, nullable=True))
    # The newest finished version of each dataset is its current one, as a publish now makes it.
    op.execute(
        "UPDATE dataset_versions SET is_current = (id IN (SELECT max(id) FROM dataset_versions WHERE state = 'normal' GROUP BY dataset_id))"
    )
    op.create_index(
        "ux_dataset_versions_current", "dataset_versions", ["dataset_id"], unique=True,
        sqlite_where=sa.text("is_current"), postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    op.drop_index("ux_dataset_versions_current", table_name="dataset_versions")
    for column in ("current_job_id", "autosave", "is_current"):
        op.drop_column("dataset_versions", column)  # SQLite >= 3.35 drops a column in place
