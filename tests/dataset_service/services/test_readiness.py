"""The background check behind /readyz: answers at once, checks at most every few seconds."""
from __future__ import annotations

import threading
import time

from dataset_service.services.readiness import BackgroundCheck


class Gate:
    """A check that blocks until released, counting its calls."""

    def __init__(self, error: Exception | None = None):
        self.calls, self.error, self.open = 0, error, threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.open.wait(10)
        if self.error:
            raise self.error


def settle(check: BackgroundCheck, expected: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while check.status() != expected:
        assert time.monotonic() < deadline, check.status()
        time.sleep(0.01)


def test_a_check_that_has_not_answered_is_checking_and_answers_at_once():
    gate = Gate()
    check = BackgroundCheck(gate, first_wait_s=0.05)
    started = time.monotonic()
    assert check.status() == "checking" and check.status() == "checking"
    assert time.monotonic() - started < 0.5 and gate.calls == 1
    gate.open.set()
    settle(check, "ok")


def test_the_last_answer_is_served_while_the_next_check_runs():
    gate = Gate()
    gate.open.set()
    check = BackgroundCheck(gate, fresh_s=0.05)
    settle(check, "ok")
    gate.open.clear()
    gate.error = OSError("store down")
    time.sleep(0.1)
    assert check.status() == "ok"  # stale: a new check starts, the last answer is served meanwhile
    assert gate.calls == 2
    gate.open.set()
    settle(check, "error: store down")


def test_answers_are_cached_for_fresh_s():
    gate = Gate()
    gate.open.set()
    check = BackgroundCheck(gate, fresh_s=60)
    settle(check, "ok")
    for _ in range(20):
        check.status()
    assert gate.calls == 1


def test_a_check_that_hangs_counts_as_a_failure():
    gate = Gate()
    check = BackgroundCheck(gate, stalled_s=0.05, first_wait_s=0)
    assert check.status() == "checking"
    time.sleep(0.1)
    assert check.status() == "error: no answer in 0.05 s"
    gate.open.set()
