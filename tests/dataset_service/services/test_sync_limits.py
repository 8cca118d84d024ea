"""What one object in a bucket may cost a sync: a decompression bomb is an image error, an XML
over the size limit an annotation error, never read whole; the sync completes either way."""
from __future__ import annotations

import pytest

from dataset_service.services import object_reads
from dataset_service.services.sync import xml_import
from dataset_service.services.sync.planning import Candidate
from tests.dataset_service.services.test_sync import all_samples, bucket_of, counts, our_xml, run_sync
from tests.storage.bombs import png_bomb

pytestmark = pytest.mark.commits  # the sync runs in a thread: its work must be committed

LIMIT = 2000  # the XML size limit in these tests, so that "too large" stays small


@pytest.fixture
def reads(monkeypatch) -> list[tuple[str, tuple[int, int] | None, int]]:
    """Record every read the sync makes: (key, byte range, bytes returned)."""
    seen = []
    real = object_reads.PresignedReader.get

    def get(self, bucket, key, byte_range=None):
        data = real(self, bucket, key, byte_range)
        seen.append((key, byte_range, len(data)))
        return data

    monkeypatch.setattr(object_reads.PresignedReader, "get", get)
    return seen


def test_a_decompression_bomb_is_an_image_error_and_the_sync_completes(app, admin, dataset, s3_server):
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    store.put(bucket, "cats/bomb.png", png_bomb(20_000, 20_000))
    store.put(bucket, "cats/legal.png", png_bomb(11_000, 10_000))  # 110 megapixels: legal, over MAX_IMAGE_PIXELS
    job = run_sync(admin, ds)
    assert job["status"] == "completed", job
    assert counts(job) == (5, 0, 0, 0, 0, 2)
    errors = {e["key"]: e["reason"] for e in job["errors"]}
    assert errors["cats/bomb.png"].startswith("image: ") and "limit of 100000000" in errors["cats/bomb.png"]
    assert errors["cats/legal.png"] == "image: 11000x10000 is 110000000 pixels, more than the limit of 100000000"
    found = all_samples(admin, ds)
    assert found["cats/bomb.png"]["width"] is None and found["cats/bomb.png"]["error"].startswith("image: ")
    assert (found["cats/a/one.png"]["width"], found["cats/a/one.png"]["height"]) == (64, 48)


def test_an_xml_over_the_limit_is_refused_from_its_listed_size_unread(app, admin, dataset, s3_server, reads, monkeypatch):
    monkeypatch.setattr(xml_import, "MAX_XML_BYTES", LIMIT)
    store, bucket, ds = s3_server.store, bucket_of(dataset), dataset["id"]
    big = our_xml("one.png", 64, 48, *[("cat", "admin")] * 40)
    assert len(big) > LIMIT
    store.put(bucket, "cats/a/one.xml", big)
    store.put(bucket, "cats/b/three.xml", our_xml("three.png", 32, 32, ("dog", "admin")))
    job = run_sync(admin, ds)
    assert job["status"] == "completed", job
    assert counts(job) == (3, 0, 0, 0, 1, 1)
    reason = {e["key"]: e["reason"] for e in job["errors"]}["cats/a/one.xml"]
    assert reason == f"annotation: cats/a/one.xml: file is {len(big)} bytes, larger than the {LIMIT} byte limit"
    found = all_samples(admin, ds)
    assert found["cats/a/one.png"]["error"] == reason and found["cats/b/three.png"]["labels"] == ["dog"]
    assert "cats/a/one.xml" not in {key for key, _, _ in reads}
    assert ("cats/b/three.xml", (0, LIMIT), len(store.get(bucket, "cats/b/three.xml"))) in reads


def test_an_xml_of_unknown_size_is_read_only_up_to_the_limit(s3_server, reads, monkeypatch):
    monkeypatch.setattr(xml_import, "MAX_XML_BYTES", LIMIT)
    store, bucket = s3_server.store, s3_server.new_bucket()
    store.put(bucket, "big.xml", our_xml("big.png", 64, 48, *[("cat", "admin")] * 40))
    store.put(bucket, "empty.xml", b"")
    reader = object_reads.PresignedReader(store)
    fetched = xml_import.fetch_annotation(reader, bucket, (Candidate("big.png", "big.xml", 0, None), "etag", None))
    assert fetched.problem == f"big.xml: file is over {LIMIT} bytes, larger than the {LIMIT} byte limit"
    assert reads == [("big.xml", (0, LIMIT), LIMIT + 1)]
    empty = xml_import.fetch_annotation(reader, bucket, (Candidate("empty.png", "empty.xml", 0, None), "etag", None))
    assert empty.problem == "empty.xml: file is empty"
