"""Team filters from the assignments alone: each assignment carries its sample's review state, and
dataset_stats counts the dataset's assigned samples (statement-level triggers, PostgreSQL)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 13:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# As 0004's counters: one upsert per statement from its transition table, so handing out a million
# samples in one INSERT ... SELECT (or deleting a dataset's samples, which deletes their assignments
# in cascade: PostgreSQL hands the trigger all the cascade's rows at once) moves the counter once.
# An assignment's dataset_id never changes (a reassignment changes its user), so UPDATE needs none.
UPSERT = """
    INSERT INTO dataset_stats (dataset_id, total, labeled, assigned)
    SELECT dataset_id, 0, 0, {sign} count(*) FROM changed GROUP BY dataset_id
    ON CONFLICT (dataset_id) DO UPDATE SET assigned = dataset_stats.assigned + EXCLUDED.assigned
"""
EVENTS = {"insert": ("NEW TABLE AS changed", ""), "delete": ("OLD TABLE AS changed", "-")}


def upgrade() -> None:
    with op.batch_alter_table("sample_assignments") as batch:
        batch.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
    op.execute("UPDATE sample_assignments SET review_state = "
               "(SELECT samples.review_state FROM samples WHERE samples.id = sample_assignments.sample_id)")
    # The state rides in the labeler's index (not a key column: the queue walks it in sample order),
    # so that "assigned to X and submitted" is counted from the index alone.
    op.drop_index("ix_sample_assignments_user", table_name="sample_assignments")
    op.create_index("ix_sample_assignments_user", "sample_assignments", ["dataset_id", "user_id", "open", "sample_id"],
                    postgresql_include=["review_state"])
    with op.batch_alter_table("dataset_stats") as batch:
        batch.add_column(sa.Column("assigned", sa.BigInteger(), server_default="0", nullable=False))
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite counts with a scan, as for its totals
    op.execute(
        "UPDATE dataset_stats SET assigned = c.n FROM "
        "(SELECT dataset_id, count(*) AS n FROM sample_assignments GROUP BY dataset_id) AS c WHERE c.dataset_id = dataset_stats.dataset_id"
    )
    for event, (referencing, sign) in EVENTS.items():
        op.execute(
            f"CREATE FUNCTION sample_assignments_stats_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {UPSERT.format(sign=sign)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER sample_assignments_stats_{event} AFTER {event.upper()} ON sample_assignments "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION sample_assignments_stats_{event}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS sample_assignments_stats_{event} ON sample_assignments")
            op.execute(f"DROP FUNCTION IF EXISTS sample_assignments_stats_{event}()")
    with op.batch_alter_table("dataset_stats") as batch:
        batch.drop_column("assigned")
    op.drop_index("ix_sample_assignments_user", table_name="sample_assignments")
    op.create_index("ix_sample_assignments_user", "sample_assignments", ["dataset_id", "user_id", "open", "sample_id"])
    with op.batch_alter_table("sample_assignments") as batch:
        batch.drop_column("review_state")
