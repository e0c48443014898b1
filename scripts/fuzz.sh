#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes one (or each) of them.
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh sigv4 300       # one target, 300 s
# New interesting inputs are written to fuzz/findings/<target>/; a crash is
# saved there too: add it to fuzz/corpus/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(http_request sigv4 query_form lambda_proxy apigateway_route logs_filter_pattern dynamodb_expression embedded_metrics metric_math jwt)
if [[ $# -ge 1 ]]; then targets=("$1"); fi
seconds="${2:-60}"

scripts/install-deps.sh
# Release: clang 14 cannot emit debug info for some coroutine frames.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DNIMBUS_FUZZ=ON -DNIMBUS_BUILD_TESTS=OFF -DNIMBUS_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}"

for target in "${targets[@]}"; do
  mkdir -p "fuzz/findings/$target"
  echo "== fuzzing $target for ${seconds}s"
  "build-fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
    -artifact_prefix="fuzz/findings/$target/" "fuzz/findings/$target" "fuzz/corpus/$target"
done
