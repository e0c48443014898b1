#!/usr/bin/env bash
# Configures and builds one flavour of Nimbus.
#   scripts/build.sh            # build/       optimised with debug info
#   scripts/build.sh asan       # build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
#   scripts/build.sh tsan       # build-tsan/  ThreadSanitizer, the concurrency tests only
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
case "$flavour" in
  release) dir=build; extra=(-DNIMBUS_BUILD_BENCH=ON) ;;
  asan) dir=build-asan; extra=(-DNIMBUS_SANITIZE=address,undefined -DNIMBUS_BUILD_BENCH=OFF) ;;
  tsan) dir=build-tsan; extra=(-DNIMBUS_SANITIZE=thread -DNIMBUS_BUILD_BENCH=OFF); targets=(storage_test storage_crash_child) ;;
  *) echo "usage: $0 [release|asan|tsan]" >&2; exit 2 ;;
esac
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Relative paths in the cache key: a fresh clone elsewhere (as CI makes) still hits.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" ${targets[@]+--target "${targets[@]}"}
