#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration
# tests on the optimised build, the same again under AddressSanitizer +
# UndefinedBehaviorSanitizer, the storage concurrency tests under
# ThreadSanitizer, the fuzz corpora, and the format check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

# AWS's own Node.js runtime interface client, for the test that runs it unchanged.
NIMBUS_AWS_LAMBDA_RIC_DIR="$(scripts/aws-lambda-ric.sh)"
export NIMBUS_AWS_LAMBDA_RIC_DIR
# The npm AWS SDK for JavaScript v3, for the tests that drive Nimbus with it.
NIMBUS_AWS_SDK_JS_DIR="$(scripts/aws-sdk-js.sh)"
export NIMBUS_AWS_SDK_JS_DIR

echo "== format"
scripts/check-format.sh

echo "== build"
scripts/build.sh release
echo "== tests"
(cd build && ctest -j"$(nproc)" --output-on-failure --timeout 600)

echo "== storage concurrency tests (tsan)"
scripts/build.sh tsan
# The two tests with concurrent plain writers are left out: RocksDB's group
# commit hands batches between threads inside uninstrumented RocksDB, which
# TSan reports as races (scripts/tsan.supp explains the rest).
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  build-tsan/src/nimbus/storage/storage_test \
  --gtest_filter='AsyncStoreTest.*:StoreTest.*Conflict*:StoreTest.ConcurrentIncrementsLoseNothing:StoreTest.ChangeFeedDeliversCommitsInOrder'

echo "== build (asan+ubsan)"
scripts/build.sh asan
echo "== tests (asan+ubsan)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest -j"$(nproc)" --output-on-failure --timeout 900)
