#!/bin/bash
# The bootstrap of AWS's custom-runtime tutorial (bash + curl), as a user
# would deploy it. It posts its answer form-encoded. Used by the engine's
# tests and by bench/engine_bench.cc.
set -euo pipefail
while true; do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE="Echoing request: '$EVENT_DATA'"
  curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" >/dev/null
done
