#!/usr/bin/env bash
# Tests libregnet, the C ABI of regnet (crates/regnet-capi), from C and from C# (Mono):
#  1. builds and installs it with scripts/build-capi.sh (prefix target/capi/prefix), and the CLI;
#  2. compiles the C tests and examples/c/extract.c with gcc -std=c11 -Wall -Wextra -Werror through
#     `pkg-config --cflags --libs regnet`, and the example once more against libregnet.a;
#  3. runs the C tests under valgrind (0 leaks, 0 errors): every entry point and error, short reads,
#     eight threads at once;
#  4. compares what the library returns with what `regnet extract|hive|map` prints (parsed JSON);
#  5. builds and runs the C# test (P/Invoke, SafeHandle, a delegate over a FileStream, the report
#     checked against its JSON Schema) and examples/csharp.
#
# As root with apt-get, missing Debian packages are installed first (REGNET_NO_INSTALL=1 prevents it).
# The parts that need target/testdata (testdata/build.sh) skip with a reason when it is absent.
# Ends with "capi: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

packages=(gcc libc6-dev pkg-config valgrind python3 mono-mcs mono-runtime libmono-system-json4.0-cil)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${REGNET_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-capi: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test-capi: not installed: ${missing[*]} (the parts that need them skip)" >&2
  fi
fi

target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
prefix=${REGNET_CAPI_PREFIX:-$root/target/capi/prefix}
work=$target_dir/capi/test
rm -rf "$work"
mkdir -p "$work/cli" "$work/c"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { echo "skip $*"; }

echo "== build: libregnet and the regnet command"
scripts/build-capi.sh "$prefix"
cargo build --release --locked -q -p regnet-cli
regnet=$target_dir/release/regnet
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
libdir=$(pkg-config --variable=libdir regnet)
echo "pkg-config --cflags --libs regnet: $(pkg-config --cflags --libs regnet)"
echo "exported: $(nm -D --defined-only "$libdir/libregnet.so.0" | awk '{print $3}' | tr '\n' ' ')"

echo "== compile (gcc -std=c11 -Wall -Wextra -Werror, pkg-config)"
cflags=(-std=c11 -Wall -Wextra -Werror -O1 -g -pthread)
for t in test_capi dump threads; do
  # shellcheck disable=SC2046
  gcc "${cflags[@]}" -o "$work/c/$t" "crates/regnet-capi/tests/c/$t.c" $(pkg-config --cflags --libs regnet) \
    -Wl,-rpath,"$libdir"
done
make -s -C examples/c -f Makefile extract CFLAGS="${cflags[*]}" >/dev/null
mv examples/c/extract "$work/c/extract"
# The same program linked against the static library (Libs.private brings what Rust's std needs).
# shellcheck disable=SC2046
gcc "${cflags[@]}" -o "$work/c/extract-static" examples/c/extract.c $(pkg-config --cflags regnet) \
  $(pkg-config --static --libs regnet | sed "s#-lregnet#$libdir/libregnet.a#")
if ldd "$work/c/extract-static" | grep -q libregnet; then fail "extract-static links libregnet.so"; else pass "extract-static is linked without libregnet.so"; fi

# valgrind, or the program alone when valgrind is missing.
vg() {
  local name=$1
  shift
  if command -v valgrind >/dev/null; then
    local rc=0
    valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 \
      --log-file="$work/$name.valgrind" "$@" || rc=$?
    grep -E "in use at exit|ERROR SUMMARY" "$work/$name.valgrind" | sed "s/^==[0-9]*== /  valgrind $name: /" >&2
    [ "$rc" = 99 ] && echo "  valgrind $name: errors or leaks, see $work/$name.valgrind" >&2
    return "$rc"
  fi
  echo "  (valgrind missing: $name runs without it)" >&2
  "$@"
}

# same_json A B: A and B are equal JSON (a report read through the read-at callback, named as the
# file, is the file's report to the byte counts: a stream is read as the file is).
same_json() {
  python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    def diff(x, y, path="$"):
        if type(x) != type(y):
            return f"{path}: {x!r} vs {y!r}"
        if isinstance(x, dict):
            for k in sorted(set(x) | set(y)):
                if k not in x or k not in y:
                    return f"{path}.{k}: on one side only"
                d = diff(x[k], y[k], f"{path}.{k}")
                if d: return d
        elif isinstance(x, list):
            if len(x) != len(y):
                return f"{path}: {len(x)} vs {len(y)} elements"
            for i, (p, q) in enumerate(zip(x, y)):
                d = diff(p, q, f"{path}[{i}]")
                if d: return d
        elif x != y:
            return f"{path}: {x!r} vs {y!r}"
    print("  differ:", diff(a, b), file=sys.stderr)
    sys.exit(1)
PY
}

example=testdata/example
testdata=target/testdata
linux_image=
if [ -f "$testdata/linux/ubuntu-cloud.qcow2" ]; then
  linux_image=$testdata/linux/ubuntu-cloud.qcow2
else
  echo "test-capi: $testdata is absent (testdata/build.sh builds it): the Linux and other fixture images skip" >&2
fi

echo "== C tests under valgrind"
if vg test_capi "$work/c/test_capi" "$example" ${linux_image:+"$linux_image"} >"$work/test_capi.out"; then
  pass "test_capi: $(tail -n 1 "$work/test_capi.out")"
else
  cat "$work/test_capi.out"
  fail "test_capi"
fi

thread_images=("$example/disk.qcow2")
for i in linux/ubuntu-cloud.qcow2 linux/rocky-lvm.vhdx images/gpt.raw images/mbr-compressed.qcow2; do
  [ -f "$testdata/$i" ] && thread_images+=("$testdata/$i")
done
if vg threads "$work/c/threads" "${thread_images[@]}" >"$work/threads.out"; then
  pass "$(head -n 1 "$work/threads.out")"
else
  cat "$work/threads.out"
  fail "threads"
fi

echo "== the library against the regnet command (parsed JSON)"
images=("$example/disk.qcow2" "$example/app-srv-07.vmx")
for i in linux/ubuntu-cloud.qcow2 linux/rocky-lvm.vhdx linux/ubuntu-lvm.vmdk linux/alma-cloud.vhd linux/debian-mbr.raw \
  images/gpt.raw images/mbr-compressed.qcow2 images/gpt-dynamic.vhdx images/gpt-stream.vmdk images/logical.raw; do
  if [ -f "$testdata/$i" ]; then images+=("$testdata/$i"); else skip "$i: not built"; fi
done
n=0
for image in "${images[@]}"; do
  n=$((n + 1))
  if ! "$regnet" extract "$image" >"$work/cli/$n.json"; then
    fail "regnet extract $image"
    continue
  fi
  if "$work/c/dump" path "$image" >"$work/c/$n.path.json" && same_json "$work/cli/$n.json" "$work/c/$n.path.json"; then
    pass "regnet_extract_path $image = regnet extract"
  else
    fail "regnet_extract_path $image"
  fi
  case "$image" in *.vmx) continue ;; esac # a VM configuration file is read by path only
  # Through the callback, 1..7 bytes a call, named as the file: the same report, byte counts included.
  if "$work/c/dump" readat "$image" 7 "$image" >"$work/c/$n.readat.json" 2>"$work/c/$n.readat.err" &&
    same_json "$work/cli/$n.json" "$work/c/$n.readat.json"; then
    pass "regnet_extract_read_at $image, 1..7 bytes a call ($(sed -n 's/dump: //p' "$work/c/$n.readat.err")) = regnet extract"
  else
    cat "$work/c/$n.readat.err" >&2
    fail "regnet_extract_read_at $image"
  fi
  if "$work/c/extract" "$image" >"$work/c/$n.example.json" && same_json "$work/cli/$n.json" "$work/c/$n.example.json"; then
    pass "examples/c/extract $image = regnet extract"
  else
    fail "examples/c/extract $image"
  fi
done
if vg readat "$work/c/dump" readat "$example/disk.qcow2" 7 >/dev/null 2>"$work/readat.err"; then
  pass "dump readat (1..7 bytes a call) under valgrind:$(grep -hE "in use at exit|ERROR SUMMARY" "$work/readat.valgrind" | sed 's/^==[0-9]*== */ /' | tr -d '\n')"
else
  fail "dump readat under valgrind"
fi
if vg extract "$work/c/extract" "$example/disk.qcow2" >/dev/null; then pass "examples/c/extract under valgrind"; else fail "examples/c/extract under valgrind"; fi
if "$work/c/extract-static" "$example/disk.qcow2" >"$work/c/static.json" && same_json "$work/cli/1.json" "$work/c/static.json"; then
  pass "extract-static (libregnet.a) = regnet extract"
else
  fail "extract-static"
fi

"$regnet" hive "$example/SYSTEM" >"$work/cli/hive.json"
if vg hive "$work/c/dump" hive "$example/SYSTEM" "$example/SYSTEM.LOG1" "$example/SYSTEM.LOG2" >"$work/c/hive.json" &&
  same_json "$work/cli/hive.json" "$work/c/hive.json"; then
  pass "regnet_report_from_hive SYSTEM + LOG1, LOG2 = regnet hive"
else
  fail "regnet_report_from_hive"
fi
"$regnet" map --plan "$example/plan.json" "$work/cli/1.json" >"$work/cli/map.json"
if vg map "$work/c/dump" map "$example/plan.json" "$work/cli/1.json" >"$work/c/map.json" &&
  same_json "$work/cli/map.json" "$work/c/map.json"; then
  pass "regnet_map = regnet map"
else
  fail "regnet_map"
fi

echo "== C# (Mono)"
if command -v mcs >/dev/null && command -v mono >/dev/null && [ -f /usr/lib/mono/4.5/System.Json.dll ]; then
  cs=$work/csharp
  mkdir -p "$cs"
  cp "$work/cli/1.json" "$cs/disk.json"
  cp "$work/cli/hive.json" "$cs/hive.json"
  cp "$work/cli/map.json" "$cs/map.json"
  [ -n "$linux_image" ] && "$regnet" extract "$linux_image" >"$cs/linux.json"
  schema=-
  if [ -f docs/schema/report.schema.json ]; then
    schema=docs/schema/report.schema.json
  elif "$regnet" schema report >"$cs/report.schema.json" 2>/dev/null; then
    schema=$cs/report.schema.json
  fi
  echo "report schema: $schema"
  mcs -nologo -warnaserror -r:System.Json -out:"$cs/RegnetTest.exe" crates/regnet-capi/tests/csharp/RegnetTest.cs \
    crates/regnet-capi/tests/csharp/JsonSchema.cs examples/csharp/Regnet.cs
  mcs -nologo -warnaserror -out:"$cs/Extract.exe" examples/csharp/Extract.cs examples/csharp/Regnet.cs
  if LD_LIBRARY_PATH=$libdir mono "$cs/RegnetTest.exe" "$example" "$cs" "$schema" ${linux_image:+"$linux_image"} \
    >"$cs/test.out"; then
    sed 's/^/  /' "$cs/test.out"
    pass "C# test: $(tail -n 1 "$cs/test.out")"
  else
    cat "$cs/test.out"
    fail "C# test"
  fi
  if LD_LIBRARY_PATH=$libdir mono "$cs/Extract.exe" "$example/disk.qcow2" >"$cs/extract.json" &&
    same_json "$work/cli/1.json" "$cs/extract.json"; then
    pass "examples/csharp Extract.exe = regnet extract"
  else
    fail "examples/csharp Extract.exe"
  fi
else
  skip "C#: mono, mcs or System.Json (libmono-system-json4.0-cil) missing"
fi

echo "capi: $passed passed, $failed failed"
[ "$failed" = 0 ]
