"""The streamed zip: what zipfile reads back, and memory that stays one chunk whatever the size."""
from __future__ import annotations

import io
import tracemalloc
import zipfile
from datetime import datetime, timezone

from storage.zipstream import Member, zip_chunks

WHEN = datetime(2026, 11, 24, 10, 30, 2, tzinfo=timezone.utc)


def member(name: str, data: bytes, chunk: int = 1000) -> Member:
    return Member(name, len(data), WHEN, lambda: (data[i:i + chunk] for i in range(0, len(data), chunk)))


def test_members_read_back_with_zipfile():
    members = [member("a/one.xml", b"<annotation/>" * 500), member("a/one.png", bytes(range(256)) * 40), member("empty.txt", b"")]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_chunks(members))))
    assert archive.testzip() is None
    assert archive.namelist() == ["a/one.xml", "a/one.png", "empty.txt"]
    assert archive.read("a/one.xml") == b"<annotation/>" * 500 and archive.read("empty.txt") == b""
    infos = {info.filename: info for info in archive.infolist()}
    assert infos["a/one.xml"].compress_type == zipfile.ZIP_DEFLATED and infos["a/one.png"].compress_type == zipfile.ZIP_STORED
    assert infos["a/one.png"].date_time == (2026, 11, 24, 10, 30, 2)


def test_a_large_member_streams_in_constant_memory():
    size, chunk = 64 * 1024 * 1024, 1024 * 1024
    block = bytes(range(256)) * (chunk // 256)
    big = Member("big.png", size, WHEN, lambda: (block for _ in range(size // chunk)))
    tracemalloc.start()
    try:
        total, largest = 0, 0
        for data in zip_chunks([big]):
            total, largest = total + len(data), max(largest, len(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > size and largest <= 2 * chunk
    assert peak < 8 * chunk, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB member"
