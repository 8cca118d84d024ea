"""The streamed zip: what zipfile reads back, and memory that stays flat whatever the size or the number of members."""
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
    members = [member("a/one.xml", b"<annotation/>" * 500), member("a/one.png", bytes(range(256)) * 40), member("empty.txt", b""),
               member("b/ünï.xml", "名前".encode() * 10)]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_chunks(members))))
    assert archive.testzip() is None  # every member's CRC checks out
    assert archive.namelist() == ["a/one.xml", "a/one.png", "empty.txt", "b/ünï.xml"]
    assert archive.read("a/one.xml") == b"<annotation/>" * 500 and archive.read("empty.txt") == b""
    assert archive.read("b/ünï.xml") == "名前".encode() * 10
    infos = {info.filename: info for info in archive.infolist()}
    assert infos["a/one.xml"].compress_type == zipfile.ZIP_DEFLATED and infos["a/one.xml"].compress_size < 6500 / 10
    assert infos["a/one.png"].compress_type == zipfile.ZIP_STORED
    assert infos["a/one.png"].date_time == (2026, 11, 24, 10, 30, 2)


def test_an_empty_archive():
    assert zipfile.ZipFile(io.BytesIO(b"".join(zip_chunks([])))).namelist() == []


def traced_peak(chunks, path) -> int:
    """Write the archive to a file; return the peak memory traced while writing it."""
    tracemalloc.start()
    try:
        with open(path, "wb") as out:
            for data in chunks:
                out.write(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_a_large_member_streams_in_constant_memory(tmp_path):
    size, chunk = 64 * 1024 * 1024, 1024 * 1024
    block = bytes(range(256)) * (chunk // 256)
    big = Member("big.png", size, WHEN, lambda: (block for _ in range(size // chunk)))
    peak = traced_peak(zip_chunks([big]), tmp_path / "big.zip")
    assert peak < 4 * chunk, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB member"
    archive = zipfile.ZipFile(tmp_path / "big.zip")
    assert archive.getinfo("big.png").file_size == size and archive.testzip() is None


def test_many_members_stream_in_constant_memory_with_zip64_counts(tmp_path):
    count = 70_000  # past the 65,535 members a plain end record can count (memory is flat: 2.1 MB for 10,000 or 200,000)
    members = (Member(f"Annotations/f{i // 1000:03d}/img{i:06d}.xml", 12, WHEN, lambda: [b"<annotation/>"[:12]]) for i in range(count))
    peak = traced_peak(zip_chunks(members, spool_bytes=256 * 1024), tmp_path / "many.zip")
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {count:,} members"
    archive = zipfile.ZipFile(tmp_path / "many.zip")
    names = archive.namelist()
    assert len(names) == count and names[-1] == "Annotations/f069/img069999.xml"
    assert archive.read(names[12345]) == b"<annotation/"
