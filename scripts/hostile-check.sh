#!/usr/bin/env bash
# Runs every hostile-input test alone, in debug and in release builds, under /usr/bin/time, and
# prints the slowest and the largest: the acceptance measure "each hostile test ends within 2 s and
# under 256 MiB, never a panic, abort or stack overflow". Debug builds also prove there is no
# arithmetic overflow (overflow checks are on in both profiles).
# Measures only; the test suite itself never asserts timings. Needs the fixtures (testdata/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "hostile-check: /usr/bin/time missing (Debian package: time)" >&2; exit 2; }
# test binary (package:test) and the name filter that selects its hostile cases ("" = all).
targets=(
  "regnet-testkit:parser_hostile:"
  "regnet-image:partition_hostile:"
  "regnet-image:ntfs:hostile"
  "regnet-image:qcow2:hostile"
  "regnet-image:vmdk:hostile"
  "regnet-image:vhd:hostile"
  "regnet-image:vhdx:hostile"
  "regnet:damage:"
  "regnet-hive:corpus:every_corpus_file"
  "regnet-image:esxi_hostile:"
  "regnet-image:lvm_hostile:"
  "regnet-image:ext4_hostile:"
  "regnet-image:xfs_hostile:"
  "regnet-vmconfig:hostile:"
  "regnet:vms:hostile"
  "regnet-linux:keyfile_hostile:"
)
worst_t=0; worst_m=0; n=0; bad=0
for profile in debug release; do
  flag=""; [ "$profile" = release ] && flag="--release"
  for t in "${targets[@]}"; do
    IFS=: read -r pkg test filter <<< "$t"
    bin=$(cargo test -q $flag -p "$pkg" --test "$test" --no-run --message-format=json 2>/dev/null \
          | python3 -c 'import json,sys
for l in sys.stdin:
    try: m=json.loads(l)
    except Exception: continue
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["kind"]==["test"]: print(m["executable"])' | tail -1)
    [ -n "$bin" ] || { echo "hostile-check: cannot build $pkg --test $test" >&2; exit 1; }
    for name in $("$bin" --list 2>/dev/null | sed -n 's/: test$//p' | grep -i -- "$filter" || true); do
      out=$( { /usr/bin/time -f "%e %M" "$bin" --exact "$name" --test-threads=1 >/dev/null 2>/tmp/hostile-check.err; } 2>&1; tail -1 /tmp/hostile-check.err)
      read -r secs kb <<< "$(tail -1 /tmp/hostile-check.err)"
      n=$((n + 1))
      if ! grep -q "test result: ok" <("$bin" --exact "$name" --test-threads=1 2>&1 | tail -3); then
        echo "FAILED: $profile $pkg::$test::$name" ; bad=$((bad + 1))
      fi
      awk -v s="$secs" -v k="$kb" -v p="$profile" -v nm="$pkg::$test::$name" 'BEGIN { if (s > 2.0 || k > 262144) printf "OVER: %s %s %.2f s %d MiB\n", p, nm, s, k/1024 }'
      worst_t=$(awk -v a="$worst_t" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
      worst_m=$(( kb > worst_m ? kb : worst_m ))
    done
  done
done
echo "hostile-check: $n test runs (debug and release), failed $bad; slowest $worst_t s, largest $((worst_m / 1024)) MiB peak RSS"
[ "$bad" = 0 ]
