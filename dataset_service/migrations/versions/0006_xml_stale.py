"""samples.xml_stale: sibling XML files to rewrite after a label was renamed, recoloured or deleted

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("samples", sa.Column("xml_stale", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(
        "ix_samples_xml_stale", "samples", ["dataset_id", "id"], unique=False,
        sqlite_where=sa.text("xml_stale"), postgresql_where=sa.text("xml_stale"),
    )


def downgrade() -> None:
    op.drop_index("ix_samples_xml_stale", table_name="samples")
    op.drop_column("samples", "xml_stale")
