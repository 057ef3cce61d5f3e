#!/usr/bin/env bash
# Makes testdata/example/disk.qcow2, the small committed example image for the README's first
# command: a 32 MiB GPT disk (sfdisk) with one NTFS volume (mkntfs) holding
# \Windows\System32\config\SYSTEM, SYSTEM.LOG1 and SYSTEM.LOG2 from testdata/example (placed with
# wimlib-imagex), as a zlib-compressed qcow2 (qemu-img). Run it again after regenerating the example hive.
set -euo pipefail
cd "$(dirname "$0")/.."
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/stage/Windows/System32/config"
cp testdata/example/SYSTEM testdata/example/SYSTEM.LOG1 testdata/example/SYSTEM.LOG2 "$w/stage/Windows/System32/config/"
wimlib-imagex capture "$w/stage" "$w/w.wim" --compress=none --no-acls >/dev/null
truncate -s 32M "$w/disk.raw"
sfdisk -q "$w/disk.raw" <<'L'
label: gpt
start=2048, size=61440, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
L
truncate -s $((61440 * 512)) "$w/vol"
mkntfs -q -F -Q -p 2048 -L Windows "$w/vol" >/dev/null 2>&1
wimlib-imagex apply "$w/w.wim" 1 "$w/vol" >/dev/null
dd if="$w/vol" of="$w/disk.raw" bs=1M oflag=seek_bytes seek=$((2048 * 512)) conv=notrunc,sparse status=none
qemu-img convert -c -f raw -O qcow2 "$w/disk.raw" testdata/example/disk.qcow2
ls -l testdata/example/disk.qcow2
