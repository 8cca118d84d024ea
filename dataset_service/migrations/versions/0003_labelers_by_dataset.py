"""sample_labelers carry their dataset, so "labeled by" counts come from that table alone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample_labelers") as batch:
        batch.add_column(sa.Column("dataset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
    op.execute("UPDATE sample_labelers SET dataset_id = (SELECT samples.dataset_id FROM samples WHERE samples.id = sample_labelers.sample_id)")
    with op.batch_alter_table("sample_labelers") as batch:
        batch.alter_column("dataset_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)
        batch.create_foreign_key("fk_sample_labelers_dataset", "datasets", ["dataset_id"], ["id"], ondelete="CASCADE")
        batch.drop_index("ix_sample_labelers_user")
        batch.create_index("ix_sample_labelers_dataset_user", ["dataset_id", "user_id", "sample_id"])


def downgrade() -> None:
    with op.batch_alter_table("sample_labelers") as batch:
        batch.drop_index("ix_sample_labelers_dataset_user")
        batch.create_index("ix_sample_labelers_user", ["user_id", "sample_id"])
        batch.drop_constraint("fk_sample_labelers_dataset", type_="foreignkey")
        batch.drop_column("dataset_id")
