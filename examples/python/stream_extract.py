#!/usr/bin/env python3
"""Read an image through a Python stream: here a file wrapped to count what regnet reads, the way
a backup server would hand in a stream over its store (or pyewf / dissect containers).

    python examples/python/stream_extract.py testdata/example/disk.qcow2
"""

from __future__ import annotations

import io
import sys
from typing import BinaryIO

import regnet


class Counting(io.RawIOBase):
    """A read-only stream over another, counting the bytes and calls regnet makes."""

    def __init__(self, inner: BinaryIO) -> None:
        super().__init__()
        self.inner = inner
        self.bytes = 0
        self.calls = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes += len(data)
        self.calls += 1
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.inner.seek(offset, whence)


def main(path: str) -> int:
    """Extracts ``path`` through the counting stream and prints what it cost."""
    with open(path, "rb") as f:
        stream = Counting(f)
        try:
            report = regnet.extract(stream, name=path)
        except regnet.RegnetError as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
    print(f"{report.hostname}: {len(report.adapters)} adapters")
    print(f"read {stream.bytes} bytes in {stream.calls} calls")
    if report.source is not None:
        print(f"{report.source.container}, {report.source.partition_table} partition {report.source.partition}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
