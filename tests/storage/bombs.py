"""Images whose header promises far more pixels than their bytes suggest (decompression bombs)."""
from __future__ import annotations

import struct
import zlib


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """Return a valid 1-bit grey PNG of `width` x `height`: a few KB that decode to width*height bytes."""
    row = b"\0" * (1 + (width + 7) // 8)  # the filter byte, then the packed bits of one row
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
