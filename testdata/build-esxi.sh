#!/usr/bin/env bash
# Builds the ESXi snapshot-chain fixture under target/testdata/esxi (see testdata/README.md):
#   a 64 MiB GPT disk (sfdisk) with one NTFS volume (mkntfs, files placed by wimlib-imagex) holding
#   \Windows\System32\config\SYSTEM, in three states whose first adapter's IPv4 address differs;
#   the hives are edited by hivex and copied into the volume by ntfscp (no mounting, no loop device).
#   regnet's test writer (regnet-fixtures esxi-chain) then writes them as ESXi does:
#     chain.vmdk        + chain-flat.vmdk              base (createType="vmfs")
#     chain-000001.vmdk + chain-000001-delta.vmdk      COWD delta (vmfsSparse), parent chain.vmdk
#     chain-000002.vmdk + chain-000002-sesparse.vmdk   SEsparse delta (seSparse), parent chain-000001.vmdk
#   and qemu-img checks that each layer's descriptor converts back to that layer's raw disk (raw/).
# Needs: qemu-img, sfdisk, mkntfs + ntfscp (ntfs-3g), wimlib-imagex, hivexregedit; skipped with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata/esxi
rm -rf "$out"
for t in qemu-img sfdisk mkntfs ntfscp wimlib-imagex hivexregedit; do
  command -v "$t" >/dev/null 2>&1 || { echo "build-esxi.sh: $t not found; ESXi fixtures skipped" >&2; exit 0; }
done
mkdir -p "$out/work" "$out/raw"
w=$out/work
fixtures() { cargo run --quiet --locked -p regnet-testkit --bin regnet-fixtures -- "$@"; }
MiB=$((1024 * 1024))
cfg=/Windows/System32/config

# A REG_MULTI_SZ as .reg hex(7) bytes.
multi_sz() { python3 -c 'import sys; s="".join(x+"\0" for x in sys.argv[1:])+"\0"; print(",".join("%02x" % c for c in s.encode("utf-16-le")))' "$@"; }
# edit_ip HIVE OLD NEW: with hivex, replaces the first adapter's (Ethernet0) address OLD (last octet of
# 10.41.7.x) by NEW, in both places Windows keeps it: the Tcpip interface's IPAddress (NEW, then the
# second address 10.41.7.21) and the Nsi persistent store, whose value names are the address.
nsi_name() { printf '00000001000006000a2907%02x00000000' "$1"; }
nsi_record=ff,ff,ff,ff,ff,ff,ff,ff,01,00,00,00,01,00,00,00,18,00,00,00$(printf ',ff%.0s' $(seq 28))
edit_ip() {
  cat > "$w/edit.reg" <<EOF
Windows Registry Editor Version 5.00

[\ControlSet001\Services\Tcpip\Parameters\Interfaces\{5C7A3E21-8F4B-4D2A-9E61-0B3F2A7C9D14}]
"IPAddress"=hex(7):$(multi_sz "10.41.7.$3" 10.41.7.21)

[\ControlSet001\Control\Nsi\{eb004a00-9b1a-11d4-9123-0050047759bc}\10]
"$(nsi_name "$2")"=-
"$(nsi_name "$3")"=hex:$nsi_record
EOF
  hivexregedit --merge "$1" "$w/edit.reg"
}

# The hives of each layer.
#  0: the bundled example: a dirty SYSTEM whose logs add 10.41.7.21 (report: 10.41.7.20, 10.41.7.21).
#  1: the example's replayed state as a clean hive (the writer's after/SYSTEM), edited by hivex to
#     10.41.7.120, 10.41.7.21 (Tcpip and Nsi); hivex writes it clean. Layer 0's logs stay beside it, stale: a clean
#     hive's logs must be ignored.
#  2: dirty again: layer 1's hive as the primary (sequence numbers apart) plus new LOG1/LOG2 whose
#     replay sets 10.41.7.220, 10.41.7.21 (with --no-logs: layer 1's 10.41.7.120, 10.41.7.21).
fixtures all "$w/writer" >/dev/null
mkdir -p "$w/h1" "$w/h2"
cp "$w/writer/after/SYSTEM" "$w/h1/SYSTEM" && chmod u+w "$w/h1/SYSTEM"
edit_ip "$w/h1/SYSTEM" 20 120
cp "$w/h1/SYSTEM" "$w/h2-after" && chmod u+w "$w/h2-after"
edit_ip "$w/h2-after" 120 220
fixtures dirty "$w/h1/SYSTEM" "$w/h2-after" "$w/h2"

# Layer 0's disk: GPT, one NTFS volume at sector 2048 with the example hive and its logs.
stage=$w/stage
mkdir -p "$stage$cfg" "$stage/Windows/System32/drivers/etc" "$stage/Users/Public"
cp testdata/example/SYSTEM testdata/example/SYSTEM.LOG1 testdata/example/SYSTEM.LOG2 "$stage$cfg/"
printf '127.0.0.1 localhost\r\n' > "$stage/Windows/System32/drivers/etc/hosts"
wimlib-imagex capture "$stage" "$w/windows.wim" --compress=none --no-acls >/dev/null
start=2048 sectors=126976
truncate -s $((64 * MiB)) "$w/disk0.raw"
sfdisk -q "$w/disk0.raw" <<L
label: gpt
start=$start, size=$sectors, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
L
truncate -s $((sectors * 512)) "$w/vol0.ntfs"
mkntfs -q -F -Q -s 512 -p "$start" -L Windows "$w/vol0.ntfs" >/dev/null 2>&1
wimlib-imagex apply "$w/windows.wim" 1 "$w/vol0.ntfs" >/dev/null
# place VOLUME DISK: the volume into the disk at the partition's start.
place() { dd if="$1" of="$2" bs=1M oflag=seek_bytes seek=$((start * 512)) conv=notrunc,sparse status=none; }
place "$w/vol0.ntfs" "$w/disk0.raw"

# Layers 1 and 2: copies of the volume with files replaced by ntfscp, placed into copies of the disk.
cp --sparse=always "$w/vol0.ntfs" "$w/vol1.ntfs"
ntfscp -q "$w/vol1.ntfs" "$w/h1/SYSTEM" "$cfg/SYSTEM"
cp --sparse=always "$w/vol1.ntfs" "$w/vol2.ntfs"
for f in SYSTEM SYSTEM.LOG1 SYSTEM.LOG2; do ntfscp -q "$w/vol2.ntfs" "$w/h2/$f" "$cfg/$f"; done
for i in 1 2; do
  cp --sparse=always "$w/disk0.raw" "$w/disk$i.raw"
  place "$w/vol$i.ntfs" "$w/disk$i.raw"
done
for i in 0 1 2; do cp --sparse=always "$w/disk$i.raw" "$out/raw/layer$i.raw"; done

fixtures esxi-chain "$out" chain "$w/disk0.raw" "cowd:$w/disk1.raw" "sesparse:$w/disk2.raw" >/dev/null

# qemu-img must read every layer back as its raw disk.
i=0
for d in chain.vmdk chain-000001.vmdk chain-000002.vmdk; do
  qemu-img convert -f vmdk -O raw "$out/$d" "$w/check.raw"
  cmp -s "$w/check.raw" "$out/raw/layer$i.raw" || { echo "build-esxi.sh: qemu-img reads $d differently from raw/layer$i.raw" >&2; exit 1; }
  i=$((i + 1))
done
cat > "$out/MANIFEST" <<'M'
chain.vmdk	vmfs (flat) base	dirty hive + logs	Ethernet0 ipv4 10.41.7.20/24, 10.41.7.21/24 (--no-logs: 10.41.7.20/24)
chain-000001.vmdk	vmfsSparse (COWD) over chain.vmdk	clean hive, stale logs	Ethernet0 ipv4 10.41.7.120/24, 10.41.7.21/24
chain-000002.vmdk	seSparse over chain-000001.vmdk	dirty hive + new logs	Ethernet0 ipv4 10.41.7.220/24, 10.41.7.21/24 (--no-logs: 10.41.7.120/24, 10.41.7.21/24)
M
rm -rf "$w"
echo "build-esxi.sh: ESXi chain in $out ($(du -sh "$out" | cut -f1) on disk), checked with qemu-img" >&2
