import threading
import time

import numpy as np
import pytest

from inference_worker.batcher import Batcher
from inference_worker.errors import Overloaded


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
