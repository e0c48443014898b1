#!/usr/bin/env bash
# Installs what is missing, builds, and runs `nimbus server` on its embedded
# defaults (http://127.0.0.1:4566, state in ./.nimbus). Extra arguments go to
# `nimbus server`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/app/nimbus server "$@"
