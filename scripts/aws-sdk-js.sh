#!/usr/bin/env bash
# Installs the npm AWS SDK for JavaScript v3 clients the integration tests
# drive Nimbus with, once per version into a cache, and prints the directory
# holding node_modules.
set -euo pipefail
version=3.1164.0
packages=("@aws-sdk/client-lambda@$version" "@aws-sdk/client-apigatewayv2@$version"
          "@aws-sdk/client-dynamodb@$version" "@aws-sdk/lib-dynamodb@$version")
# The cache is keyed by the package list, so adding a client installs again.
key="$(echo "${packages[*]}" | sha256sum | cut -c1-12)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/aws-sdk-js-$version-$key"
if [[ -f "$cache/.complete" ]]; then
  echo "$cache"
  exit 0
fi
echo "aws-sdk-js: installing ${packages[*]} (once)" >&2
mkdir -p "$(dirname "$cache")"
work="$(mktemp -d "${cache}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund "${packages[@]}" >&2)
touch "$work/.complete"
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
echo "$cache"
