"""examples/dask_fanout.py on a local Dask cluster of two worker processes: its JSON lines are the
command's batch output for the same list, byte for byte (reports travel back from the workers
pickled, as frozen dataclasses)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import BAD, GOOD, REPO, present, run_cli

pytest.importorskip("distributed", reason="dask[distributed] is not installed")

SCRIPT = REPO / "examples" / "dask_fanout.py"


def fanout_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dask_fanout", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_images() -> list[str]:
    good = [p for p, _ in GOOD if present(p)][:18]
    bad = [p for p, _ in BAD if present(p)][-4:]
    images = good[:9] + bad[:2] + good[9:] + bad[2:]
    if len(images) < 8:
        pytest.skip("too few fixtures: run testdata/build.sh")
    return images


def test_fanout_equals_cli_batch(cli: Path, tmp_path: Path) -> None:
    images = manifest_images()
    manifest = tmp_path / "manifest.txt"
    lines = ["# the fixtures, with blank lines and comments the reader skips", ""]
    lines += [f"  {p}\t" if i % 5 == 0 else p for i, p in enumerate(images)]
    lines.insert(6, "   # an indented comment")
    manifest.write_text("\r\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), str(manifest), str(out), "--workers", "2", "--time"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
    expected = run_cli(cli, "extract", *images, check=False)
    assert r.returncode == expected.returncode == 1, r.stderr  # an image failed
    got = out.read_text(encoding="utf-8")
    got_lines = got.splitlines()
    want_lines = expected.stdout.splitlines()
    assert len(got_lines) == len(images)
    for image, g, w in zip(images, got_lines, want_lines):
        assert json.loads(g) == json.loads(w), image
        assert json.loads(g)["image"] == image
    assert got == expected.stdout  # byte for byte
    assert sum('"error":' in line and '"report":' not in line for line in got_lines) >= 2


def test_fanout_equals_cli_from(cli: Path, tmp_path: Path) -> None:
    """With a command that has --from, its output for the same manifest is the same bytes."""
    if "--from" not in run_cli(cli, "extract", "--help").stdout:
        pytest.skip("this regnet command has no --from")
    images = manifest_images()[:6]
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(["# six images", *images, ""]))
    out = tmp_path / "out.jsonl"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), str(manifest), str(out), "--workers", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    expected = run_cli(cli, "extract", "--from", str(manifest), check=False)
    assert out.read_text(encoding="utf-8") == expected.stdout, r.stderr


def test_manifest_rules() -> None:
    m = fanout_module()
    assert m.parse_manifest(b"# c\n\n a.raw \r\n\t#x\nb c.vmdk\n") == ["a.raw", "b c.vmdk"]
    with pytest.raises(m.ManifestError, match="no image paths"):
        m.parse_manifest(b"# only\n\n")
    with pytest.raises(m.ManifestError, match="line 2 is longer"):
        m.parse_manifest(b"a\n" + b"x" * (32 * 1024 + 1))
    assert m.parse_size("64K") == 65536 and m.parse_size("2g") == 2 << 30 and m.parse_size("7") == 7
    assert [m.batch_size(0, n, 2) for n in (1, 8, 9, 22, 1000)] == [1, 1, 2, 3, 16]
    assert m.batch_size(5, 1000, 2) == 5


def test_fanout_batches_and_window(cli: Path, tmp_path: Path) -> None:
    """Several images a task and a small window in flight change nothing in the output."""
    images = manifest_images()
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(images) + "\n")
    expected = run_cli(cli, "extract", *images, check=False).stdout
    for flags in (["--batch", "3", "--window", "4"], ["--batch", "1", "--window", "1"]):
        r = subprocess.run(
            [sys.executable, str(SCRIPT), str(manifest), "-", "--workers", "2", *flags],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert r.stdout == expected, (flags, r.stderr)
