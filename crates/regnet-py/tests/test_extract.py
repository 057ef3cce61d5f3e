"""regnet.extract against the regnet command: the same reports and the same errors, from paths
and from streams (open files, io.BytesIO, file-likes that misbehave), from several threads."""

from __future__ import annotations

import io
import mmap
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import regnet
from conftest import BAD, GOOD, REPO, batch, check_schema, compact, line_for

GOOD_PATHS = [p for p, _ in GOOD]
STREAMABLE = [p for p, single in GOOD if single]
# io.BytesIO holds the whole image: only images of at most 128 MiB (apparent size) go there.
SMALL = 128 << 20


@pytest.mark.parametrize("path", GOOD_PATHS)
def test_report_equals_cli(cli_lines: dict[str, str], path: str) -> None:
    want = line_for(cli_lines, path)
    report = regnet.extract(path)
    assert report.to_dict() == want["report"]
    # Byte for byte: the batch line the command wrote, rebuilt from the dataclasses.
    assert compact({"image": path, "report": report.to_dict()}) == cli_lines[path]
    assert regnet.Report.from_dict(want["report"]) == report
    check_schema("report", report.to_dict())


@pytest.mark.parametrize("path", GOOD_PATHS)
def test_pathlike_equals_str(cli_lines: dict[str, str], path: str) -> None:
    line_for(cli_lines, path)
    assert regnet.extract(Path(path)) == regnet.extract(path)


@pytest.mark.parametrize(("path", "cls"), BAD)
def test_error_equals_cli(cli_lines: dict[str, str], path: str, cls: str) -> None:
    want = line_for(cli_lines, path)
    expected: type[regnet.RegnetError] = getattr(regnet, cls)
    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(path)
    assert type(info.value) is expected
    assert str(info.value) == want["error"]
    assert info.value.kind == expected.kind
    assert compact({"image": path, "error": str(info.value)}) == cli_lines[path]


def test_io_error_is_oserror() -> None:
    with pytest.raises(OSError) as info:
        regnet.extract("testdata/example/no-such-disk.vmdk")
    assert isinstance(info.value, regnet.IoError)
    assert info.value.kind == "io"


@pytest.mark.parametrize("path", STREAMABLE)
def test_open_file_equals_cli(cli_lines: dict[str, str], path: str) -> None:
    """An open file's report is the command's, field for field: its name is the path, and the
    stream is read as the file is (the same reads, the same bytes)."""
    want = line_for(cli_lines, path)
    with open(path, "rb") as f:
        report = regnet.extract(f)
    assert report.source is not None and report.source.image == path
    assert report.to_dict() == want["report"]
    check_schema("report", report.to_dict())


@pytest.mark.parametrize("path", STREAMABLE)
def test_memory_stream_equals_cli_but_its_name(cli_lines: dict[str, str], path: str) -> None:
    """From memory (io.BytesIO; an mmap for an image over 128 MiB) the report is the command's
    except ``source.image``, which names the stream (``"<stream>"``, or ``name=``)."""
    want = line_for(cli_lines, path)
    expected = dict(want["report"], source=dict(want["report"]["source"], image="<stream>"))
    with open(path, "rb") as f:
        if os.path.getsize(path) <= SMALL:
            data = f.read()
            report = regnet.extract(io.BytesIO(data))
            named = regnet.extract(io.BytesIO(data), name=path)
        else:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                report = regnet.extract(m)  # type: ignore[arg-type]
                named = regnet.extract(m, name=path)  # type: ignore[arg-type]
    assert report.to_dict() == expected
    assert named.to_dict() == want["report"]


class ReadOnly:
    """A minimal binary stream: read and seek only (no readinto), over bytes."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        return self.inner.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)


def example_bytes() -> bytes:
    return (REPO / "testdata/example/disk.qcow2").read_bytes()


def test_stream_without_readinto(cli: Path) -> None:
    want = batch(cli, ["testdata/example/disk.qcow2"])[0]["report"]
    s = ReadOnly(example_bytes())
    report = regnet.extract(s, name="testdata/example/disk.qcow2")
    assert report.to_dict() == want
    assert s.reads > 0


def test_stream_with_readinto_only(cli: Path) -> None:
    class IntoOnly:
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readinto(self, buffer: Any) -> int:
            return self.inner.readinto(buffer)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.inner.seek(offset, whence)

    want = batch(cli, ["testdata/example/disk.qcow2"])[0]["report"]
    report = regnet.extract(IntoOnly(example_bytes()), name="testdata/example/disk.qcow2")
    assert report.to_dict() == want


class FailingAfter(io.BytesIO):
    """A stream whose read (and readinto) raises after ``n`` calls."""

    def __init__(self, data: bytes, n: int, exc: BaseException) -> None:
        super().__init__(data)
        self.n = n
        self.exc = exc
        self.calls = 0

    def _tick(self) -> None:
        self.calls += 1
        if self.calls > self.n:
            raise self.exc

    def read(self, size: int | None = -1, /) -> bytes:
        self._tick()
        return super().read(size)

    def readinto(self, buffer: Any, /) -> int:
        self._tick()
        return super().readinto(buffer)


@pytest.mark.parametrize("n", [0, 3, 8])
def test_stream_that_raises_midway(n: int) -> None:
    boom = OSError(5, "the backup store went away")
    stream = FailingAfter(example_bytes(), n, boom)
    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(stream)
    text = str(info.value)
    assert "readinto() raised OSError: [Errno 5] the backup store went away" in text, text
    assert info.value.__cause__ is boom
    # Not called again after it failed.
    assert stream.calls == n + 1


def test_stream_that_raises_in_read() -> None:
    class Bad(ReadOnly):
        def read(self, n: int = -1) -> bytes:
            raise ValueError("no more")

    with pytest.raises(regnet.IoError) as info:
        regnet.extract(Bad(example_bytes()))
    assert "read() raised ValueError: no more" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_stream_interrupt_is_raised_as_it_is() -> None:
    stream = FailingAfter(example_bytes(), 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        regnet.extract(stream)


def test_stream_returning_too_much() -> None:
    class Liar(ReadOnly):
        def read(self, n: int = -1) -> bytes:
            return self.inner.read(n) + b"x"

    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(Liar(example_bytes()))
    assert "bytes, but" in str(info.value) and "were asked" in str(info.value), str(info.value)


def test_stream_readinto_claiming_too_much() -> None:
    class Liar(io.BytesIO):
        def readinto(self, buffer: Any, /) -> int:
            super().readinto(buffer)
            return len(buffer) + 100

    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(Liar(example_bytes()))
    assert "readinto() returned" in str(info.value), str(info.value)


def test_stream_returning_text() -> None:
    class Text(ReadOnly):
        def read(self, n: int = -1) -> Any:
            return "text"

    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(Text(example_bytes()))
    assert "read() returned str, not bytes" in str(info.value)


def test_stream_seek_failing() -> None:
    class NoSeek(ReadOnly):
        def seek(self, offset: int, whence: int = 0) -> int:
            raise io.UnsupportedOperation("seek")

    with pytest.raises(regnet.IoError) as info:
        regnet.extract(NoSeek(example_bytes()))
    assert "seek() raised UnsupportedOperation: seek" in str(info.value)


def test_not_a_stream() -> None:
    with pytest.raises(TypeError):
        regnet.extract(42)  # type: ignore[arg-type]
    with open("testdata/example/plan.json", encoding="utf-8") as text:
        with pytest.raises(TypeError, match="text mode"):
            regnet.extract(text)  # type: ignore[arg-type]


def test_stream_of_an_image_naming_other_files(cli_lines: dict[str, str]) -> None:
    """A stream has no folder: a VMDK descriptor naming its extent is refused."""
    path = "target/testdata/images/flat/gpt-flat.vmdk"
    line_for(cli_lines, path)
    with open(path, "rb") as f, pytest.raises(regnet.RegnetError) as info:
        regnet.extract(f)
    assert info.value.kind in ("image", "unsupported"), info.value.kind


@pytest.mark.parametrize("path", GOOD_PATHS)
def test_pickle(cli_lines: dict[str, str], path: str) -> None:
    line_for(cli_lines, path)
    report = regnet.extract(path)
    back = pickle.loads(pickle.dumps(report))
    assert back == report
    assert hash(back) == hash(report)
    assert back.to_dict() == report.to_dict()


@pytest.mark.parametrize(("path", "cls"), BAD)
def test_errors_pickle(cli_lines: dict[str, str], path: str, cls: str) -> None:
    line_for(cli_lines, path)
    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(path)
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is type(info.value)
    assert (str(back), back.kind) == (str(info.value), info.value.kind)


def test_threads(cli_lines: dict[str, str]) -> None:
    """Four threads at once (the interpreter is released while reading) give the same reports as
    one after the other, from paths and from streams."""
    paths = [p for p in GOOD_PATHS if p in cli_lines]
    streams = [p for p in STREAMABLE if p in cli_lines and os.path.getsize(p) <= 8 << 20]
    if len(paths) < 4:
        pytest.skip("too few fixtures: run testdata/build.sh")
    expected = {(p, False): regnet.extract(p) for p in paths}
    data = {p: (REPO / p).read_bytes() for p in streams}
    expected.update({(p, True): regnet.extract(io.BytesIO(data[p]), name=p) for p in streams})

    def job(item: tuple[str, bool]) -> regnet.Report:
        path, stream = item
        if stream:
            return regnet.extract(io.BytesIO(data[path]), name=path)
        return regnet.extract(path)

    work = list(expected) * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, work))
    assert len(results) == len(work)
    for item, report in zip(work, results):
        assert report == expected[item], item


def test_unknown_limit() -> None:
    with pytest.raises(ValueError) as info:
        regnet.extract("testdata/example/disk.qcow2", limits={"max_everything": 1})
    text = str(info.value)
    assert "max_everything" in text
    for name in regnet.LIMIT_NAMES:
        assert name in text


def test_limit_values() -> None:
    with pytest.raises(ValueError):
        regnet.extract("testdata/example/disk.qcow2", limits={"max_bytes_read": -1})
    with pytest.raises(TypeError):
        regnet.extract("testdata/example/disk.qcow2", limits={"max_bytes_read": True})
    with pytest.raises(ValueError, match="too large"):
        regnet.extract("testdata/example/disk.qcow2", limits={"max_key_depth": 1 << 40})


def test_limit_that_trips_equals_cli(cli: Path) -> None:
    path = "testdata/example/disk.qcow2"
    want = batch(cli, [path], "--limit", "max_bytes_read=4096")[0]
    with pytest.raises(regnet.LimitExceededError) as info:
        regnet.extract(path, limits={"max_bytes_read": 4096})
    assert str(info.value) == want["error"]
    assert "max_bytes_read" in str(info.value)
    # The same limit on a stream.
    with open(path, "rb") as f, pytest.raises(regnet.LimitExceededError):
        regnet.extract(f, limits={"max_bytes_read": 4096})


def test_generous_limits_change_nothing() -> None:
    path = "testdata/example/disk.qcow2"
    assert regnet.extract(path, limits={"max_bytes_read": 1 << 30, "max_nics": 64}) == regnet.extract(path)


@pytest.mark.parametrize(
    ("path", "kwargs", "flags"),
    [
        ("testdata/example/disk.qcow2", {"logs": False}, ["--no-logs"]),
        ("target/testdata/images/two.raw", {"partition": 1}, ["--partition", "1"]),
        ("target/testdata/images/two.raw", {"partition": 2}, ["--partition", "2"]),
        ("target/testdata/linux/ubuntu-lvm.vmdk", {"volume": "ubuntu-vg/ubuntu-lv"}, ["--volume", "ubuntu-vg/ubuntu-lv"]),
        ("target/testdata/images/gpt.raw", {"partition": 1}, ["--partition", "1"]),
        ("target/testdata/vms/esxi/app-srv-07.vmx", {"disk": "1"}, ["--disk", "1"]),
    ],
)
def test_options_equal_cli_flags(cli: Path, path: str, kwargs: dict[str, Any], flags: list[str]) -> None:
    if not (REPO / path).exists():
        pytest.skip(f"{path} is absent: run testdata/build.sh")
    want = batch(cli, [path], *flags)[0]
    if "report" in want:
        assert regnet.extract(path, **kwargs).to_dict() == want["report"]
    else:
        with pytest.raises(regnet.RegnetError) as info:
            regnet.extract(path, **kwargs)
        assert str(info.value) == want["error"]


def test_allow_dirs(cli: Path, tmp_path: Path) -> None:
    """A descriptor in another folder opens its extent only in a folder it is allowed."""
    flat = REPO / "target/testdata/images/flat"
    if not flat.exists():
        pytest.skip(f"{flat} is absent: run testdata/build.sh")
    desc = tmp_path / "gpt-flat.vmdk"
    text = (flat / "gpt-flat.vmdk").read_text(encoding="utf-8")
    desc.write_text(text.replace('"gpt-flat-flat.vmdk"', f'"{flat}/gpt-flat-flat.vmdk"'), encoding="utf-8")
    refused = batch(cli, [str(desc)])[0]
    with pytest.raises(regnet.RegnetError) as info:
        regnet.extract(desc)
    assert str(info.value) == refused["error"]
    allowed = batch(cli, [str(desc)], "--allow-dir", str(flat))[0]
    assert regnet.extract(desc, allow_dirs=[flat]).to_dict() == allowed["report"]


def test_vm_configuration_file_as_a_stream_is_refused() -> None:
    """A .vmx names its disks by path: given as a stream it is refused, saying why."""
    with open("testdata/example/app-srv-07.vmx", "rb") as f:
        with pytest.raises(regnet.UnsupportedError) as info:
            regnet.extract(f)
    assert info.value.kind == "unsupported"
    assert "VM configuration file (vmx)" in str(info.value)
