"""regnet.report_from_hive against `regnet hive`: from a path (logs found beside it) and from
bytes (logs given); real Windows hives of the shared corpus when it is there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import regnet
from conftest import EXAMPLE, REPO, check_schema, run_cli

SYSTEM = "testdata/example/SYSTEM"
CORPUS = REPO.parent / "shared" / "corpus"


def cli_hive(cli: Path, path: str, *flags: str) -> tuple[str, str, int]:
    r = run_cli(cli, "hive", *flags, path, check=False)
    return r.stdout, r.stderr, r.returncode


def test_example_equals_cli(cli: Path) -> None:
    stdout, _, rc = cli_hive(cli, SYSTEM)
    assert rc == 0
    report = regnet.report_from_hive(SYSTEM)
    assert report.to_dict() == json.loads(stdout)
    assert report.to_json(indent=2) + "\n" == stdout
    assert report.hive.logs_applied == ("SYSTEM.LOG1", "SYSTEM.LOG2")
    check_schema("report", report.to_dict())


def test_no_logs_equals_cli(cli: Path) -> None:
    stdout, _, rc = cli_hive(cli, SYSTEM, "--no-logs")
    assert rc == 0
    report = regnet.report_from_hive(Path(SYSTEM), logs=False)
    assert report.to_dict() == json.loads(stdout)
    assert any(w.code == "dirty_not_recovered" for w in report.warnings)


def test_bytes_with_logs() -> None:
    primary = (EXAMPLE / "SYSTEM").read_bytes()
    log1 = (EXAMPLE / "SYSTEM.LOG1").read_bytes()
    log2 = (EXAMPLE / "SYSTEM.LOG2").read_bytes()
    from_path = regnet.report_from_hive(SYSTEM)
    named = regnet.report_from_hive(primary, log_bytes=[("SYSTEM.LOG1", log1), ("SYSTEM.LOG2", bytearray(log2))])
    assert named == from_path
    unnamed = regnet.report_from_hive(bytearray(primary), log_bytes=[log1, memoryview(log2)])
    assert unnamed.hive.logs_applied == ("LOG1", "LOG2")
    assert unnamed.adapters == from_path.adapters
    stale = regnet.report_from_hive(primary)
    assert stale == regnet.report_from_hive(SYSTEM, logs=False)
    assert regnet.report_from_hive(primary, log_bytes=[log1, log2], logs=False) == stale


def test_hive_errors() -> None:
    with pytest.raises(regnet.HiveError):
        regnet.report_from_hive(b"not a hive at all")
    with pytest.raises(regnet.IoError):
        regnet.report_from_hive("testdata/example/NO-SUCH-HIVE")
    with pytest.raises(regnet.LimitExceededError, match="max_hive_size"):
        regnet.report_from_hive(SYSTEM, limits={"max_hive_size": 4096})
    with pytest.raises(TypeError):
        regnet.report_from_hive(SYSTEM, log_bytes=[b""])
    with pytest.raises(TypeError):
        regnet.report_from_hive(12)  # type: ignore[arg-type]


def test_hivex_fixture(cli: Path) -> None:
    path = "target/testdata/hivex/SYSTEM"
    if not (REPO / path).exists():
        pytest.skip(f"{path} is absent: run testdata/build.sh")
    stdout, _, rc = cli_hive(cli, path)
    assert rc == 0
    assert regnet.report_from_hive(path).to_dict() == json.loads(stdout)


@pytest.mark.parametrize("name", ["regipy/SYSTEM", "regipy/SYSTEM_B", "regipy/corrupted_system_hive"])
def test_corpus(cli: Path, name: str) -> None:
    """Real Windows hives (../shared/corpus, not in the repository): the same report, or the same
    error, as the command."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the real-hive corpus is not on this machine")
    stdout, stderr, rc = cli_hive(cli, str(path))
    if rc == 0:
        report = regnet.report_from_hive(path)
        assert report.to_dict() == json.loads(stdout)
        assert regnet.report_from_hive(path.read_bytes(), logs=False) == regnet.report_from_hive(path, logs=False)
        check_schema("report", report.to_dict())
    else:
        with pytest.raises(regnet.RegnetError) as info:
            regnet.report_from_hive(path)
        # `regnet hive` names the file before the library's message.
        assert stderr == f"regnet: {path}: {info.value}\n"
