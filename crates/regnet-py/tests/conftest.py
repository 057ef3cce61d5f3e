"""Shared fixtures of the Python tests: where the repository, its fixtures and the ``regnet``
command are, and the command's output for the fixtures (what the module must equal).

The module under test is the installed wheel (``pip install target/wheels/regnet-*.whl``), not
the source folder. The command is ``$REGNET_CLI``, else ``target/release/regnet`` under
``$CARGO_TARGET_DIR`` or the repository; tests that compare with it skip without it. Tests that
need the fixtures of ``testdata/build.sh`` (``target/testdata``) skip when they are absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "testdata" / "example"
SCHEMA_DIR = REPO / "docs" / "schema"


def cli_path() -> Path | None:
    """The ``regnet`` command to compare with, if there is one."""
    if os.environ.get("REGNET_CLI"):
        return Path(os.environ["REGNET_CLI"]).resolve()
    for base in filter(None, [os.environ.get("CARGO_TARGET_DIR"), str(REPO / "target")]):
        p = Path(base) / "release" / "regnet"
        if p.is_file():
            return p
    found = shutil.which("regnet")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def cli() -> Path:
    p = cli_path()
    if p is None or not p.is_file():
        pytest.skip("no regnet command: set REGNET_CLI or build it (cargo build --release -p regnet-cli)")
    return p


def run_cli(cli: Path, *args: str | os.PathLike[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the command from the repository root (so that relative paths match)."""
    r = subprocess.run([str(cli), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"regnet {' '.join(map(str, args))} failed: {r.stderr}")
    return r


def batch_raw(cli: Path, images: list[str], *extra: str) -> list[str]:
    """``regnet extract IMG...`` batch lines as written, one per image in order (at least two
    images are given to the command, so that it writes JSON lines; a lone image is given twice)."""
    args = images if len(images) > 1 else images * 2
    r = run_cli(cli, "extract", *extra, *args, check=False)
    lines = r.stdout.splitlines()
    assert len(lines) == len(args), r.stderr
    return lines[: len(images)]


def batch(cli: Path, images: list[str], *extra: str) -> list[dict[str, Any]]:
    """``regnet extract IMG...`` batch lines, parsed."""
    return [json.loads(line) for line in batch_raw(cli, images, *extra)]


def compact(obj: Any) -> str:
    """JSON as serde_json writes it compactly (the command's batch lines)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def need(path: Path) -> Path:
    """``path``, or a skip saying which fixture is missing."""
    if not path.exists():
        pytest.skip(f"{path} is absent: run testdata/build.sh")
    return path


def rel(path: Path) -> str:
    """A repository path as the tests pass it (relative to the repository root, the cwd of runs)."""
    return str(path.relative_to(REPO))


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in the repository root, as the command does, so relative paths agree."""
    monkeypatch.chdir(REPO)


T = "target/testdata"

# Fixtures whose guest is read: (path relative to the repository, single file a stream can hold).
GOOD: list[tuple[str, bool]] = [
    ("testdata/example/disk.qcow2", True),
    ("testdata/example/app-srv-07.vmx", False),
    *((f"{T}/images/{n}", True) for n in (
        "gpt.raw", "mbr.raw", "logical.raw", "bare.raw", "gpt-dynamic.vhd", "gpt-fixed.vhd", "gpt-dynamic.vhdx",
        "gpt-fixed.vhdx", "gpt-sparse.vmdk", "gpt-stream.vmdk", "gpt.qcow2", "gpt-v2.qcow2", "mbr-compressed.qcow2",
        "gpt4k.raw", "fragmented.raw", "big40g.raw", "clean.qcow2",
    )),
    (f"{T}/images/flat/gpt-flat.vmdk", False),
    *((f"{T}/linux/{n}", True) for n in (
        "ubuntu-lvm.vmdk", "debian-mbr.raw", "rocky-lvm.vhdx", "alma-cloud.vhd", "ubuntu-cloud.qcow2", "wrapped.raw",
    )),
    (f"{T}/linux/rootfs-ubuntu", False),
    *((f"{T}/vms/{n}", False) for n in (
        "esxi/app-srv-07.vmx", "esxi/chain.vmdk", "esxi/chain-000002.vmdk", "libvirt/web-srv-08.xml",
        "ova/app-srv-07.ova", "ova/app-srv-07.ovf",
    )),
]

# Fixtures that fail, with the exception class name their failure must raise.
BAD: list[tuple[str, str]] = [
    (f"{T}/images/nowin.raw", "NoGuestError"),
    (f"{T}/images/two.raw", "AmbiguousError"),
    (f"{T}/images/bitlocker.raw", "EncryptedError"),
    (f"{T}/images/truncated.raw", "NoGuestError"),
    (f"{T}/linux/fedora-btrfs.raw", "UnsupportedError"),
    (f"{T}/linux/luks.raw", "EncryptedError"),
    (f"{T}/linux/debian-2pv-disk1.raw", "NoGuestError"),
    (f"{T}/vms/hostile/bomb.xml", "VmConfigError"),
    (f"{T}/vms/hostile/shadow.vmx", "NoGuestError"),
    (f"{T}/vms/hostile/many-nics.vmx", "LimitExceededError"),
    ("testdata/example/plan.json", "ImageError"),
    ("testdata/example/no-such-disk.vmdk", "IoError"),
]


def present(path: str) -> bool:
    """Whether a fixture exists (the missing-file case exists by being absent)."""
    return "no-such" in path or (REPO / path).exists()


@pytest.fixture(scope="session")
def cli_lines(cli: Path) -> dict[str, str]:
    """The command's batch line for every fixture present, by path: one run for all of them."""
    paths = [p for p, _ in GOOD if present(p)] + [p for p, _ in BAD if present(p)]
    return dict(zip(paths, batch_raw(cli, paths)))


def line_for(cli_lines: dict[str, str], path: str) -> dict[str, Any]:
    if path not in cli_lines:
        pytest.skip(f"{path} is absent: run testdata/build.sh")
    parsed: dict[str, Any] = json.loads(cli_lines[path])
    return parsed


def validator(name: str) -> Any:
    """A jsonschema validator for docs/schema/NAME.schema.json, or None when it is not there yet."""
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.is_file():
        return None
    import jsonschema

    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


_VALIDATORS: dict[str, Any] = {}


def check_schema(name: str, document: Any) -> None:
    """Validates a report or mapping (``to_dict()``) against docs/schema/NAME.schema.json when that
    file exists (test_schema.py says when it does not)."""
    if name not in _VALIDATORS:
        _VALIDATORS[name] = validator(name)
    v = _VALIDATORS[name]
    if v is not None:
        v.validate(document)
