"""lossless objects: every shape as itself (circle radius), VOC attributes, properties, parts,
other shapes and kept elements per object; the XML's own fields, depth and import warning per
sample; the same columns in a version's snapshot

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 08:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def object_columns() -> list[sa.Column]:
    """The columns an object gains, in `annotation_objects` and in `version_objects` alike."""
    return [
        sa.Column("radius", sa.Float(), nullable=True),
        sa.Column("pose", sa.Text(), server_default="Unspecified", nullable=False),
        sa.Column("truncated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("occluded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("difficult", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=True),
        sa.Column("extra_shapes", sa.JSON(), nullable=True),
        sa.Column("extensions", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("annotation_objects") as batch:
        for column in object_columns():
            batch.add_column(column)
    with op.batch_alter_table("version_objects") as batch:
        for column in object_columns():
            batch.add_column(column)
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("xml_header", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("xml_warning", sa.Text(), nullable=True))
    with op.batch_alter_table("version_samples") as batch:
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("xml_header", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("version_samples") as batch:
        batch.drop_column("xml_header")
        batch.drop_column("depth")
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("xml_warning")
        batch.drop_column("xml_header")
        batch.drop_column("depth")
    for table in ("version_objects", "annotation_objects"):
        with op.batch_alter_table(table) as batch:
            for column in reversed(object_columns()):
                batch.drop_column(column.name)
