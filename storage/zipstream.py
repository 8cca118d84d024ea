"""A zip archive written as a stream of chunks, its members read a chunk at a time.

`zipfile` writes to any object with `write`: given one that cannot `tell` or `seek`, it puts each
member's sizes and CRC in a data descriptor after its bytes instead of going back to its header.
So the archive needs no temporary file: the bytes each `write` makes are handed on as they come, and
memory holds one chunk, plus the central directory (a small record per member, which zip puts at
the end).
"""
from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".zip", ".gz")  # already compressed: stored as they are
ZIP64_LIMIT = zipfile.ZIP64_LIMIT


@dataclass(frozen=True)
class Member:
    """A file of the archive: its name, its size in bytes, when it changed, and how to read it in chunks."""

    name: str
    size: int
    modified: datetime
    chunks: Callable[[], Iterable[bytes]]


class _Pipe:
    """Where zipfile writes: what it wrote waits here until it is taken (no tell, no seek)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_chunks(members: Iterable[Member]) -> Iterator[bytes]:
    """Yield the bytes of a zip archive of the members, in order, as they are written (ZIP64 where a
    member or the member count needs it)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", allowZip64=True) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=_dos_time(member.modified))
            info.compress_type = zipfile.ZIP_STORED if member.name.lower().endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            info.file_size = member.size  # tells zipfile whether this member needs ZIP64 sizes
            with archive.open(info, mode="w") as out:
                for chunk in member.chunks():
                    out.write(chunk)
                    if data := pipe.take():
                        yield data
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data


def _dos_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """Return a zip member's time (zip cannot say before 1980)."""
    return max((moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second), (1980, 1, 1, 0, 0, 0))
