"""A zip archive written as a stream of chunks, in constant memory whatever the number and size of
its members.

Each member is written as it is read: its local header first (sizes and CRC left out, flag bit 3),
its bytes (deflated, or stored when they are compressed already), then a data descriptor with its
CRC and sizes. Zip's central directory, which lists every member at the end of the archive, is
composed as the members go in a spooled temporary file (memory up to `SPOOL_BYTES`, then disk) and
streamed out last; so memory holds one chunk and a bounded buffer, not a record per member as
`zipfile` does. ZIP64 records are written where a member, an offset or the member count needs them
(APPNOTE 6.3: 4.3.9, 4.4, 4.5.3). Names are UTF-8 (flag bit 11).
"""
from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".zip", ".gz")  # already compressed: stored as they are
SPOOL_BYTES = 8 * 1024 * 1024  # the central directory stays in memory up to this, then goes to disk
STORED, DEFLATED = 0, 8
DESCRIPTOR, UTF8 = 0x08, 0x800
MAX32, MAX16 = 0xFFFFFFFF, 0xFFFF
VERSION, VERSION64 = 20, 45
UNIX_FILE = 0o100644 << 16


@dataclass(frozen=True)
class Member:
    """A file of the archive: its name, its size in bytes, when it changed, and how to read it in chunks."""

    name: str
    size: int
    modified: datetime
    chunks: Callable[[], Iterable[bytes]]


def zip_chunks(members: Iterable[Member], spool_bytes: int = SPOOL_BYTES) -> Iterator[bytes]:
    """Yield the bytes of a zip archive of the members, in order, as they are read."""
    offset, count = 0, 0
    with tempfile.SpooledTemporaryFile(max_size=spool_bytes) as directory:
        for member in members:
            written = yield from _member(member, offset, directory)
            offset += written
            count += 1
        directory_size = directory.tell()
        directory.seek(0)
        while chunk := directory.read(1024 * 1024):
            yield chunk
    yield _end(count, directory_size, offset)


def _member(member: Member, offset: int, directory) -> Iterator[bytes]:
    """Yield one member (header, bytes, data descriptor), add its record to the directory; return its length."""
    name = member.name.encode("utf-8")
    method = STORED if member.name.lower().endswith(STORED_SUFFIXES) else DEFLATED
    big = member.size >= MAX32 - (MAX32 >> 6)  # deflating may grow a member a little
    time, date = _dos_time(member.modified)
    flags = DESCRIPTOR | UTF8
    extra = struct.pack("<HHQQ", 1, 16, 0, 0) if big else b""  # ZIP64: the sizes come in the descriptor
    header = struct.pack("<IHHHHHIIIHH", 0x04034B50, VERSION64 if big else VERSION, flags, method, time, date, 0,
                         MAX32 if big else 0, MAX32 if big else 0, len(name), len(extra)) + name + extra
    yield header
    crc, size, compressed = 0, 0, 0
    packer = zlib.compressobj(6, zlib.DEFLATED, -15) if method == DEFLATED else None
    for chunk in member.chunks():
        crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        data = packer.compress(chunk) if packer else chunk
        if data:
            compressed += len(data)
            yield data
    if packer:
        data = packer.flush()
        compressed += len(data)
        yield data
    big = big or compressed >= MAX32 or size >= MAX32
    yield struct.pack("<IIQQ" if big else "<IIII", 0x08074B50, crc, compressed, size)
    directory.write(_directory_record(name, flags, method, time, date, crc, compressed, size, offset, big))
    return len(header) + compressed + (24 if big else 16)


def _directory_record(name: bytes, flags: int, method: int, time: int, date: int, crc: int, compressed: int, size: int,
                      offset: int, big: bool) -> bytes:
    """Return a member's central directory record; sizes and offset past 32 bits go in a ZIP64 extra field."""
    wide = [value for value in (size, compressed, offset) if value >= MAX32]
    extra = struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
    needed = VERSION64 if big or wide else VERSION
    return struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | needed, needed, flags, method, time, date, crc,
        min(compressed, MAX32), min(size, MAX32), len(name), len(extra), 0, 0, 0, UNIX_FILE, min(offset, MAX32),
    ) + name + extra


def _end(count: int, directory_size: int, directory_offset: int) -> bytes:
    """Return the end of central directory record, after a ZIP64 one and its locator when needed."""
    end = b""
    if count >= MAX16 or directory_size >= MAX32 or directory_offset >= MAX32:
        end_offset = directory_offset + directory_size
        end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, VERSION64, VERSION64, 0, 0, count, count, directory_size, directory_offset)
        end += struct.pack("<IIQI", 0x07064B50, 0, end_offset, 1)
    return end + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, MAX16), min(count, MAX16),
                             min(directory_size, MAX32), min(directory_offset, MAX32), 0)


def _dos_time(moment: datetime) -> tuple[int, int]:
    """Return a member's DOS time and date (zip cannot say before 1980)."""
    if moment.year < 1980:
        return 0, (1 << 5) | 1
    return (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2), ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day
