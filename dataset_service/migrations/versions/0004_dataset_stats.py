"""dataset_stats: per-dataset sample totals kept by statement-level triggers (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# One upsert per statement, from the rows the statement changed (transition tables), so a bulk
# insert of a thousand samples costs one update of the counter row, not a thousand.
UPSERT = """
    INSERT INTO dataset_stats (dataset_id, total, labeled)
    SELECT dataset_id, sum(d_total), sum(d_labeled) FROM ({delta}) AS d GROUP BY dataset_id
    HAVING sum(d_total) <> 0 OR sum(d_labeled) <> 0
    ON CONFLICT (dataset_id) DO UPDATE
    SET total = dataset_stats.total + EXCLUDED.total, labeled = dataset_stats.labeled + EXCLUDED.labeled
"""
DELTAS = {
    "insert": ("NEW TABLE AS changed", "SELECT dataset_id, 1 AS d_total, labeled::int AS d_labeled FROM changed"),
    "delete": ("OLD TABLE AS changed", "SELECT dataset_id, -1 AS d_total, -(labeled::int) AS d_labeled FROM changed"),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT n.dataset_id, 0 AS d_total, n.labeled::int - o.labeled::int AS d_labeled "
        "FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.labeled IS DISTINCT FROM o.labeled",
    ),
}


def upgrade() -> None:
    op.create_table(
        "dataset_stats",
        sa.Column("dataset_id", ID, autoincrement=False, nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("labeled", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite counts with a scan; it is not the store for millions of samples
    op.execute(
        "INSERT INTO dataset_stats (dataset_id, total, labeled) "
        "SELECT dataset_id, count(*), count(*) FILTER (WHERE labeled) FROM samples GROUP BY dataset_id"
    )
    for event, (referencing, delta) in DELTAS.items():
        op.execute(
            f"CREATE FUNCTION samples_stats_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {UPSERT.format(delta=delta)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER samples_stats_{event} AFTER {event.upper()} ON samples "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION samples_stats_{event}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in DELTAS:
            op.execute(f"DROP TRIGGER IF EXISTS samples_stats_{event} ON samples")
            op.execute(f"DROP FUNCTION IF EXISTS samples_stats_{event}()")
    op.drop_table("dataset_stats")
