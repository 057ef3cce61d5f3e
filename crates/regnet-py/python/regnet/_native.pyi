"""Type information for the native half of regnet (Rust, PyO3). Not a public API: use the
functions of the ``regnet`` package. Each function returns the JSON contract as text."""

from typing import Any

LIMIT_NAMES: tuple[str, ...]
SCHEMA_VERSION: int
MAPPING_SCHEMA_VERSION: int
__version__: str

def extract_path(
    path: str,
    partition: int | None,
    volume: str | None,
    disk: str | None,
    logs: bool,
    allow_dirs: list[str],
    limits: list[tuple[str, int]],
) -> str:
    """The report of the image, VM configuration or guest root at ``path``, as JSON text."""

def extract_stream(
    stream: Any,
    name: str,
    partition: int | None,
    volume: str | None,
    disk: str | None,
    logs: bool,
    limits: list[tuple[str, int]],
) -> str:
    """The report of the image read from a binary file-like object, as JSON text."""

def hive_path(path: str, logs: bool, limits: list[tuple[str, int]]) -> str:
    """The report of a SYSTEM hive file (logs found beside it), as JSON text."""

def hive_bytes(primary: bytes, log_files: list[tuple[str, bytes]], logs: bool, limits: list[tuple[str, int]]) -> str:
    """The report of a SYSTEM hive held in bytes, with ``(name, bytes)`` logs, as JSON text."""

def map_inputs(
    inputs: list[tuple[str, str]],
    plan: tuple[str, str],
    table: tuple[str, str] | None,
    include_absent: bool,
    allow_dirs: list[str],
) -> tuple[str, list[str]]:
    """The mapping as JSON text and the notes ``regnet map`` prints on stderr. Each input, the plan
    and the table are ``("path", PATH)`` or ``("text", TEXT)``."""
