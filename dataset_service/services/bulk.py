"""Writing many sample rows at once: insert new ones, update by id, record listed keys.

Each helper takes rows as dicts (every row with the same columns), runs in the caller's
session and transaction, and picks the fastest statement the database offers: COPY and
unnest()ed arrays on PostgreSQL, executemany elsewhere.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Insert, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import Sample, SyncListed

samples = Sample.__table__
listed = SyncListed.__table__

# Array types of the sample columns `update_samples` can set, for PostgreSQL's unnest().
PG_ARRAYS = {
    "id": "bigint[]", "etag": "text[]", "size": "bigint[]", "created_at": "timestamptz[]", "width": "integer[]",
    "height": "integer[]", "error": "text[]", "xml_etag": "text[]", "labeled": "boolean[]", "labeled_at": "timestamptz[]",
    "revision": "integer[]", "depth": "integer[]", "xml_header": "json[]", "xml_warning": "text[]",
}
NEW_SAMPLE_COLUMNS = ("dataset_id", "key", "size", "etag", "created_at", "added_at", "labeled", "revision")


def update_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update samples by id, each row with the same columns, in bulk.

    PostgreSQL gets one statement over unnest()ed arrays: an executemany would be one statement
    per row, and the statement-level triggers on samples would fire for each.
    """
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:{name} AS {PG_ARRAYS[name]})" for name in ["id", *names])
        assignments = ", ".join(f"{name} = v.{name}" for name in names)
        statement = text(f"UPDATE samples SET {assignments} FROM unnest({arrays}) AS v(id, {', '.join(names)}) WHERE samples.id = v.id")
        session.execute(statement, {name: [pg_value(name, row[name]) for row in rows] for name in ["id", *names]})
        return
    session.execute(
        update(samples).where(samples.c.id == bindparam("_id")).values({name: bindparam("_" + name) for name in names}),
        [{"_" + name: value for name, value in row.items()} for row in rows],
    )


def pg_value(name: str, value: Any) -> Any:
    """Return a value as its PostgreSQL array holds it: a JSON column's as JSON text."""
    return json.dumps(value) if value is not None and PG_ARRAYS[name] == "json[]" else value


def insert_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new samples (rows of NEW_SAMPLE_COLUMNS) in bulk, skipping keys that are already stored.

    PostgreSQL gets COPY, several times faster than INSERTs; if a key was stored meanwhile (by
    another writer of the same dataset), the COPY is undone and an INSERT that skips duplicates
    is used.
    """
    if session.get_bind().dialect.name == "postgresql":
        try:
            with session.begin_nested():
                copy_samples(session, rows)
            return
        except psycopg.errors.UniqueViolation:
            pass
    session.execute(insert_ignoring_duplicates(session), rows)


def record_listed(session: Session, job_id: int, keys: list[tuple[str, str]]) -> None:
    """Record the (key, ETag) pairs a job listed in `sync_listed` (COPY on PostgreSQL)."""
    if not keys:
        return
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, "sync_listed", ("job_id", "key", "etag"), ((job_id, key, etag) for key, etag in keys))
        return
    session.execute(insert(listed), [{"job_id": job_id, "key": key, "etag": etag} for key, etag in keys])


def copy_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    """COPY rows of NEW_SAMPLE_COLUMNS into samples."""
    copy_rows(session, "samples", NEW_SAMPLE_COLUMNS, ([row[name] for name in NEW_SAMPLE_COLUMNS] for row in rows))


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table on the session's own connection (inside its transaction; PostgreSQL)."""
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def insert_ignoring_duplicates(session: Session) -> Insert:
    """Return an INSERT of samples that skips keys already stored (another writer got there first)."""
    dialect = session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        return insert(samples)
    return module.insert(samples).on_conflict_do_nothing(index_elements=["dataset_id", "key"])
