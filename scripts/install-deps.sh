#!/usr/bin/env bash
# Installs, with apt-get, whatever Nimbus needs to build, run and test that is
# missing on a Debian 12 machine. Idempotent: a machine that has everything
# makes no apt call at all.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang clang-format
  libclang-rt-14-dev
  # libraries (DESIGN.md: chosen once, used everywhere)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  librocksdb-dev libssl-dev libfmt-dev libspdlog-dev libcli11-dev
  libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  # Lambda deployment packages are zip files
  libzip-dev
  # the trust store HTTPS integrations (HTTP_PROXY, JWKS) check servers against
  ca-certificates
  # real AWS clients and load tools the tests and benchmarks drive Nimbus with
  awscli python3-boto3 python3-pytest wrk curl
  # minting JWTs (RS256, ES256) for the API Gateway JWT authorizer tests
  python3-jwt python3-cryptography
  # parsing /_nimbus/metrics with Prometheus's own text-format parser
  python3-prometheus-client
  # building AWS's aws-lambda-ric (native code) for the engine's compatibility test
  autoconf automake libtool
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
