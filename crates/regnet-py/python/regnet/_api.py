"""The functions of the regnet module: extract, report_from_hive, map."""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Iterable, Mapping as MappingABC, Sequence
from typing import IO, Any, Protocol, Union, runtime_checkable

from . import _native
from ._errors import RegnetWarning
from ._model import Mapping, Report

__all__ = ["extract", "report_from_hive", "map", "LIMIT_NAMES", "BinaryStream", "Source", "Spec", "MapInput"]

LIMIT_NAMES: tuple[str, ...] = _native.LIMIT_NAMES
"""Every resource limit ``limits=`` accepts, by name (hive, image, then VM configuration limits)."""


@runtime_checkable
class BinaryStream(Protocol):
    """What :func:`extract` reads an image from: ``read(n) -> bytes`` and ``seek(offset, whence) -> int``
    (``readinto(buffer) -> int`` is used instead of ``read`` when present)."""

    def read(self, size: int = ..., /) -> bytes:
        """Reads at most ``size`` bytes."""
        ...

    def seek(self, offset: int, whence: int = ..., /) -> int:
        """Moves to ``offset`` from the start (0), the current position (1) or the end (2)."""
        ...


Source = Union[str, "os.PathLike[str]", BinaryStream, IO[bytes]]
"""A path, or a binary file-like object."""

Spec = Union[MappingABC[str, Any], str, "os.PathLike[str]"]
"""A plan or table: a dict, JSON or TOML text, or a path to a file holding one."""

MapInput = Union[Report, MappingABC[str, Any], str, "os.PathLike[str]"]
"""One VM for :func:`map`: a report, a dict (a report, a batch line, a VM file), or a path."""


def _limits(limits: MappingABC[str, int] | None) -> list[tuple[str, int]]:
    if limits is None:
        return []
    if not isinstance(limits, MappingABC):
        raise TypeError(f"limits must be a mapping of limit name to int, not {type(limits).__name__}")
    out: list[tuple[str, int]] = []
    for name, value in limits.items():
        if not isinstance(name, str):
            raise TypeError(f"limit names are strings, not {type(name).__name__}")
        if type(value) is not int:
            raise TypeError(f"limit {name!r}: expected an int, got {type(value).__name__}")
        if value < 0 or value >= 1 << 64:
            raise ValueError(f"limit {name!r}: {value} is out of range (0 to 2**64-1)")
        out.append((name, value))
    return out


def _optional_int(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << 32:
        raise ValueError(f"{name} {value} is out of range")
    return value


def _optional_str(name: str, value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _paths(name: str, values: Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(values, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a sequence of paths, not a single path")
    return [os.fspath(v) for v in values]


def _is_path(source: object) -> bool:
    return isinstance(source, (str, os.PathLike))


def extract(
    source: Source,
    *,
    partition: int | None = None,
    volume: str | None = None,
    disk: str | None = None,
    logs: bool = True,
    allow_dirs: Sequence[str | os.PathLike[str]] = (),
    limits: MappingABC[str, int] | None = None,
    name: str | None = None,
) -> Report:
    """The network settings of the guest on a disk image, as ``regnet extract`` reads them.

    ``source`` is a path (``str`` or ``os.PathLike``) to a disk image (raw, VHD, VHDX, VMDK,
    qcow2), a VM configuration file (``.vmx``, ``.ovf``/``.ova``, libvirt XML) or a mounted guest
    root; or a binary file-like object with ``read``/``readinto`` and ``seek`` holding a disk
    image (an open file, ``io.BytesIO``, a stream from pyewf or dissect). A stream is one file:
    an image that names others (VMDK extents, parents, backing files) needs a path.

    ``partition`` (GPT entry or MBR number, 0 for a bare volume), ``volume`` (an LVM ``"VG/LV"``)
    and ``disk`` (a VM's disk by device or number) choose when several hold a guest. ``logs=False``
    does not replay the hive's transaction logs. ``allow_dirs`` are further folders an image may
    open the files it names in (paths only). ``limits`` sets resource limits by name (see
    :data:`LIMIT_NAMES`; an unknown name is a :class:`ValueError`). ``name`` is the stream's name in
    the report (``source.image``) and in messages; by default its ``.name``, else ``"<stream>"``.

    The interpreter is released while the image is read, so threads extract in parallel.
    Raises a :class:`~regnet.RegnetError` subclass (``str(exc)`` is what ``regnet extract`` prints).
    """
    common = (
        _optional_int("partition", partition),
        _optional_str("volume", volume),
        _optional_str("disk", disk),
        bool(logs),
    )
    limit_list = _limits(limits)
    if _is_path(source):
        if name is not None:
            raise TypeError("name= is for streams: a path names itself")
        path = os.fspath(source)  # type: ignore[arg-type]
        if not isinstance(path, str):
            raise TypeError("paths must be str or os.PathLike[str], not bytes")
        text = _native.extract_path(path, *common, _paths("allow_dirs", allow_dirs), limit_list)
    else:
        if isinstance(source, io.TextIOBase):
            raise TypeError("the stream is open in text mode: open the image with 'rb'")
        if not (hasattr(source, "seek") and (hasattr(source, "read") or hasattr(source, "readinto"))):
            raise TypeError(
                f"source must be a path or a binary file-like object with read() and seek(), not {type(source).__name__}"
            )
        if name is None:
            own = getattr(source, "name", None)
            name = own if isinstance(own, str) else "<stream>"
        elif not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        text = _native.extract_stream(source, name, *common, limit_list)
    return Report.from_dict(json.loads(text))


def report_from_hive(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    logs: bool = True,
    log_bytes: Sequence[bytes | bytearray | memoryview | tuple[str, bytes | bytearray | memoryview]] | None = None,
    limits: MappingABC[str, int] | None = None,
) -> Report:
    """The network settings in a SYSTEM registry hive, as ``regnet hive`` reads them.

    ``source`` is the hive's path (its transaction logs ``SYSTEM.LOG1``/``.LOG2`` are found beside
    it, whatever their case) or its bytes. With bytes, ``log_bytes`` gives the logs: each its bytes
    (named ``LOG1``, ``LOG2``... in the report) or a ``(name, bytes)`` pair; logs are given with a
    path only by being beside it. ``logs=False`` replays none (the primary file as it is).
    ``limits`` sets resource limits by name (the hive's apply here).

    The interpreter is released while the hive is read.
    """
    limit_list = _limits(limits)
    if _is_path(source):
        if log_bytes is not None:
            raise TypeError("log_bytes= is for a hive given as bytes: a hive file's logs are found beside it")
        path = os.fspath(source)  # type: ignore[arg-type]
        if not isinstance(path, str):
            raise TypeError("paths must be str or os.PathLike[str], not bytes")
        text = _native.hive_path(path, bool(logs), limit_list)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        named: list[tuple[str, bytes]] = []
        for i, item in enumerate(log_bytes or (), start=1):
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    raise TypeError("a log is bytes or a (name, bytes) pair")
                named.append((item[0], _bytes(item[1])))
            else:
                named.append((f"LOG{i}", _bytes(item)))
        text = _native.hive_bytes(_bytes(source), named, bool(logs), limit_list)
    else:
        raise TypeError(f"source must be a path or bytes, not {type(source).__name__}")
    return Report.from_dict(json.loads(text))


def _bytes(b: object) -> bytes:
    if isinstance(b, bytes):
        return b
    if isinstance(b, (bytearray, memoryview)):
        return bytes(b)
    raise TypeError(f"expected bytes, not {type(b).__name__}")


def _spec(what: str, spec: Spec) -> tuple[str, str]:
    if isinstance(spec, os.PathLike):
        return ("path", os.fspath(spec))
    if isinstance(spec, str):
        # A str is a file's path when such a file exists, else the plan's text.
        return ("path", spec) if os.path.isfile(spec) else ("text", spec)
    if isinstance(spec, MappingABC):
        return ("text", json.dumps(spec))
    raise TypeError(f"{what} must be a dict, JSON or TOML text, or a path, not {type(spec).__name__}")


def map(
    inputs: Iterable[MapInput],
    plan: Spec,
    table: Spec | None = None,
    *,
    include_absent: bool = False,
    allow_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Mapping:
    """Which cloud network each replica NIC attaches to, as ``regnet map`` decides it (docs/mapping.md).

    ``inputs`` has one item per VM: a :class:`Report`, a dict (a report, a line of ``regnet
    extract`` batch output, or a VM file ``{"name", "os", "nics": [{"network"}]}``), or a path
    (a JSON report or VM file, or a disk image or VM configuration file, extracted as ``regnet map``
    does). ``plan`` and ``table`` are dicts, JSON or TOML text, or paths (a ``str`` naming an
    existing file is read as a path). ``include_absent`` maps adapters reports mark absent too;
    ``allow_dirs`` as for :func:`extract`.

    A VM configuration whose guest cannot be read takes part with its configuration's networks,
    with a :class:`~regnet.RegnetWarning` saying why. Raises :class:`~regnet.MapError` when no
    mapping can be made (its text is ``regnet map``'s), or the extraction error of an input.
    """
    items: list[tuple[str, str]] = []
    if isinstance(inputs, (str, bytes, os.PathLike, MappingABC, Report)):
        raise TypeError("inputs must be a list of VMs (reports, dicts or paths), not a single one")
    for item in inputs:
        if isinstance(item, Report):
            items.append(("text", item.to_json()))
        elif isinstance(item, MappingABC):
            items.append(("text", json.dumps(item)))
        elif isinstance(item, (str, os.PathLike)):
            items.append(("path", os.fspath(item)))
        else:
            raise TypeError(f"a VM is a Report, a dict or a path, not {type(item).__name__}")
    text, notes = _native.map_inputs(
        items,
        _spec("plan", plan),
        None if table is None else _spec("table", table),
        bool(include_absent),
        _paths("allow_dirs", allow_dirs),
    )
    for note in notes:
        warnings.warn(RegnetWarning(note), stacklevel=2)
    return Mapping.from_dict(json.loads(text))
