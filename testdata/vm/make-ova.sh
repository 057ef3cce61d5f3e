#!/usr/bin/env bash
# Builds web01.ova from web01.ovf the way ovftool lays an OVA out: a ustar archive whose first
# member is the .ovf, then the manifest, then the disks in References order. The "disks" are small
# placeholders (the configuration layer never reads them). Deterministic: fixed mtime and owner.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/web01.ovf" "$tmp/"
head -c 1536 /dev/zero | tr '\0' 'A' >"$tmp/web01-disk1.vmdk"
head -c 1024 /dev/zero | tr '\0' 'B' >"$tmp/web01-disk2.vmdk"
head -c 512 /dev/zero | tr '\0' 'C' >"$tmp/web01-file1.nvram"
(cd "$tmp" && for f in web01.ovf web01-disk1.vmdk web01-disk2.vmdk web01-file1.nvram; do
  echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done >web01.mf)
tar --format=ustar --mtime=2023-12-06T10:14:07Z --owner=0 --group=0 --numeric-owner --mode=0644 \
  -C "$tmp" -cf "$here/web01.ova" web01.ovf web01.mf web01-disk1.vmdk web01-disk2.vmdk web01-file1.nvram
