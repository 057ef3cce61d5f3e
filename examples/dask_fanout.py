#!/usr/bin/env python3
"""Fan regnet out over a Dask cluster: one ``regnet.extract`` per image, on the workers.

    python examples/dask_fanout.py MANIFEST OUT.jsonl [--workers N | --scheduler ADDRESS]

MANIFEST lists image paths (disk images, VM configuration files, mounted guest roots), one per
line (``-``: standard input); leading and trailing white space is trimmed, blank lines and lines
starting with ``#`` are skipped, and relative paths are relative to the current directory: the
rules of ``regnet extract --from``. OUT.jsonl (``-``: standard output) gets one JSON line per
image, in the manifest's order, exactly as ``regnet extract`` writes its batch output::

    {"image":"disks/web01.vmdk","report":{...}}
    {"image":"disks/db02.vhdx","error":"no Windows or Linux system volume found: ..."}

so that the output of a cluster run and of ``regnet extract --from MANIFEST`` are the same bytes.
The exit code is 1 when an image failed, as the command's.

Without ``--scheduler`` a local cluster of N worker processes runs on this machine. To run on
Kubernetes or a batch system, change the one line in :func:`make_cluster` (docs/python.md shows
``KubeCluster`` from dask-kubernetes and ``SLURMCluster``/``PBSCluster`` from dask-jobqueue), or
start the cluster elsewhere and pass its scheduler's address. The images must be readable at the
same paths on the workers (a shared file system or the same mounts in every pod).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import IO, Any

from dask.distributed import Client, Future, LocalCluster

import regnet

# The limits of `regnet extract --from`: a manifest is a list of paths, not a data set.
MAX_MANIFEST_BYTES = 64 << 20
MAX_MANIFEST_PATHS = 1 << 20
MAX_MANIFEST_LINE = 32 << 10


class ManifestError(Exception):
    """The manifest cannot be used (too large, a line too long, no paths)."""


def parse_manifest(data: bytes) -> list[str]:
    """The image paths of a manifest, in order (``regnet extract --from``'s rules)."""
    paths: list[str] = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if len(line) > MAX_MANIFEST_LINE:
            raise ManifestError(f"line {n} is longer than {MAX_MANIFEST_LINE} bytes")
        line = line.strip(b" \t\r\n\f\v")
        if not line or line.startswith(b"#"):
            continue
        if len(paths) == MAX_MANIFEST_PATHS:
            raise ManifestError(f"more than {MAX_MANIFEST_PATHS} paths; split it")
        paths.append(os.fsdecode(line))
    if not paths:
        raise ManifestError("no image paths in it (empty, or only blank lines and comments)")
    return paths


def read_manifest(source: str) -> list[str]:
    """Reads and parses the manifest at ``source`` (``-``: standard input)."""
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_MANIFEST_BYTES + 1)
        else:
            with open(source, "rb") as f:
                data = f.read(MAX_MANIFEST_BYTES + 1)
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB; split it")
        return parse_manifest(data)
    except (OSError, ManifestError) as e:
        raise ManifestError(f"manifest {name}: {e}") from None


def parse_size(text: str) -> int:
    """``123``, ``64K``, ``16M``, ``2G`` (binary multiples), as ``--limit`` takes them."""
    t = text.strip()
    shift = {"K": 10, "M": 20, "G": 30}.get(t[-1:].upper(), 0)
    number = t[:-1] if shift else t
    return int(number.strip()) << shift


def extract_one(image: str, options: dict[str, Any]) -> regnet.Report | str:
    """Runs on a worker: the image's report, or the error's text (what ``regnet extract`` prints)."""
    try:
        return regnet.extract(image, **options)
    except regnet.RegnetError as e:
        return str(e)


def json_line(image: str, outcome: regnet.Report | str) -> str:
    """One line of batch output, byte for byte as ``regnet extract`` writes it (compact, UTF-8,
    the contract's key order)."""
    display = os.fsencode(image).decode("utf-8", "replace")
    body: dict[str, Any] = {"image": display}
    if isinstance(outcome, regnet.Report):
        body["report"] = outcome.to_dict()
    else:
        body["error"] = outcome
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def make_cluster(workers: int, threads: int) -> Any:
    """The cluster the images are read on. Change this line to run elsewhere, e.g.
    ``dask_kubernetes.operator.KubeCluster(name="regnet", image="...", n_workers=workers)`` or
    ``dask_jobqueue.SLURMCluster(cores=threads, memory="2GB", processes=1)`` then ``.scale(workers)``."""
    cluster: Any = LocalCluster  # (distributed's constructors are not annotated)
    return cluster(processes=True, n_workers=workers, threads_per_worker=threads, host="127.0.0.1", dashboard_address=None)


def connect(to: Any) -> Client:
    """A client of the cluster (or of the scheduler at an address)."""
    make: Any = Client
    client: Client = make(to)
    return client


def extract_batch(images: list[str], options: dict[str, Any]) -> list[regnet.Report | str]:
    """Runs on a worker: :func:`extract_one` for each of a few images (one task for several keeps
    Dask's cost per task, a few milliseconds, small beside small images)."""
    return [extract_one(image, options) for image in images]


def batch_size(requested: int, images: int, workers: int) -> int:
    """Images per task: as requested, else (0) enough for about four tasks per worker, at most 16."""
    if requested > 0:
        return requested
    return max(1, min(16, -(-images // (4 * max(1, workers)))))


def in_order(
    client: Client, images: Sequence[str], options: dict[str, Any], window: int, batch: int
) -> Iterator[tuple[str, regnet.Report | str]]:
    """Each image with its outcome, in manifest order, ``batch`` images a task, with at most
    ``window`` images in flight."""
    pending: deque[tuple[list[str], Future[list[regnet.Report | str]]]] = deque()

    def finished() -> Iterator[tuple[str, regnet.Report | str]]:
        done, future = pending.popleft()
        outcomes = future.result()
        if len(outcomes) != len(done):
            raise RuntimeError(f"a worker returned {len(outcomes)} results for {len(done)} images")
        return zip(done, outcomes)

    for start in range(0, len(images), batch):
        chunk = list(images[start : start + batch])
        pending.append((chunk, client.submit(extract_batch, chunk, options, pure=False)))
        if len(pending) * batch >= window:
            yield from finished()
    while pending:
        yield from finished()


def run(
    images: Sequence[str], out: IO[str], client: Client, options: dict[str, Any], window: int, batch: int
) -> int:
    """Writes every image's line to ``out``, as each is known in order; returns how many failed."""
    failed = 0
    for image, outcome in in_order(client, images, options, window, batch):
        failed += isinstance(outcome, str)
        out.write(json_line(image, outcome) + "\n")
        out.flush()
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("manifest", help="file with one image path a line (- for standard input)")
    p.add_argument("out", help="JSON lines output (- for standard output)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running cluster's scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="local worker processes")
    p.add_argument("--threads", type=int, default=1, help="threads per local worker (regnet releases the GIL)")
    p.add_argument("--window", type=int, default=1024, help="images in flight at once")
    p.add_argument("--batch", type=int, default=0, help="images a task (default: about 4 tasks a worker, at most 16)")
    p.add_argument("--no-logs", action="store_true", help="do not replay the hives' transaction logs")
    p.add_argument("--allow-dir", action="append", default=[], metavar="DIR", help="as regnet extract --allow-dir")
    p.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE", help="as regnet extract --limit")
    p.add_argument("--time", action="store_true", help="print the elapsed time on standard error")
    args = p.parse_args(argv)

    try:
        images = read_manifest(args.manifest)
    except ManifestError as e:
        print(f"dask_fanout: {e}", file=sys.stderr)
        return 1
    limits: dict[str, int] = {}
    for item in args.limit:
        name, _, value = item.partition("=")
        try:
            limits[name.strip()] = parse_size(value)
        except ValueError:
            print(f"dask_fanout: --limit {item!r}: expected NAME=VALUE (K, M, G suffixes allowed)", file=sys.stderr)
            return 1
        if name.strip() not in regnet.LIMIT_NAMES:
            print(f"dask_fanout: unknown limit {name.strip()!r}; known: {', '.join(regnet.LIMIT_NAMES)}", file=sys.stderr)
            return 1
    options: dict[str, Any] = {"logs": not args.no_logs, "allow_dirs": args.allow_dir, "limits": limits}

    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(connect(args.scheduler))
        else:
            cluster = stack.enter_context(make_cluster(args.workers, args.threads))
            client = stack.enter_context(connect(cluster))
        ready = time.monotonic()
        workers = len(client.scheduler_info().get("workers", {}))
        batch = batch_size(args.batch, len(images), workers)
        out = sys.stdout if args.out == "-" else stack.enter_context(open(args.out, "w", encoding="utf-8"))
        failed = run(images, out, client, options, max(1, args.window), batch)
        done = time.monotonic()
    if args.time:
        print(
            f"dask_fanout: {len(images)} images ({failed} failed) on {workers} workers, {batch} a task,"
            f" in {done - ready:.2f} s"
            f" (cluster up in {ready - started:.2f} s)",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
