#!/usr/bin/env bash
# Runs every test of regnet: builds the fixtures that need real tools
# (testdata/build.sh), then the whole cargo test suite, then the tests of the
# C ABI (scripts/test-capi.sh) and of the Python module (scripts/test-python.sh).
#
# On a machine without the tools (hivex, ...) and without root, the tests that
# need them print why they skip. As root with apt-get, missing Debian packages
# are installed first (set REGNET_NO_INSTALL=1 to prevent that).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libwin-hivex-perl libhivex-bin qemu-utils ntfs-3g wimtools fdisk gdisk dosfstools lvm2 xfsprogs btrfs-progs cryptsetup-bin e2fsprogs netplan.io python3-gi gir1.2-nm-1.0 ewf-tools regripper python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${REGNET_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "scripts/test.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "scripts/test.sh: not installed: ${missing[*]} (the tests that need them will skip)" >&2
  fi
fi

if [ ! -d ../shared/corpus ]; then
  echo "scripts/test.sh: ../shared/corpus is absent: the tests on real Windows hives skip (each says so with --nocapture);" \
       "the project's own fixtures still cover the same code paths" >&2
fi

testdata/build.sh
# regipy, a peer the SOFTWARE-hive test compares with (crates/regnet/tests/software_peers.rs), in its
# own environment under target/; without PyPI the test skips it and says so.
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
regipy_env=$target_dir/pyenv/regipy
if [ -z "${REGNET_REGIPY_PYTHON:-}" ]; then
  if [ -x "$regipy_env/bin/python" ] || { python3 -m venv "$regipy_env" && "$regipy_env/bin/pip" install -q regipy==6.5.0; }; then
    export REGNET_REGIPY_PYTHON=$regipy_env/bin/python
  else
    echo "scripts/test.sh: regipy could not be installed; the test against it skips" >&2
  fi
fi
cargo test --workspace --locked
# The C ABI from C (under valgrind) and C# (Mono); the Python module (wheel, mypy, pytest, Dask).
scripts/test-capi.sh
scripts/test-python.sh
