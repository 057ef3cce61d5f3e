#!/usr/bin/env bash
# Tests the Python module (crates/regnet-py): builds the abi3 wheel with maturin, installs it into
# a fresh virtual environment, checks the package and the examples with mypy --strict, and runs
# the pytest suite (which compares the module with the release `regnet` command, built here too),
# then times examples/dask_fanout.py on 1 and on 2 local workers.
#
# Everything goes under the cargo target folder ($CARGO_TARGET_DIR, else target/): pyenv/tools
# (maturin), pyenv/test (the fresh environment), wheels/. Needs python3 >= 3.10 with venv and
# PyPI. As root with apt-get, a missing python3-venv is installed (REGNET_NO_INSTALL=1 prevents).
# The fixtures of testdata/build.sh are built first when target/testdata is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
target=${CARGO_TARGET_DIR:-$repo/target}
case $target in /*) ;; *) target=$repo/$target ;; esac
export CARGO_TARGET_DIR=$target PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
python=${PYTHON:-python3}

# Versions known to work together (CPython 3.10-3.13).
maturin_req="maturin==1.16.0"
test_reqs=("pytest==9.2.0" "mypy==2.4.1" "jsonschema==4.26.0" "dask[distributed]==2026.8.0")

step() { echo "== test-python: $* ($SECONDS s)"; }

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  { echo "scripts/test-python.sh: $python is older than 3.10" >&2; exit 1; }
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "${REGNET_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "scripts/test-python.sh: installing python3-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3-venv >/dev/null
  else
    echo "scripts/test-python.sh: $python has no venv/ensurepip module (Debian: python3-venv)" >&2
    exit 1
  fi
fi

if [ ! -d target/testdata ]; then
  step "building the fixtures (testdata/build.sh)"
  testdata/build.sh
fi

tools=$target/pyenv/tools
if [ ! -x "$tools/bin/maturin" ] || [ "$(cat "$tools/.reqs" 2>/dev/null)" != "$maturin_req" ]; then
  step "tools environment ($maturin_req)"
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install -q "$maturin_req"
  echo "$maturin_req" >"$tools/.reqs"
fi

step "wheel (maturin build --release)"
rm -f "$target"/wheels/regnet-*.whl
"$tools/bin/maturin" build --release --locked -m crates/regnet-py/Cargo.toml --out "$target/wheels"
wheel=$(ls "$target"/wheels/regnet-*-cp310-abi3-*.whl)
echo "test-python: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

if [ -z "${REGNET_CLI:-}" ]; then
  step "the regnet command to compare with (cargo build --release -p regnet-cli)"
  cargo build --release --locked --quiet -p regnet-cli
  export REGNET_CLI=$target/release/regnet
fi

step "fresh environment with the wheel"
venv=$target/pyenv/test
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q "$wheel" "${test_reqs[@]}"

step "mypy --strict (the package, examples/python, examples/dask_fanout.py)"
# From outside the repository, so that the installed package is the one checked.
(cd "$target" && "$venv/bin/mypy" --strict --cache-dir "$target/pyenv/mypy-cache" -p regnet &&
  "$venv/bin/mypy" --strict --cache-dir "$target/pyenv/mypy-cache" "$repo"/examples/python/*.py "$repo/examples/dask_fanout.py")

step "pytest"
"$venv/bin/python" -m pytest -p no:cacheprovider -q -rs crates/regnet-py/tests

step "examples/dask_fanout.py on 1 and on 2 local worker processes (time only, no assertion)"
manifest=$target/pyenv/fanout-manifest.txt
{
  echo "# the fixtures that exist: images, Linux guests, VM configurations, failures"
  ls testdata/example/disk.qcow2 testdata/example/app-srv-07.vmx
  ls target/testdata/images/*.raw target/testdata/images/*.vhd* target/testdata/images/*.qcow2 \
    target/testdata/images/*.vmdk target/testdata/linux/*.raw target/testdata/linux/*.vhd* \
    target/testdata/linux/*.qcow2 target/testdata/linux/*.vmdk target/testdata/vms/*/*.vmx 2>/dev/null || true
} >"$manifest"
# The list once, then ten times over (enough tasks for the workers to matter beside Dask's overhead).
for i in 1 2 3 4 5 6 7 8 9 10; do grep -v '^#' "$manifest"; done >"$manifest.x10"
for m in "$manifest" "$manifest.x10"; do
  for workers in 1 2; do
    "$venv/bin/python" examples/dask_fanout.py "$m" "$target/pyenv/fanout-$workers.jsonl" \
      --workers "$workers" --time || true
  done
  cmp "$target/pyenv/fanout-1.jsonl" "$target/pyenv/fanout-2.jsonl"
done
step "done"
