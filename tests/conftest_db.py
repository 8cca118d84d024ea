"""Databases for the tests: SQLite always; PostgreSQL when reachable (required under CI=true)."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, create_engine, event, text

from dataset_service.db import Base
from dataset_service.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means unreachable
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a database for this test run on the machine's PostgreSQL and drop it at the end."""
    problem = postgres_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required under CI and not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"ds_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    """Create a migrated SQLite database file for this test run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Run the module's tests once per database backend (by module, so seed data can be shared)."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param])


def wipe(url: str) -> None:
    """Delete every row, keeping the schema (after tests whose work had to be committed)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside a transaction that is rolled back at the end.

    Sessions bound to it with `join_transaction_mode="create_savepoint"` commit into savepoints,
    so a test sees its own work and leaves nothing behind. pysqlite opens transactions late and
    commits around SAVEPOINTs by itself; as SQLAlchemy's SQLite notes say, it is told to leave
    transactions to SQLAlchemy, which then begins them explicitly.
    """
    if engine.dialect.name == "sqlite":
        engine.dispose()  # new connections get the listeners below
        event.listen(engine, "connect", _sqlite_no_implicit_transactions)
        event.listen(engine, "begin", _sqlite_begin)
    connection = engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


def _sqlite_no_implicit_transactions(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")
