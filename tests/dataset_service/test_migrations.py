"""The migrations build exactly the schema the models declare."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from dataset_service.db import make_engine
from dataset_service.migrate import alembic_config, upgrade


def test_models_match_migrations(database_url):
    command.check(alembic_config(database_url))


def test_sqlite_users_keep_their_rows_and_never_reuse_an_id(tmp_path):
    """0007 rebuilds SQLite's users table with AUTOINCREMENT: rows and references to them survive."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, username, password_hash, role, created_at) VALUES "
            "(1, 'ann', 'h', 'admin', '2026-01-01'), (2, 'bob', 'h', 'labeler', '2026-01-01')"
        ))
        connection.execute(text(
            "INSERT INTO datasets (id, name, description, input_path, output_path, created_by_id, created_at, updated_at) "
            "VALUES (1, 'd', '', 's3://b/in/', 's3://b/out/', 2, '2026-01-01', '2026-01-01')"
        ))
    upgrade(url)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT id, username, active FROM users ORDER BY id")).all() == [(1, "ann", 1), (2, "bob", 1)]
        assert connection.execute(text("SELECT created_by_id FROM datasets")).scalar() == 2
        connection.execute(text("DELETE FROM users WHERE id = 2"))
        assert connection.execute(text("SELECT created_by_id FROM datasets")).scalar() is None  # the reference still acts
        connection.execute(text("INSERT INTO users (username, password_hash, role, created_at) VALUES ('cid', 'h', 'labeler', '2026-01-01')"))
        assert connection.execute(text("SELECT id FROM users WHERE username = 'cid'")).scalar() == 3
    engine.dispose()
