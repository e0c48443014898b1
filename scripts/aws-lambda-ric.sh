#!/usr/bin/env bash
# Builds AWS's Node.js runtime interface client (npm aws-lambda-ric, with its
# native Runtime API client) once into a cache and prints the directory; the
# engine test that proves it runs unchanged copies it into a function.
# The native build takes minutes and needs autoconf, automake and libtool
# (scripts/install-deps.sh), so it is cached per version.
# 3.x is the line that supports Node.js 18 and 20.
set -euo pipefail
version=3.3.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/aws-lambda-ric-$version"
if [[ -f "$cache/node_modules/aws-lambda-ric/dist/rapid-client.node" ]]; then
  echo "$cache"
  exit 0
fi
echo "aws-lambda-ric: building $version (once; takes a few minutes)" >&2
mkdir -p "$(dirname "$cache")"
work="$(mktemp -d "${cache}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund "aws-lambda-ric@$version" >&2)
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
echo "$cache"
