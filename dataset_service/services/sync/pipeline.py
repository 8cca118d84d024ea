"""Plumbing of a sync run: the job it reports into, its steps' transactions, a writer thread and
a window of reads in flight."""
from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

IN_FLIGHT = 16  # chunks of reads submitted and not yet written


class JobReport(Protocol):
    """What a sync reports into (the runner's job context); counts and errors come from any thread."""

    job_id: int
    dataset_id: int
    stage: str | None
    progress: dict[str, int]
    counts: dict[str, int]

    def count(self, name: str, n: int = 1) -> None: ...
    def advance(self, name: str, n: int = 1) -> None: ...
    def error(self, key: str, reason: str) -> None: ...
    def check(self) -> None: ...


@contextmanager
def transaction(make_session: sessionmaker[Session]) -> Iterator[Session]:
    """One step's transaction. Its commit need not wait for the disk on PostgreSQL: a crash
    can lose only the last steps, and the next sync redoes them."""
    with make_session.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield session


class BatchWriter:
    """A thread that writes batches while the caller goes on: the page writes and the import
    writes then wait for the database side by side. The first failure is raised to the caller."""

    def __init__(self, write: Callable[[list], None], depth: int = 4):
        self.write = write
        self.batches: queue.Queue = queue.Queue(depth)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sync-import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.failure is None:
                try:
                    self.write(batch)
                except BaseException as exc:  # raised in the caller's thread
                    self.failure = exc

    def put(self, batch: list) -> None:
        self.raise_failure()
        self.batches.put(batch)

    def stop(self) -> None:
        """Drop the batches not written yet and end the thread (after a failure elsewhere)."""
        while True:
            try:
                self.batches.get_nowait()
            except queue.Empty:
                break
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()

    def close(self) -> None:
        """Wait for every batch to be written."""
        if self.thread.is_alive():
            self.batches.put(None)
            self.thread.join()
        self.raise_failure()

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


class Window:
    """Futures in submission order, at most `size` of them unfinished; results come back in order."""

    def __init__(self, size: int = IN_FLIGHT):
        self.size = size
        self.pending: deque[Future] = deque()

    def add(self, future: Future) -> list[Any]:
        """Add a future; return the results that are ready, waiting while the window is full."""
        self.pending.append(future)
        out = self.ready()
        while len(self.pending) >= self.size:
            out.append(self.pending.popleft().result())
        return out

    def ready(self) -> list[Any]:
        """Return the results finished so far, in order."""
        out = []
        while self.pending and self.pending[0].done():
            out.append(self.pending.popleft().result())
        return out

    def drain(self) -> list[Any]:
        """Wait for and return every remaining result."""
        out = []
        while self.pending:
            out.append(self.pending.popleft().result())
        return out
