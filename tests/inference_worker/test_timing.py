import time

import pytest

from inference_worker import timing
from inference_worker.timing import Stopwatch, Timings


class FakeClock:
    """A perf_counter that moves only when told, so the figures are exact."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms / 1000


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "perf_counter", fake)
    return fake


def test_a_stopwatch_runs_until_stopped_and_then_holds(clock):
    watch = Stopwatch()
    clock.advance(5)
    assert watch.ms == pytest.approx(5)
    assert watch.stop() == pytest.approx(5)
    clock.advance(7)
    assert watch.stop() == pytest.approx(5) and watch.ms == pytest.approx(5)


def test_a_stopwatch_as_a_context_manager_times_its_block(clock):
    watch = Stopwatch()
    clock.advance(50)  # before the block: not counted
    with watch:
        clock.advance(3)
    clock.advance(9)
    assert watch.ms == pytest.approx(3)


def test_stages_add_up_and_keep_their_first_order(clock):
    timings = Timings()
    with timings.stage("decode"):
        clock.advance(2)
    with timings.stage("refine"):
        clock.advance(4)
    with timings.stage("decode"):
        clock.advance(1)
    timings.add("forward", 10)
    assert timings.ms == pytest.approx({"decode": 3, "refine": 4, "forward": 10})
    assert list(timings.ms) == ["decode", "refine", "forward"]
    assert timings.describe() == "decode=3.0 refine=4.0 forward=10.0"


def test_a_stage_that_raises_is_still_timed(clock):
    timings = Timings()
    with pytest.raises(ValueError), timings.stage("fetch"):
        clock.advance(6)
        raise ValueError("store down")
    assert timings.ms == pytest.approx({"fetch": 6})


def test_the_real_clock_measures_wall_time():
    with Stopwatch() as watch:
        time.sleep(0.02)
    assert 15 <= watch.ms < 1000
