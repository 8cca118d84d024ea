"""The migrations build exactly the schema the models declare."""
from __future__ import annotations

from alembic import command

from dataset_service.migrate import alembic_config


def test_models_match_migrations(database_url):
    command.check(alembic_config(database_url))
