"""A read of an annotation is one snapshot: its revision and its objects always belong together,
even while saves commit around it (issue 17, finding 8)."""
from __future__ import annotations

import threading
import time

import pytest

from tests.dataset_service.factories import add_sample

SAVES = 40
READERS = 3


def objects_of(revision: int) -> list[dict]:
    """The objects the save that makes `revision` writes: their count and x coordinates say which save it was."""
    return [{"label": "cat", "points": [[revision, 1], [revision, 20], [revision + 5, 20]]} for _ in range(1 + revision % 3)]


def belongs_together(body: dict) -> bool:
    """Tell whether the objects read are those saved with the revision read."""
    revision, objects = body["revision"], body["objects"]
    if revision == 0:
        return objects == []
    return len(objects) == 1 + revision % 3 and all(o["points"][0][0] == revision for o in objects)


@pytest.mark.commits  # saves and reads run in threads, each request on its own connection
# PostgreSQL only: SQLite serializes writers, and its readers see one snapshot per transaction.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_during_saves_never_pair_a_revision_with_another_revisions_objects(app, labeler, dataset, database_url):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    url = f"/api/v1/samples/{sample_id}/annotation"
    done = threading.Event()
    torn: list[dict] = []
    reads = [0]

    def save_all():
        try:
            for revision in range(SAVES):
                response = labeler.put(url, json={"revision": revision, "objects": objects_of(revision + 1)})
                assert response.status_code == 200, response.get_json()
        finally:
            done.set()

    def read_until_done():
        while not done.is_set():
            body = labeler.get(url).get_json()
            reads[0] += 1
            if not belongs_together(body):
                torn.append(body)

    threads = [threading.Thread(target=save_all)] + [threading.Thread(target=read_until_done) for _ in range(READERS)]
    started = time.monotonic()
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert done.is_set() and time.monotonic() - started < 120
    assert reads[0] > SAVES, reads  # the reads did overlap the saves
    assert not torn, [(b["revision"], [o["points"][0][0] for o in b["objects"]]) for b in torn[:5]]
    assert labeler.get(url).get_json()["revision"] == SAVES
