"""Dynamic batching: concurrent requests share one forward pass (up to B requests or T ms)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from inference_worker import errors
from inference_worker.timing import Stopwatch, Timings

# One queued request: its input, the future that answers it, a clock running since it was queued.
Item = tuple[np.ndarray, Future, Stopwatch]


class Batcher:
    """Run `infer` on batches gathered from many threads, in one background thread.

    The queue is bounded: when `max_queue` items already wait, `submit` refuses at once
    instead of letting latency grow without bound.
    """

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], max_batch: int, max_wait_ms: float, max_queue: int):
        self.infer = infer
        self.max_batch = max(1, max_batch)
        self.max_wait = max_wait_ms / 1000.0
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=max(1, max_queue))
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

    @property
    def alive(self) -> bool:
        """Say whether the batching thread is serving."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def submit(self, item: np.ndarray, timeout: float, timings: Timings | None = None) -> np.ndarray:
        """Queue one input and wait for its output; raise Overloaded when full or too slow.

        `timings` gets the input's "queue" wait and its batch's "forward" time."""
        future: Future = Future()
        try:
            self._queue.put_nowait((item, future, Stopwatch()))
        except queue.Full:
            raise errors.Overloaded("the worker is busy; retry shortly") from None
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
        """Block for a first item, then take more until the batch is full or the wait is over."""
        try:
            batch = [self._queue.get(timeout=0.5)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
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
