#!/usr/bin/env bash
# Builds the SOFTWARE-hive fixtures under target/testdata/software (called by testdata/build.sh):
#   writer/  SYSTEM (the example's, with a time zone) + SOFTWARE (every field regnet reads), clean;
#            written by regnet's test-only writer (crates/regnet/examples/software_fixtures.rs)
#   dirty/   the same two hives, each dirty, with new-format SYSTEM.LOG1/2 and SOFTWARE.LOG1/2
#   base/    the writer's smallest SOFTWARE (root and Microsoft\Windows NT), for hivex to merge into
#   hivex/   SOFTWARE = base + testdata/software/win11.reg merged by hivex (an independent registry
#            writer): a Windows 11 laptop's CurrentVersion and NetworkList; SYSTEM = writer/SYSTEM
#   software.qcow2  a GPT disk with one NTFS volume (sfdisk, mkntfs, wimlib-imagex, qemu-img) holding
#            \Windows\System32\config\ SYSTEM, SOFTWARE and their logs from dirty/
# Tools that are missing are reported, and the tests that need their fixtures skip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata/software
rm -rf "$out"
mkdir -p "$out"
cargo run --quiet --locked -p regnet --example software_fixtures -- "$out"

if command -v hivexregedit >/dev/null 2>&1; then
  mkdir -p "$out/hivex"
  cp "$out/base/SOFTWARE" "$out/hivex/SOFTWARE"
  chmod u+w "$out/hivex/SOFTWARE"
  hivexregedit --merge "$out/hivex/SOFTWARE" testdata/software/win11.reg
  cp "$out/writer/SYSTEM" "$out/hivex/SYSTEM"
else
  echo "build-software.sh: hivexregedit not found (Debian: libwin-hivex-perl); hivex SOFTWARE fixture skipped" >&2
fi

for t in qemu-img mkntfs wimlib-imagex sfdisk; do
  command -v "$t" >/dev/null 2>&1 || { echo "build-software.sh: $t not found; image fixture skipped" >&2; exit 0; }
done
MiB=$((1024 * 1024))
w=$out/work
stage=$w/stage
mkdir -p "$stage/Windows/System32/config"
cp "$out/dirty/"* "$stage/Windows/System32/config/"
wimlib-imagex capture "$stage" "$w/windows.wim" --compress=none --no-acls >/dev/null
d=$w/disk.raw
truncate -s $((80 * MiB)) "$d"
sfdisk -q "$d" <<'L'
label: gpt
start=2048, size=131072, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
L
truncate -s $((64 * MiB)) "$w/win.ntfs"
mkntfs -q -F -Q -p 2048 -L Windows "$w/win.ntfs" >/dev/null 2>&1
wimlib-imagex apply "$w/windows.wim" 1 "$w/win.ntfs" >/dev/null
dd if="$w/win.ntfs" of="$d" bs=1M oflag=seek_bytes seek=$((2048 * 512)) conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$d" "$out/software.qcow2"
rm -rf "$w"
echo "build-software.sh: fixtures in $out" >&2
