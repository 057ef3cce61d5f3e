#!/usr/bin/env bash
# Builds libregnet, the C ABI of regnet (crates/regnet-capi), and installs it into a prefix:
#   PREFIX/include/regnet.h
#   PREFIX/lib/libregnet.so.0.1.0, libregnet.so.0 -> it (the SONAME), libregnet.so -> libregnet.so.0
#   PREFIX/lib/libregnet.a
#   PREFIX/lib/pkgconfig/regnet.pc
# Usage: scripts/build-capi.sh [PREFIX]   (default: target/capi/prefix in the repository)
# Then: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc prog.c $(pkg-config --cflags --libs regnet)
#
# It uses only cargo (no cargo-c): `cargo rustc --crate-type cdylib` with the SONAME as a linker
# argument, `--crate-type staticlib` with `--print native-static-libs` for the .pc's Libs.private.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
prefix=${1:-$root/target/capi/prefix}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac

version=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "regnet-capi"))')
major=${version%%.*}
soname=libregnet.so.$major

echo "build-capi: libregnet $version (SONAME $soname) into $prefix" >&2
cargo rustc --release --locked -p regnet-capi --lib --crate-type cdylib -- -C "link-arg=-Wl,-soname,$soname"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo rustc --release --locked -p regnet-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1 | tee "$log" >&2
# rustc prints "note: native-static-libs: -lgcc_s -lutil ..." when it links the archive; when cargo
# finds the archive up to date it prints nothing, so the last list is kept beside it.
libs_file=$target_dir/release/libregnet_capi.native-static-libs
if grep -q 'native-static-libs:' "$log"; then
  sed -n 's/.*native-static-libs: *//p' "$log" | tail -n 1 >"$libs_file"
fi
if [ ! -s "$libs_file" ]; then
  echo "build-capi: no native-static-libs list (remove $target_dir/release/libregnet_capi.a and rerun)" >&2
  exit 1
fi
private_libs=$(cat "$libs_file")

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 include/regnet.h "$prefix/include/regnet.h"
install -m 0755 "$target_dir/release/libregnet_capi.so" "$prefix/lib/libregnet.so.$version"
ln -sfn "libregnet.so.$version" "$prefix/lib/$soname"
ln -sfn "$soname" "$prefix/lib/libregnet.so"
install -m 0644 "$target_dir/release/libregnet_capi.a" "$prefix/lib/libregnet.a"
cat >"$prefix/lib/pkgconfig/regnet.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: regnet
Description: Reads a VM's network settings offline from its disk images (C ABI of regnet)
Version: $version
Libs: -L\${libdir} -lregnet
Libs.private: $private_libs
Cflags: -I\${includedir}
PC

# Only the regnet_* functions are exported.
others=$(nm -D --defined-only "$prefix/lib/libregnet.so.$version" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^regnet_/ {print $3}')
if [ -n "$others" ]; then
  echo "build-capi: symbols exported besides regnet_*: $others" >&2
  exit 1
fi
echo "build-capi: installed; PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs regnet" >&2
