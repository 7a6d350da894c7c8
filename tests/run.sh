#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need
# (the node-smpp interop peer), then runs every Rust test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "error: node and npm are required (the interop tests run node-smpp as an SMSC)" >&2
  exit 1
fi
npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error

cargo test --workspace --locked
