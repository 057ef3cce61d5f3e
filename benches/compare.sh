#!/usr/bin/env bash
# Runs regnet and the tools people use today on the same inputs, several times each, and prints one
# table of medians (wall time, peak RSS from /usr/bin/time) and ratios.
#   benches/compare.sh [RUNS]
# Installs the peers on first use: regipy[cli] and dissect (the meta-package: dissect.target alone
# identifies no ext4 or XFS volume) from PyPI into a venv under target/peers, hivex's hivexregedit
# from Debian (libwin-hivex-perl, needs root or an existing install).
# Inputs: ../shared/corpus/regipy/SYSTEM_B with its logs (a 12.8 MB Windows 10 SYSTEM hive), the
# images of testdata/build-images.sh (target/testdata/images, holding the small example hive), and
# images built here (target/peers/images) whose Windows volume holds SYSTEM_B and its logs, so that
# extract is also measured on a real-size dirty hive (mkntfs, wimlib-imagex, sfdisk, qemu-img), and
# two Linux guests of testdata/build-linux.sh (target/testdata/linux: ubuntu-lvm.vmdk, netplan on
# LVM and ext4; rocky-lvm.vhdx, NetworkManager and ifcfg on LVM and XFS).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
root=$(pwd)
venv=target/peers/venv
corpus=../shared/corpus
hive=$corpus/regipy/SYSTEM_B
imgs=target/testdata/images
[ -f "$hive" ] || { echo "compare.sh: $hive is absent" >&2; exit 1; }
lin=target/testdata/linux
linux_imgs="ubuntu-lvm.vmdk rocky-lvm.vhdx"
[ -d "$imgs" ] && [ -f "$lin/rocky-lvm.vhdx" ] || testdata/build.sh
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
command -v hivexregedit >/dev/null || apt-get install -y -qq libwin-hivex-perl >/dev/null
if [ ! -x "$venv/bin/regipy-plugins-run" ] || [ ! -x "$venv/bin/target-query" ] ||
   ! "$venv/bin/python" -c 'import dissect.extfs, dissect.xfs' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'regipy[cli]' dissect
fi
cargo build -q --release -p regnet-cli
regnet=$root/target/release/regnet

# A 256 MiB GPT disk whose NTFS volume holds \Windows\System32\config\SYSTEM = SYSTEM_B and its
# logs, as VHDX, VMDK and qcow2 (made once, kept under target/peers/images).
big=target/peers/images
if [ ! -f "$big/sysb.qcow2" ]; then
  rm -rf "$big" && mkdir -p "$big/stage/Windows/System32/config"
  cp "$hive" "$big/stage/Windows/System32/config/SYSTEM"
  cp "$hive.LOG1" "$big/stage/Windows/System32/config/SYSTEM.LOG1"
  cp "$hive.LOG2" "$big/stage/Windows/System32/config/SYSTEM.LOG2"
  wimlib-imagex capture "$big/stage" "$big/w.wim" --compress=none --no-acls >/dev/null
  truncate -s 256M "$big/sysb.raw"
  printf 'label: gpt\nstart=2048, size=491520, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n' | sfdisk -q "$big/sysb.raw"
  truncate -s 240M "$big/vol.ntfs"
  mkntfs -q -F -Q -s 512 -p 2048 -L Windows "$big/vol.ntfs" >/dev/null 2>&1
  wimlib-imagex apply "$big/w.wim" 1 "$big/vol.ntfs" >/dev/null
  dd if="$big/vol.ntfs" of="$big/sysb.raw" bs=1M oflag=seek_bytes seek=$((2048 * 512)) conv=notrunc,sparse status=none
  qemu-img convert -f raw -O vhdx "$big/sysb.raw" "$big/sysb.vhdx"
  qemu-img convert -f raw -O vmdk "$big/sysb.raw" "$big/sysb.vmdk"
  qemu-img convert -f raw -O qcow2 "$big/sysb.raw" "$big/sysb.qcow2"
  rm -rf "$big/stage" "$big/w.wim" "$big/vol.ntfs" "$big/sysb.raw"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure NAME CMD...: the median wall time of $runs runs (hyperfine, after a warm-up run) and the
# peak RSS of one more run (/usr/bin/time).
declare -A T M
measure() {
  local name=$1; shift
  hyperfine -N -w 1 --runs "$runs" --export-json "$work/h.json" --ignore-failure "$*" >/dev/null 2>&1
  T[$name]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json")
  /usr/bin/time -f "%M" -o "$work/t" "$@" >/dev/null 2>&1 || true
  M[$name]=$(tail -1 "$work/t")
}

measure "regnet hive SYSTEM_B (+logs)" "$regnet" hive "$hive"
measure "hivexregedit --export Interfaces key" hivexregedit --export "$hive" '\ControlSet001\Services\Tcpip\Parameters\Interfaces'
measure "regipy network_data plugin" "$venv/bin/regipy-plugins-run" "$hive" -p network_data -o "$work/r.json"
measure "regnet dump SYSTEM_B (full walk)" "$regnet" dump --no-logs "$hive"
for img in gpt-dynamic.vhdx gpt-sparse.vmdk gpt.qcow2; do
  measure "regnet extract $img" "$regnet" extract "$imgs/$img"
  measure "dissect target-query $img" "$venv/bin/target-query" -f network.interfaces "$imgs/$img" -j
done
for img in sysb.vhdx sysb.vmdk sysb.qcow2; do
  measure "regnet extract $img" "$regnet" extract "$big/$img"
  measure "dissect target-query $img" "$venv/bin/target-query" -f network.interfaces "$big/$img" -j
done
# Linux guests: dissect's interfaces and host name (text output: with -j it drops the host name).
for img in $linux_imgs; do
  measure "regnet extract $img" "$regnet" extract "$lin/$img"
  measure "dissect target-query $img" "$venv/bin/target-query" -f network.interfaces,hostname "$lin/$img"
done

printf '\n%-42s %12s %12s\n' "command (median of $runs runs)" "time (ms)" "peak (MiB)"
for k in "regnet hive SYSTEM_B (+logs)" "hivexregedit --export Interfaces key" "regipy network_data plugin" \
         "regnet dump SYSTEM_B (full walk)" \
         "regnet extract gpt-dynamic.vhdx" "dissect target-query gpt-dynamic.vhdx" \
         "regnet extract gpt-sparse.vmdk" "dissect target-query gpt-sparse.vmdk" \
         "regnet extract gpt.qcow2" "dissect target-query gpt.qcow2" \
         "regnet extract sysb.vhdx" "dissect target-query sysb.vhdx" \
         "regnet extract sysb.vmdk" "dissect target-query sysb.vmdk" \
         "regnet extract sysb.qcow2" "dissect target-query sysb.qcow2" \
         "regnet extract ubuntu-lvm.vmdk" "dissect target-query ubuntu-lvm.vmdk" \
         "regnet extract rocky-lvm.vhdx" "dissect target-query rocky-lvm.vhdx"; do
  awk -v k="$k" -v t="${T[$k]}" -v m="${M[$k]}" 'BEGIN { printf "%-42s %12.1f %12.1f\n", k, t * 1000, m / 1024 }'
done
ratio() { awk -v a="${T[$1]}" -v b="${T[$2]}" -v n="$3" 'BEGIN { r = (a > 0) ? b / a : 0; printf "%-60s %8.1fx\n", n, r }'; }
echo
ratio "regnet hive SYSTEM_B (+logs)" "hivexregedit --export Interfaces key" "hivexregedit export of Interfaces / regnet hive"
ratio "regnet hive SYSTEM_B (+logs)" "regipy network_data plugin" "regipy network_data / regnet hive"
for img in gpt-dynamic.vhdx gpt-sparse.vmdk gpt.qcow2 sysb.vhdx sysb.vmdk sysb.qcow2 $linux_imgs; do
  ratio "regnet extract $img" "dissect target-query $img" "dissect / regnet extract on $img"
done
echo "(time: hyperfine medians; peak: /usr/bin/time maximum resident set size)"
# Bytes read from each sysb image against the bound: the hive, its logs and 4 MiB.
bound=$(( $(stat -c %s "$hive") + $(stat -c %s "$hive.LOG1") + $(stat -c %s "$hive.LOG2") + 4194304 ))
echo
for img in sysb.vhdx sysb.vmdk sysb.qcow2; do
  "$regnet" extract --stats "$big/$img" 2>&1 >/dev/null | grep 'bytes read' | sed "s|^regnet: [^:]*: |$img: |; s|\$| (bound: hive + logs + 4 MiB = $bound bytes)|"
done
# Bytes read from each Linux image against the bound: 4 MiB and the files the report names (their
# sizes in the guest's tree, testdata/linux/trees; a link counts as the file it resolves to).
declare -A tree=([ubuntu-lvm.vmdk]=ubuntu-24.04 [rocky-lvm.vhdx]=rocky-9)
for img in $linux_imgs; do
  cfg=$("$regnet" extract "$lin/$img" | python3 -c '
import json, os, sys
t = sys.argv[1]
links = dict(l.split(" ", 1) for l in open(t + ".links").read().splitlines() if l)
def size(p):
    for _ in range(8):
        if os.path.isfile(t + "/" + p): return os.path.getsize(t + "/" + p)
        if p not in links: return 0
        l = links[p]; p = os.path.normpath(l.lstrip("/") if l.startswith("/") else os.path.join(os.path.dirname(p), l))
    return 0
print(sum(size(f.lstrip("/")) for f in json.load(sys.stdin)["source"]["files"]))' "testdata/linux/trees/${tree[$img]}")
  "$regnet" extract --stats "$lin/$img" 2>&1 >/dev/null | grep 'bytes read' | sed "s|^regnet: [^:]*: |$img: |; s|\$| (bound: 4 MiB + $cfg bytes of configuration files = $((4194304 + cfg)) bytes)|"
done
