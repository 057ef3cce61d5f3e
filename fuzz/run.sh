#!/usr/bin/env bash
# Build and run one libFuzzer target on the stable toolchain (no cargo-fuzz, no nightly).
#   fuzz/run.sh TARGET [SECONDS] [EXTRA_SEED_DIR...]
# Seeds come from testdata/ (and the fixtures testdata/build.sh made under target/testdata);
# the working corpus grows in fuzz/corpus-run/TARGET, crashes land in fuzz/artifacts/TARGET.
# Exits non-zero when libFuzzer finds a crash, a timeout or an out-of-memory input.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [SEED_DIR...]}
secs=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
extra=()
for d in "$@"; do extra+=("$(cd "$d" && pwd)"); done
triple=$(rustc -vV | sed -n 's/^host: //p')
cd "$here"
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares" \
  cargo build --quiet --release --target "$triple" --bin "$target"
# VHDX's smallest files are a few MiB (1 MiB-aligned regions); everything else fits in 4 MiB.
maxlen=4194304
[ "$target" = container_vhdx ] && maxlen=16777216
corpus="$here/corpus-run/$target"
mkdir -p "$corpus" "$here/artifacts/$target"
python3 "$here/seed.py" "$target" "$corpus" "$root/testdata" "$root/target/testdata" ${extra[@]+"${extra[@]}"}
"$here/target/$triple/release/$target" "$corpus" -dict="$here/dict/formats.dict" \
  -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len="${REGNET_FUZZ_MAX_LEN:-$maxlen}" -print_final_stats=1 \
  -artifact_prefix="$here/artifacts/$target/"
