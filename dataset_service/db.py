"""Engine and session lifecycle: the request or the job owns the transaction."""
from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every model."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Index-only scans serve the sample filters; on SSD storage random reads cost little more than
    # sequential ones, so say so to the planner (PostgreSQL's default of 4 assumes spinning disks).
    # Requests are many and short: a merge join on one core beats starting parallel workers for them.
    # JIT compiling takes a few hundred milliseconds whenever a plan's estimated cost is high (a diff of
    # two versions, before their rows are analyzed) and saves less than that on queries like ours.
    options = {"options": "-c random_page_cost=1.1 -c max_parallel_workers_per_gather=0 -c jit=off"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=options)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
