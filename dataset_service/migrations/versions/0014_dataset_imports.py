"""dataset_imports: ModelArts manifests imported into a dataset, each by its job

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dataset_imports",
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, nullable=False),
        sa.Column("manifest_uri", sa.String(length=1024), nullable=False),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dataset_imports_dataset", "dataset_imports", ["dataset_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dataset_imports_dataset", table_name="dataset_imports")
    op.drop_table("dataset_imports")
