#!/usr/bin/env bash
# Builds regnet's test fixtures under target/testdata (never committed; rebuilt in seconds):
#   writer/   hives and logs made by regnet's test-only writer (crates/regnet-testkit)
#   hivex/    a writer-made hive edited by hivex, an independent registry writer (testdata/hivex/*.reg)
#   ewf/      EWF (E01) evidence sets and split raw pieces of the image fixtures (testdata/build-ewf.sh)
# Tools that are missing are reported, and the tests that need their fixtures skip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata
rm -rf "$out"
mkdir -p "$out"

cargo run --quiet --locked -p regnet-testkit --bin regnet-fixtures -- all "$out/writer"

if command -v hivexregedit >/dev/null 2>&1; then
  mkdir -p "$out/hivex"
  cp "$out/writer/after/SYSTEM" "$out/hivex/SYSTEM"
  chmod u+w "$out/hivex/SYSTEM"
  hivexregedit --merge "$out/hivex/SYSTEM" testdata/hivex/network.reg
else
  echo "testdata/build.sh: hivexregedit not found (Debian: libwin-hivex-perl); hivex-made fixtures skipped" >&2
fi
testdata/build-images.sh
testdata/build-esxi.sh
testdata/build-vms.sh
testdata/build-linux.sh
testdata/build-software.sh
testdata/build-ewf.sh
echo "testdata/build.sh: fixtures in $out" >&2
