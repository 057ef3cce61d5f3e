#!/usr/bin/env bash
# Builds the evidence-file fixtures under target/testdata/ewf from the raw image fixtures
# (target/testdata/images, target/testdata/linux; testdata/build-images.sh and build-linux.sh make them):
#   NAME.E01                one segment, deflate (fast), with case metadata and MD5 + SHA1
#   NAME-multi/NAME.E01..   1 MiB segments, deflate (best)
#   NAME-stored/NAME.E01..  stored chunks (-c none), 32 MiB segments (mbr: 2 MiB, so past .E99 into .EAA)
#   NAME-split/NAME.001..   split -b 64M, numeric suffixes from 001
#   NAME-alpha/NAME.aa..    split -b 64M, alphabetic suffixes
# and a MANIFEST (file names, sizes, the stored MD5 and SHA1 as ewfinfo shows them).
# Idempotent: a finished set (its .done stamp) is kept. Needs ewfacquire (Debian: ewf-tools);
# without it the EWF sets are skipped (with a message) and their tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata/ewf
mkdir -p "$out"

sources=(images/gpt.raw images/mbr.raw images/bare.raw images/logical.raw linux/debian-mbr.raw)
have_ewf=1
command -v ewfacquire >/dev/null 2>&1 || {
  have_ewf=0
  echo "testdata/build-ewf.sh: ewfacquire not found (Debian: ewf-tools); EWF fixtures skipped" >&2
}

acquire() { # acquire TARGET_WITHOUT_EXT SOURCE ARGS...
  local target=$1 src=$2
  shift 2
  rm -f "$target".E?? "$target".E??? 2>/dev/null || true
  ewfacquire -u -q -t "$target" -f encase6 -b 64 -C "CASE-2026-015" -E "EV-$(basename "$target")" \
    -D "fixture $(basename "$src")" -e "Regnet Examiner" -N "built by testdata/build-ewf.sh" -d sha1 "$@" "$src" \
    >/dev/null
}

for rel in "${sources[@]}"; do
  src=target/testdata/$rel
  if [ ! -f "$src" ]; then
    echo "testdata/build-ewf.sh: $src missing (run testdata/build.sh); skipped" >&2
    continue
  fi
  name=$(basename "$rel" .raw)
  stamp="$out/$name.done"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$src" ]; then
    continue
  fi
  rm -rf "$out/$name.E01" "$out/$name-multi" "$out/$name-stored" "$out/$name-split" "$out/$name-alpha"
  mkdir -p "$out/$name-multi" "$out/$name-stored" "$out/$name-split" "$out/$name-alpha"
  if [ "$have_ewf" = 1 ]; then
    acquire "$out/$name" "$src" -c deflate:fast -S 4GiB
    acquire "$out/$name-multi/$name" "$src" -c deflate:best -S 1MiB
    seg=32MiB
    [ "$name" = mbr ] && seg=2MiB
    acquire "$out/$name-stored/$name" "$src" -c none -S "$seg"
  fi
  split -b 64M -d -a 3 --numeric-suffixes=1 "$src" "$out/$name-split/$name."
  split -b 64M "$src" "$out/$name-alpha/$name."
  touch "$stamp"
done

# Fuzz seeds (fuzz/seed.py, target container_ewf): the tiny raw disk as one-segment E01s.
seed_src=target/testdata/images/fuzz-seeds/tiny.raw
if [ "$have_ewf" = 1 ] && [ -f "$seed_src" ] && { [ ! -f "$out/fuzz-seeds/tiny.E01" ] || [ "$seed_src" -nt "$out/fuzz-seeds/tiny.E01" ]; }; then
  mkdir -p "$out/fuzz-seeds"
  acquire "$out/fuzz-seeds/tiny" "$seed_src" -c deflate:best -S 64MiB
  acquire "$out/fuzz-seeds/tiny-stored" "$seed_src" -c none -S 64MiB
  acquire "$out/fuzz-seeds/tiny-encase5" "$seed_src" -c deflate:fast -S 64MiB -f encase5
fi

{
  echo "# target/testdata/ewf: evidence files made by testdata/build-ewf.sh (ewfacquire $(ewfacquire -V 2>/dev/null | head -1 | awk '{print $2}'))"
  (cd "$out" && find . -type f ! -name MANIFEST ! -name '*.done' ! -path './fuzz-seeds/*' -printf '%P %s\n' | sort)
  if [ "$have_ewf" = 1 ]; then
    for e01 in $(cd "$out" && find . -name '*.E01' ! -path './fuzz-seeds/*' | sort); do
      echo "## $e01"
      ewfinfo "$out/$e01" 2>/dev/null | grep -E 'MD5|SHA1|Number of segments|Compression|Case number' || true
    done
  fi
} >"$out/MANIFEST"
echo "testdata/build-ewf.sh: fixtures in $out" >&2
