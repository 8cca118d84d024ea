"""one active job of a kind per dataset

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_index('ux_jobs_active', 'jobs', ['dataset_id', 'kind'], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index('ux_jobs_active', table_name='jobs', sqlite_where=ACTIVE, postgresql_where=ACTIVE)
