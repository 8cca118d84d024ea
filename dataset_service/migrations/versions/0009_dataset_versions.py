"""dataset versions: the version rows, their snapshot of samples and objects, and their exports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("train_ratio", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("input_path", sa.String(length=1024), nullable=False),
        sa.Column("folder_uri", sa.String(length=1024), nullable=False),
        sa.Column("manifest_uri", sa.String(length=1024), nullable=False),
        sa.Column("previous_id", ID, nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("sample_count", sa.BigInteger(), nullable=False),
        sa.Column("labeled_count", sa.BigInteger(), nullable=False),
        sa.Column("object_count", sa.BigInteger(), nullable=False),
        sa.Column("label_stats", sa.JSON(), nullable=False),
        sa.Column("added_count", sa.BigInteger(), nullable=False),
        sa.Column("modified_count", sa.BigInteger(), nullable=False),
        sa.Column("deleted_count", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["previous_id"], ["dataset_versions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "name"),
    )
    op.create_index("ix_dataset_versions_dataset", "dataset_versions", ["dataset_id", "id"], unique=False)
    op.create_table(
        "version_samples",
        sa.Column("version_id", ID, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("sample_id", ID, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=128), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labeled", sa.Boolean(), nullable=False),
        sa.Column("labeled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("saved_by_id", ID, nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("xml_etag", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["dataset_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "key"),
    )
    op.create_index("ux_version_samples_sample", "version_samples", ["version_id", "sample_id"], unique=True)
    op.create_table(
        "version_objects",
        sa.Column("version_id", ID, nullable=False),
        sa.Column("sample_id", ID, autoincrement=False, nullable=False),
        sa.Column("object_id", ID, autoincrement=False, nullable=False),
        sa.Column("label_id", ID, nullable=False),
        sa.Column("shape", sa.String(length=16), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", ID, nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["dataset_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "sample_id", "object_id"),
    )
    op.create_table(
        "version_exports",
        sa.Column("id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("folder_uri", sa.String(length=1024), nullable=False),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["version_id"], ["dataset_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_version_exports_version", "version_exports", ["version_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_version_exports_version", table_name="version_exports")
    op.drop_table("version_exports")
    op.drop_table("version_objects")
    op.drop_index("ux_version_samples_sample", table_name="version_samples")
    op.drop_table("version_samples")
    op.drop_index("ix_dataset_versions_dataset", table_name="dataset_versions")
    op.drop_table("dataset_versions")
