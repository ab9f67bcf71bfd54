#!/usr/bin/env bash
# One command on a fresh machine: installs the repo's dev dependencies if missing, then starts
# real n8n (Node 24 + n8n are installed once into ~/.cache) with the pack and the workflows.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
exec node scripts/start-pipeline.mjs
