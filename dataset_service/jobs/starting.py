"""Starting a job for a request: one per dataset and kind, committed, then handed to the runner."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy.orm import Session

from ..errors import Conflict, Unavailable
from ..models import Dataset, Job, User
from ..services import annotation_files, jobs
from .runners import QueueUnavailable, runner

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a job of each kind is called when the queue refuses it.
NAMES = {"sync": "The sync", annotation_files.KIND: "The XML rewrite"}


def start(app: Flask, session: Session, dataset: Dataset, kind: str, user: User | None) -> Job:
    """Start a job of this kind for the dataset, or return its active one; commit, hand a new one over."""
    job, created = jobs.start_job(session, dataset, kind, user, app.config["SERVICE"].job_stale_after_s)
    # Committed before the runner gets its id: a Celery worker in another process must see the row.
    session.commit()
    if created:
        _submit(app, session, job)
    return job


def start_new(app: Flask, session: Session, dataset: Dataset, kind: str, user: User | None, busy: str,
              attach: Callable[[Job], T]) -> tuple[Job, T]:
    """Start a new job of this kind, with what `attach` records for it (say, the version it writes)
    in the same commit, and hand it over; while one of the kind is active, raise Conflict(busy)
    and commit nothing."""
    job, created = jobs.start_job(session, dataset, kind, user, app.config["SERVICE"].job_stale_after_s)
    if not created:
        raise Conflict(busy)
    attached = attach(job)
    session.commit()
    _submit(app, session, job)
    return job, attached


def _submit(app: Flask, session: Session, job: Job) -> None:
    """Hand a committed job to the runner; when the queue refuses it, commit it failed and say so."""
    try:
        runner(app).submit(job.id)
    except QueueUnavailable as exc:
        jobs.fail_job(session, job, str(exc))
        session.commit()  # the request ends in a 503 and rolls back: the failure must stand first
        raise Unavailable(f"{NAMES.get(job.kind, 'The job')} could not be started: {exc}.") from None


def rewrite_stale_files(app: Flask, session: Session, dataset: Dataset, user: User | None) -> None:
    """After a committed label change: start rewriting the XML files it made stale.

    The change itself stands either way; when the queue is down the marks stay, and
    `POST /datasets/{id}/annotation-files` (or the next label change) starts the rewrite later.
    """
    try:
        start(app, session, dataset, annotation_files.KIND, user)
    except Unavailable as exc:
        log.warning("dataset %s: %s", dataset.id, exc.message)
