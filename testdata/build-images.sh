#!/usr/bin/env bash
# Builds disk-image fixtures with real tools (none written by this project) under target/testdata/images:
#   partition tables by sfdisk/sgdisk, NTFS by mkntfs, files placed by wimlib-imagex (no mounting),
#   containers by qemu-img. The hive inside is the bundled example (testdata/example: a dirty SYSTEM
#   with SYSTEM.LOG1/LOG2). Each image is listed in images/MANIFEST with what it should give.
# Needs: qemu-utils, ntfs-3g, wimtools, fdisk, gdisk, dosfstools. Root (losetup, FUSE) only for the
# 4096-byte-sector disk and the fragmented SYSTEM; those are skipped with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata/images
rm -rf "$out"
mkdir -p "$out/work"
w=$out/work
for t in qemu-img mkntfs wimlib-imagex sfdisk sgdisk mkfs.fat; do
  command -v "$t" >/dev/null 2>&1 || { echo "build-images.sh: $t not found; image fixtures skipped" >&2; rm -rf "$out"; exit 0; }
done
MiB=$((1024 * 1024))
: > "$out/MANIFEST"
note() { echo "$1	$2" >> "$out/MANIFEST"; }

# The Windows tree to place: \Windows\System32\config\{SYSTEM,SYSTEM.LOG1,SYSTEM.LOG2} plus a little more.
stage=$w/stage
mkdir -p "$stage/Windows/System32/config" "$stage/Windows/System32/drivers/etc" "$stage/Users/Public" "$stage/Program Files"
cp testdata/example/SYSTEM testdata/example/SYSTEM.LOG1 testdata/example/SYSTEM.LOG2 "$stage/Windows/System32/config/"
head -c 300000 /dev/urandom > "$stage/Windows/System32/config/SOFTWARE"
printf '127.0.0.1 localhost\r\n' > "$stage/Windows/System32/drivers/etc/hosts"
wimlib-imagex capture "$stage" "$w/windows.wim" --compress=none --no-acls >/dev/null
# A volume without Windows.
mkdir -p "$w/data/Backup"
echo "not a system volume" > "$w/data/Backup/readme.txt"
wimlib-imagex capture "$w/data" "$w/data.wim" --compress=none --no-acls >/dev/null

# ntfs VOLUME SIZE_MIB START_SECTOR [WIM] [SECTOR_SIZE]
ntfs() {
  local vol=$1 size=$2 start=$3 wim=${4:-} ss=${5:-512}
  truncate -s $((size * MiB)) "$vol"
  mkntfs -q -F -Q -s "$ss" -p "$start" -L Windows "$vol" >/dev/null 2>&1
  if [ -n "$wim" ]; then wimlib-imagex apply "$wim" 1 "$vol" >/dev/null; fi
}
# place VOLUME DISK START_BYTES
place() { dd if="$1" of="$2" bs=1M oflag=seek_bytes seek="$3" conv=notrunc,sparse status=none; }

# 1. GPT: EFI + MSR + Windows + Recovery (512-byte sectors).
d=$w/gpt.raw
truncate -s $((300 * MiB)) "$d"
sfdisk -q "$d" <<'L'
label: gpt
start=2048, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"
start=67584, size=32768, type=E3C9E316-0B5C-4DB8-817D-F92DF00215AE, name="Microsoft reserved partition"
start=100352, size=262144, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
start=362496, size=131072, type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, name="Recovery"
L
truncate -s $((32 * MiB)) "$w/esp.vfat" && mkfs.fat -F 32 -n EFI "$w/esp.vfat" >/dev/null 2>&1
place "$w/esp.vfat" "$d" $((2048 * 512))
ntfs "$w/win.ntfs" 128 100352 "$w/windows.wim"
place "$w/win.ntfs" "$d" $((100352 * 512))
ntfs "$w/rec.ntfs" 64 362496 "$w/data.wim"
place "$w/rec.ntfs" "$d" $((362496 * 512))
cp "$d" "$out/gpt.raw"; note gpt.raw "windows partition=3"

# 2. MBR: System Reserved (active) + Windows.
d=$w/mbr.raw
truncate -s $((250 * MiB)) "$d"
sfdisk -q "$d" <<'L'
label: dos
start=2048, size=204800, type=7, bootable
start=206848, size=262144, type=7
L
ntfs "$w/sysres.ntfs" 100 2048 "$w/data.wim"
place "$w/sysres.ntfs" "$d" $((2048 * 512))
ntfs "$w/win2.ntfs" 128 206848 "$w/windows.wim"
place "$w/win2.ntfs" "$d" $((206848 * 512))
cp "$d" "$out/mbr.raw"; note mbr.raw "windows partition=2"

# 3. MBR: Windows on a logical partition inside an extended one.
d=$w/logical.raw
truncate -s $((300 * MiB)) "$d"
sfdisk -q "$d" <<'L'
label: dos
start=2048, size=65536, type=b
start=69632, size=520192, type=f
start=71680, size=65536, type=7
start=139264, size=262144, type=7
L
truncate -s $((32 * MiB)) "$w/fat.vfat" && mkfs.fat -F 16 "$w/fat.vfat" >/dev/null 2>&1 || mkfs.fat "$w/fat.vfat" >/dev/null
place "$w/fat.vfat" "$d" $((2048 * 512))
ntfs "$w/l5.ntfs" 32 71680 "$w/data.wim"
place "$w/l5.ntfs" "$d" $((71680 * 512))
ntfs "$w/l6.ntfs" 128 139264 "$w/windows.wim"
place "$w/l6.ntfs" "$d" $((139264 * 512))
cp "$d" "$out/logical.raw"; note logical.raw "windows partition=6"

# 4. A bare NTFS volume, no partition table.
ntfs "$out/bare.raw" 96 0 "$w/windows.wim"; note bare.raw "windows partition=0"

# 5. A disk with no Windows (GPT with one data volume).
d=$w/nowin.raw
truncate -s $((100 * MiB)) "$d"
sgdisk -n 1:2048:+64M -t 1:0700 "$d" >/dev/null
ntfs "$w/nw.ntfs" 64 2048 "$w/data.wim"
place "$w/nw.ntfs" "$d" $((2048 * 512))
cp "$d" "$out/nowin.raw"; note nowin.raw "error no-windows"

# 6. Two Windows partitions: ambiguous unless --partition picks one.
d=$w/two.raw
truncate -s $((300 * MiB)) "$d"
sgdisk -n 1:2048:+128M -t 1:0700 -n 2:0:+128M -t 2:0700 "$d" >/dev/null
s2=$(sgdisk -i 2 "$d" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
ntfs "$w/t1.ntfs" 128 2048 "$w/windows.wim"; place "$w/t1.ntfs" "$d" $((2048 * 512))
ntfs "$w/t2.ntfs" 128 "$s2" "$w/windows.wim"; place "$w/t2.ntfs" "$d" $((s2 * 512))
cp "$d" "$out/two.raw"; note two.raw "error ambiguous"

# 7. A BitLocker-looking volume (the -FVE-FS- signature over an NTFS boot sector) as the only data partition.
d=$w/bitlocker.raw
cp "$w/nowin.raw" "$d"
printf -- '-FVE-FS-' | dd of="$d" bs=1 seek=$((2048 * 512 + 3)) conv=notrunc status=none
cp "$d" "$out/bitlocker.raw"; note bitlocker.raw "error encrypted"

# 8. A truncated image: the GPT disk cut inside the Windows volume.
cp --sparse=always "$out/gpt.raw" "$out/truncated.raw" && truncate -s $((120 * MiB)) "$out/truncated.raw"
note truncated.raw "error truncated"

# 9. Every container, from the GPT disk.
conv() { qemu-img convert -f raw -O "$@"; }
conv vpc -o subformat=dynamic "$out/gpt.raw" "$out/gpt-dynamic.vhd"; note gpt-dynamic.vhd "windows partition=3"
conv vpc -o subformat=fixed "$out/gpt.raw" "$out/gpt-fixed.vhd"; note gpt-fixed.vhd "windows partition=3"
conv vhdx -o subformat=dynamic "$out/gpt.raw" "$out/gpt-dynamic.vhdx"; note gpt-dynamic.vhdx "windows partition=3"
conv vhdx -o subformat=fixed "$out/gpt.raw" "$out/gpt-fixed.vhdx"; note gpt-fixed.vhdx "windows partition=3"
conv vmdk -o subformat=monolithicSparse "$out/gpt.raw" "$out/gpt-sparse.vmdk"; note gpt-sparse.vmdk "windows partition=3"
conv vmdk -o subformat=streamOptimized "$out/gpt.raw" "$out/gpt-stream.vmdk"; note gpt-stream.vmdk "windows partition=3"
mkdir -p "$out/flat" && conv vmdk -o subformat=monolithicFlat "$out/gpt.raw" "$out/flat/gpt-flat.vmdk"; note flat/gpt-flat.vmdk "windows partition=3"
conv qcow2 "$out/gpt.raw" "$out/gpt.qcow2"; note gpt.qcow2 "windows partition=3"
conv qcow2 -o compat=0.10 "$out/gpt.raw" "$out/gpt-v2.qcow2"; note gpt-v2.qcow2 "windows partition=3"
conv qcow2 -c "$out/mbr.raw" "$out/mbr-compressed.qcow2"; note mbr-compressed.qcow2 "windows partition=2"

# 10. 4096-byte logical sectors (root: a loop device with 4 KiB sectors gives sfdisk the right geometry).
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
  d=$w/gpt4k.raw
  truncate -s $((200 * MiB)) "$d"
  if loop=$(losetup -f --show -b 4096 "$d" 2>/dev/null); then
    sfdisk -q "$loop" >/dev/null 2>&1 <<'L' || true
label: gpt
start=256, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=8448, size=32768, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
L
    losetup -d "$loop"
    ntfs "$w/win4k.ntfs" 128 $((8448 * 8)) "$w/windows.wim" 4096
    place "$w/win4k.ntfs" "$d" $((8448 * 4096))
    cp "$d" "$out/gpt4k.raw"; note gpt4k.raw "windows partition=2"
  else
    echo "build-images.sh: losetup -b 4096 failed; 4096-byte-sector disk skipped" >&2
  fi
else
  echo "build-images.sh: not root; 4096-byte-sector disk skipped" >&2
fi

# 11. A heavily fragmented SYSTEM (root, FUSE): fill the volume with small files, delete every other
#     one, then copy the hive in so that its clusters are scattered.
if [ "$(id -u)" = 0 ] && command -v ntfs-3g >/dev/null && [ -e /dev/fuse ]; then
  v=$w/frag.ntfs
  ntfs "$v" 48 0 ""
  mnt=$w/mnt && mkdir -p "$mnt"
  if ntfs-3g "$v" "$mnt" 2>/dev/null; then
    mkdir -p "$mnt/fill" "$mnt/Windows/System32/config"
    # Fill the volume to the brim, then free every other file: only small holes remain.
    n=0
    while head -c 8192 /dev/zero > "$mnt/fill/f$n" 2>/dev/null; do n=$((n + 1)); [ $n -lt 20000 ] || break; done
    for i in $(seq 0 2 $n); do rm -f "$mnt/fill/f$i"; done
    cp testdata/example/SYSTEM.LOG1 testdata/example/SYSTEM.LOG2 "$mnt/Windows/System32/config/"
    # A bigger SYSTEM so it needs many runs: the example hive followed by padding the hive ignores.
    { cat testdata/example/SYSTEM; head -c $((4 * MiB)) /dev/zero; } > "$mnt/Windows/System32/config/SYSTEM"
    umount "$mnt" 2>/dev/null || fusermount -u "$mnt"
    cp "$v" "$out/fragmented.raw"; note fragmented.raw "windows partition=0"
  else
    echo "build-images.sh: ntfs-3g mount failed; fragmented fixture skipped" >&2
  fi
else
  echo "build-images.sh: not root or no FUSE; fragmented fixture skipped" >&2
fi

# 12. A 40 GiB sparse GPT disk (regnet must read only what it needs of it).
d=$out/big40g.raw
truncate -s 40G "$d"
sgdisk -n 1:2048:+100M -t 1:ef00 -n 2:0:0 -t 2:0700 "$d" >/dev/null
s2=$(sgdisk -i 2 "$d" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
e2=$(sgdisk -i 2 "$d" | sed -n 's/^Last sector: \([0-9]*\).*/\1/p')
ntfs "$w/big.ntfs" $(( (e2 - s2 + 1) * 512 / MiB )) "$s2" "$w/windows.wim"
place "$w/big.ntfs" "$d" $((s2 * 512))
note big40g.raw "windows partition=2"

# 13. Tiny seeds for the fuzz targets (fuzz/seed.py picks them up): a 3 MiB GPT disk with a 2 MiB
#     NTFS volume holding the hive, in every container (a 4 MiB disk: GPT needs its backup at the end).
seeds=$out/fuzz-seeds
mkdir -p "$seeds"
truncate -s $((4 * MiB)) "$seeds/tiny.raw"
sfdisk -q "$seeds/tiny.raw" <<'L'
label: gpt
start=2048, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
L
ntfs "$w/tiny.ntfs" 2 2048 "$w/windows.wim" || true
if [ -s "$w/tiny.ntfs" ]; then
  cp "$w/tiny.ntfs" "$seeds/tiny.ntfs"
  place "$w/tiny.ntfs" "$seeds/tiny.raw" $((2048 * 512))
fi
# A tiny Linux disk for the extract target: MBR, one 2 MiB ext4 partition with /etc/os-release as a
# link to ../usr/lib/os-release and /etc/hostname (mke2fs -d: no mounting).
if command -v mke2fs >/dev/null 2>&1; then
  mkdir -p "$w/lroot/etc" "$w/lroot/usr/lib"
  printf 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n' > "$w/lroot/usr/lib/os-release"
  ln -s ../usr/lib/os-release "$w/lroot/etc/os-release"
  echo fuzz-seed > "$w/lroot/etc/hostname"
  truncate -s $((2 * MiB)) "$w/tiny.ext4"
  mke2fs -q -t ext4 -b 1024 -N 64 -d "$w/lroot" "$w/tiny.ext4" >/dev/null 2>&1
  truncate -s $((3 * MiB)) "$seeds/tiny-linux.raw"
  printf 'label: dos\nstart=2048, size=4096, type=83\n' | sfdisk -q "$seeds/tiny-linux.raw"
  place "$w/tiny.ext4" "$seeds/tiny-linux.raw" $((2048 * 512))
fi
# The VHD and VHDX seeds hold a 1 MiB patterned disk: their formats' fixed overhead (2 MiB VHD
# blocks; VHDX's 1 MiB-aligned regions and log) would otherwise make seeds too big to fuzz well.
head -c $((1 * MiB)) "$seeds/tiny.raw" > "$w/small.raw"
printf 'regnet fuzz seed %.0s' $(seq 1 64) | dd of="$w/small.raw" bs=1 seek=4096 conv=notrunc status=none
conv vpc -o subformat=dynamic "$w/small.raw" "$seeds/tiny.vhd"
conv vhdx -o subformat=dynamic,block_size=1M,log_size=1M "$w/small.raw" "$seeds/tiny.vhdx"
conv vmdk -o subformat=monolithicSparse "$seeds/tiny.raw" "$seeds/tiny.vmdk"
conv vmdk -o subformat=streamOptimized "$seeds/tiny.raw" "$seeds/tiny-stream.vmdk"
conv qcow2 -c "$seeds/tiny.raw" "$seeds/tiny.qcow2"

# 14. A clean hive beside its logs: the example hive with its sequence numbers made equal and its
#     checksum redone (python3), on a bare NTFS volume in qcow2. Its logs must not be read.
mkdir -p "$w/cstage"
cp -r "$stage/Windows" "$w/cstage/"
python3 - "$w/cstage/Windows/System32/config/SYSTEM" <<'P'
import struct, sys
path = sys.argv[1]
b = bytearray(open(path, 'rb').read())
b[8:12] = b[4:8]
x = 0
for i in range(0, 508, 4):
    x ^= struct.unpack_from('<I', b, i)[0]
x = {0: 1, 0xFFFFFFFF: 0xFFFFFFFE}.get(x, x)
struct.pack_into('<I', b, 508, x)
open(path, 'wb').write(b)
P
wimlib-imagex capture "$w/cstage" "$w/clean.wim" --compress=none --no-acls >/dev/null
ntfs "$w/clean.ntfs" 48 0 "$w/clean.wim"
conv qcow2 "$w/clean.ntfs" "$out/clean.qcow2"; note clean.qcow2 "clean partition=0"

rm -rf "$w"
echo "build-images.sh: $(wc -l < "$out/MANIFEST") images in $out ($(du -sh "$out" | cut -f1) on disk)" >&2
