"""Dynamic batching: concurrent requests share one forward pass (up to B requests or T ms).

The first request of a batch waits up to T ms for company, but only while other requests are on
their way to the network: a request announces itself when it starts (`arriving`) and is counted
until it submits its input or finishes without one, so a lone request never waits for nobody.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from inference_worker import errors
from inference_worker.timing import Stopwatch, Timings

# One queued request: its input, the future that answers it, a clock running since it was queued.
Item = tuple[np.ndarray, Future, Stopwatch]


class Arrival:
    """A request on its way to the batcher: counted until it submits its input or is done without one."""

    def __init__(self, batcher: Batcher):
        self._batcher = batcher
        self._counted = True

    def done(self) -> None:
        """Stop counting this request (the first call counts)."""
        with self._batcher._cond:
            if self._counted:
                self._counted = False
                self._batcher._coming -= 1
                self._batcher._cond.notify_all()

    def __enter__(self) -> Arrival:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done()


class Batcher:
    """Run `infer` on batches gathered from many threads, in one background thread.

    The queue is bounded: when `max_queue` items already wait, `submit` refuses at once
    instead of letting latency grow without bound. Without announced arrivals (`arriving`) the
    first request of a batch always waits the full `max_wait_ms` for company.
    """

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], max_batch: int, max_wait_ms: float, max_queue: int):
        self.infer = infer
        self.max_batch = max(1, max_batch)
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max(1, max_queue)
        self._items: deque[Item] = deque()
        self._cond = threading.Condition()
        self._coming = 0  # announced requests that have not submitted yet
        self._announced = False  # whether anyone announces arrivals: else always wait for company
        self._thread = threading.Thread(target=self._serve, name="batcher", daemon=True)
        self._stopping = threading.Event()
        self.batches = self.items = 0

    def start(self) -> Batcher:
        """Start the batching thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the batching thread to finish after its current batch."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        """Say whether the batching thread is serving."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def arriving(self) -> Arrival:
        """Announce a request that may submit an input soon; call `done()` on the answer (or use it
        as a context manager) when it will not, so no batch waits for it."""
        with self._cond:
            self._announced = True
            self._coming += 1
        return Arrival(self)

    def submit(self, item: np.ndarray, timeout: float, timings: Timings | None = None, arrival: Arrival | None = None) -> np.ndarray:
        """Queue one input and wait for its output; raise Overloaded when full or too slow.

        `timings` gets the input's "queue" wait and its batch's "forward" time; `arrival`, the
        request's announcement, is done once the input is queued."""
        future: Future = Future()
        with self._cond:
            full = len(self._items) >= self.max_queue
            if not full:
                self._items.append((item, future, Stopwatch()))
                self._cond.notify_all()
        if arrival is not None:
            arrival.done()
        if full:
            raise errors.Overloaded("the worker is busy; retry shortly")
        try:
            output, waited_ms, forward_ms = future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise errors.Overloaded(f"no answer within {timeout:g} s; retry shortly") from None
        if timings is not None:  # added here, not in the batcher's thread, so one thread writes them
            timings.add("queue", waited_ms)
            timings.add("forward", forward_ms)
        return output

    def _serve(self) -> None:
        while not self._stopping.is_set():
            batch = self._gather()
            if batch:
                self._run(batch)

    def _gather(self) -> list[Item]:
        """Block for a first item, then take more until the batch is full, the wait is over, or no
        announced request is still on its way."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._stopping.is_set(), timeout=0.5) or not self._items:
                return []
            batch = [self._items.popleft()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                if self._items:
                    batch.append(self._items.popleft())
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._announced and self._coming <= 0):
                    break
                self._cond.wait(remaining)
        return [item for item in batch if item[1].set_running_or_notify_cancel()]

    def _run(self, batch: list[Item]) -> None:
        """Run one batch and hand each waiting request its output, queue wait and forward time."""
        if not batch:
            return
        waits = [queued.stop() for _, _, queued in batch]
        try:
            with Stopwatch() as forward:
                outputs = self.infer(np.stack([x for x, _, _ in batch]))
        except Exception as exc:  # every waiting request must hear about the failure
            for _, future, _ in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(batch)
        for (_, future, _), out, waited in zip(batch, outputs, waits):
            future.set_result((out, waited, forward.ms))
