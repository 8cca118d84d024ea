"""Alembic environment: the URL comes from the caller's config, the metadata from our models."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dataset_service import models  # noqa: F401  (registers the tables)
from dataset_service.db import Base

config = context.config

# Made by hand in a migration (PostgreSQL only), not declared on the models.
UNMODELLED_INDEXES = {"ix_samples_key_trgm"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
