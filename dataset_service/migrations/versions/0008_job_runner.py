"""jobs.runner: the process that claimed a job, so its host can fail the job as soon as that process is gone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("runner", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "runner")
