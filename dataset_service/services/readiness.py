"""Readiness of the object store: checked in a background thread with short timeouts, its last
answer served at once, so a hanging store never holds a request thread (a readiness probe every
few seconds would otherwise take them all)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from storage.errors import ObjectNotFound
from storage.factory import StoreSettings
from storage.s3 import S3ObjectStore

TIMEOUT_S = 2.0  # connect and read timeouts of one check; a check is never retried (botocore: max_attempts=0)
FRESH_S = 5.0  # an answer is served this long before the next check starts
STALLED_S = 3 * TIMEOUT_S  # a check running longer than this counts as a failure
FIRST_WAIT_S = 0.2  # the first request waits this long at most for the first answer
PROBE_BUCKET = "readyz-probe"


class BackgroundCheck:
    """Run a check in a background thread at most every `fresh_s` seconds; answer its last result at once."""

    def __init__(self, check: Callable[[], None], fresh_s: float = FRESH_S, stalled_s: float = STALLED_S,
                 first_wait_s: float = FIRST_WAIT_S):
        self.check, self.fresh_s, self.stalled_s, self.first_wait_s = check, fresh_s, stalled_s, first_wait_s
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._result: str | None = None  # "ok" or "error: ..."
        self._finished_at: float | None = None
        self._started_at: float | None = None  # of the check in flight; None when none is

    def status(self) -> str:
        """Return "ok", "error: ...", or "checking" while no check has ever answered; start a
        new check in the background when the last answer is older than `fresh_s`."""
        self._start_if_due()
        if not self._answered.is_set():
            self._answered.wait(self.first_wait_s)
        with self._lock:
            stalled = self._started_at is not None and time.monotonic() - self._started_at > self.stalled_s
            return f"error: no answer in {self.stalled_s:g} s" if stalled else self._result or "checking"

    def _start_if_due(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._started_at is not None or (self._finished_at is not None and now - self._finished_at < self.fresh_s):
                return
            self._started_at = now
        threading.Thread(target=self._run, name="readiness-check", daemon=True).start()

    def _run(self) -> None:
        try:
            self.check()
            result = "ok"
        except Exception as exc:  # whatever the check raises, the answer is "not ready, because"
            result = f"error: {exc}"
        with self._lock:
            self._result, self._finished_at, self._started_at = result, time.monotonic(), None
        self._answered.set()


def store_check(settings: StoreSettings) -> BackgroundCheck:
    """Return the background check that the configured S3 endpoint answers (AWS, with no endpoint, is not checked)."""
    store: list[S3ObjectStore] = []  # made in the checking thread on first use: a boto3 client takes a while

    def check() -> None:
        if not settings.endpoint_url:
            return
        if not store:
            store.append(S3ObjectStore(
                settings.endpoint_url, settings.region, settings.access_key, settings.secret_key, settings.path_style,
                connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S, max_attempts=0, max_pool=1, ca_bundle=settings.ca_bundle,
            ))
        try:
            store[0].stat(PROBE_BUCKET, "readyz")
        except ObjectNotFound:
            pass  # the store answered

    return BackgroundCheck(check)
