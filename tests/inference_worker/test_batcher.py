import threading
import time

import numpy as np
import pytest

from inference_worker.batcher import Batcher
from inference_worker.errors import Overloaded
from inference_worker.timing import Timings


def test_concurrent_requests_share_a_batch():
    sizes = []

    def infer(batch):
        sizes.append(len(batch))
        time.sleep(0.05)
        return batch * 2

    batcher = Batcher(infer, max_batch=4, max_wait_ms=50, max_queue=16).start()
    results = {}

    def call(i):
        results[i] = batcher.submit(np.array([i]), timeout=5)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.stop()
    assert {i: int(r[0]) for i, r in results.items()} == {i: 2 * i for i in range(8)}
    assert max(sizes) > 1 and max(sizes) <= 4


def test_a_full_queue_is_refused_at_once():
    release = threading.Event()
    batcher = Batcher(lambda b: (release.wait(5), b)[1], max_batch=1, max_wait_ms=0, max_queue=1).start()
    waiting = [threading.Thread(target=lambda: batcher.submit(np.zeros(1), 5)) for _ in range(2)]
    for t in waiting:
        t.start()
        time.sleep(0.1)  # the first is taken into the batch, the second fills the queue
    started = time.monotonic()
    with pytest.raises(Overloaded):
        batcher.submit(np.zeros(1), timeout=5)
    assert time.monotonic() - started < 0.5
    release.set()
    for t in waiting:
        t.join()
    batcher.stop()


def test_a_slow_answer_times_out_as_overloaded():
    batcher = Batcher(lambda b: (time.sleep(1), b)[1], max_batch=1, max_wait_ms=0, max_queue=4).start()
    with pytest.raises(Overloaded):
        batcher.submit(np.zeros(1), timeout=0.1)
    batcher.stop()


def test_a_failing_batch_fails_its_requests():
    def infer(batch):
        raise RuntimeError("boom")

    batcher = Batcher(infer, max_batch=2, max_wait_ms=0, max_queue=4).start()
    with pytest.raises(RuntimeError, match="boom"):
        batcher.submit(np.zeros(1), timeout=2)
    batcher.stop()


def test_a_request_gets_its_queue_wait_and_its_batch_forward_time():
    release = threading.Event()
    batcher = Batcher(lambda b: (release.wait(5), time.sleep(0.05), b)[2], max_batch=1, max_wait_ms=0, max_queue=4).start()
    first, second = Timings(), Timings()
    threads = [threading.Thread(target=batcher.submit, args=(np.zeros(1), 5, t)) for t in (first, second)]
    for t in threads:
        t.start()
        time.sleep(0.1)  # the first is in its forward pass, held; the second waits behind it
    release.set()
    for t in threads:
        t.join()
    batcher.stop()
    assert set(first.ms) == set(second.ms) == {"queue", "forward"}
    assert first.ms["queue"] < 100 and first.ms["forward"] >= 150
    assert second.ms["queue"] >= 100 and 50 <= second.ms["forward"] < first.ms["forward"]


def test_requests_in_one_batch_share_its_forward_time():
    batcher = Batcher(lambda b: (time.sleep(0.02), b)[1], max_batch=2, max_wait_ms=500, max_queue=4).start()
    timings = [Timings(), Timings()]
    threads = [threading.Thread(target=batcher.submit, args=(np.zeros(1), 5, t)) for t in timings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.stop()
    assert batcher.batches == 1 and timings[0].ms["forward"] == timings[1].ms["forward"] >= 20


def test_a_lone_announced_request_does_not_wait_for_company():
    batcher = Batcher(lambda b: b, max_batch=8, max_wait_ms=1000, max_queue=4).start()
    timings = Timings()
    with batcher.arriving() as arrival:
        batcher.submit(np.zeros(1), 5, timings, arrival)
    batcher.stop()
    assert timings.ms["queue"] < 200  # not the 1 s a batch may wait for requests on their way


def test_a_batch_waits_for_announced_requests_and_no_longer_once_the_rest_need_no_network():
    sizes = []
    batcher = Batcher(lambda b: (sizes.append(len(b)), b)[1], max_batch=8, max_wait_ms=5000, max_queue=4).start()
    first, second, cached = batcher.arriving(), batcher.arriving(), batcher.arriving()
    started = time.monotonic()
    threads = [threading.Thread(target=batcher.submit, args=(np.zeros(1), 10, None, first)),
               threading.Thread(target=lambda: (time.sleep(0.1), batcher.submit(np.zeros(1), 10, None, second)))]
    for t in threads:
        t.start()
    time.sleep(0.4)
    assert sizes == []  # both queued, and the batch still waits for the third request
    cached.done()  # the third's answer was cached: it will not submit
    for t in threads:
        t.join()
    batcher.stop()
    assert sizes == [2] and time.monotonic() - started < 3
