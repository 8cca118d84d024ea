"""Where a request spends its time: a stopwatch, and per-stage milliseconds for one request.

The worker's stages (`schemas.STAGES`) run in several modules and two threads (the forward pass
runs in the batcher's), so each request carries one `Timings` that its stages add to, in the
spirit of TorchServe's `@timed`, instead of stop-watch arithmetic at every call site.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter


class Stopwatch:
    """Wall time of one span in ms: running from creation (or `with`) until stopped."""

    def __init__(self) -> None:
        self.started = perf_counter()
        self.stopped: float | None = None

    @property
    def ms(self) -> float:
        """Return the milliseconds measured, up to now while the clock still runs."""
        end = perf_counter() if self.stopped is None else self.stopped
        return (end - self.started) * 1000

    def stop(self) -> float:
        """Stop the clock (the first call counts) and return its milliseconds."""
        if self.stopped is None:
            self.stopped = perf_counter()
        return self.ms

    def __enter__(self) -> Stopwatch:
        self.started, self.stopped = perf_counter(), None
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Timings:
    """Milliseconds per named stage of one request; a stage entered twice adds up."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    def add(self, stage: str, ms: float) -> None:
        """Count `ms` more milliseconds for `stage` (e.g. measured in another thread)."""
        self.ms[stage] = self.ms.get(stage, 0.0) + ms

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage `name`, also when it raises."""
        watch = Stopwatch()
        try:
            yield
        finally:
            self.add(name, watch.stop())

    def describe(self) -> str:
        """Return the stages as one log-friendly `name=ms` line, in the order they first ran."""
        return " ".join(f"{name}={ms:.1f}" for name, ms in self.ms.items())
