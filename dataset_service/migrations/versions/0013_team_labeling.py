"""Team labeling: dataset members and roles, assignment and review on samples, revisions, acceptance

Existing datasets keep working as before for the users they had: every existing non-admin user
becomes a labeler of every existing dataset (admins need no membership).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dataset_members",
        sa.Column("dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "user_id"),
    )
    op.create_index("ix_dataset_members_user", "dataset_members", ["user_id", "dataset_id"])
    op.execute(
        "INSERT INTO dataset_members (dataset_id, user_id, role, added_at) "
        "SELECT d.id, u.id, 'labeler', CURRENT_TIMESTAMP FROM datasets d CROSS JOIN users u WHERE u.role <> 'admin'"
    )
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("review_rating", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("reviewed_by_id", ID, sa.ForeignKey("users.id", name="fk_samples_reviewed_by", ondelete="SET NULL"), nullable=True))
        batch.add_column(sa.Column("reviewed_at", WHEN, nullable=True))
        batch.add_column(sa.Column("submitted_at", WHEN, nullable=True))
    op.create_index("ix_samples_dataset_review", "samples", ["dataset_id", "review_state", "id"])
    op.create_table(
        "sample_assignments",
        sa.Column("sample_id", ID, sa.ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dataset_id", ID, nullable=False),  # no foreign keys but the sample's: see models.SampleAssignment
        sa.Column("user_id", ID, nullable=False),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.Column("open", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_index("ix_sample_assignments_user", "sample_assignments", ["dataset_id", "user_id", "open", "sample_id"])
    op.create_table(
        "sample_revisions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("sample_id", ID, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("saved_by_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("saved_at", WHEN, nullable=False),
        sa.Column("tool", sa.String(length=16), nullable=False),
        sa.Column("replaced_revision", sa.Integer(), nullable=True),
        sa.Column("replaced_by_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.UniqueConstraint("sample_id", "revision"),
    )
    op.create_table(
        "acceptances",
        sa.Column("id", ID, primary_key=True),
        sa.Column("dataset_id", ID, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("pool", sa.Integer(), nullable=False),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_by_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
    )
    op.create_index("ix_acceptances_dataset", "acceptances", ["dataset_id", "id"])
    op.create_table(
        "acceptance_samples",
        sa.Column("acceptance_id", ID, sa.ForeignKey("acceptances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sample_id", ID, sa.ForeignKey("samples.id", ondelete="CASCADE"), nullable=False),
        sa.Column("labeler_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("rating", sa.String(length=1), nullable=True),
        sa.Column("verdict", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("checked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("acceptance_id", "sample_id"),
    )


def downgrade() -> None:
    op.drop_table("acceptance_samples")
    op.drop_index("ix_acceptances_dataset", table_name="acceptances")
    op.drop_table("acceptances")
    op.drop_table("sample_revisions")
    op.drop_index("ix_sample_assignments_user", table_name="sample_assignments")
    op.drop_table("sample_assignments")
    op.drop_index("ix_samples_dataset_review", table_name="samples")
    with op.batch_alter_table("samples") as batch:
        for column in ("submitted_at", "reviewed_at", "reviewed_by_id", "review_rating", "review_reason", "review_state"):
            batch.drop_column(column)
    op.drop_index("ix_dataset_members_user", table_name="dataset_members")
    op.drop_table("dataset_members")
