#!/usr/bin/env bash
# End-to-end tests on real n8n (installed once into a cache folder outside the repo).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node --test --test-concurrency=1 --test-timeout=1500000 test/e2e/*.e2e.mjs
