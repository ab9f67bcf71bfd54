#!/usr/bin/env bash
# Installs Debian's `chromium` for the editor UI check (test/e2e/editor.e2e.mjs), which drives it
# through npm `playwright-core` with executablePath /usr/bin/chromium. Playwright's own browser
# download is not used: only the npm registry and Debian's packages are reachable from these
# machines. Idempotent: does nothing when /usr/bin/chromium is already there.
# Needs root (CI and the dev machines run as root); says what it runs.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
log() { echo "[install-chromium] $*" >&2; }

if [ -x "$CHROMIUM" ]; then
  log "$CHROMIUM present: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "ERROR: $CHROMIUM missing and not root (no sudo): run 'apt-get install -y chromium' as root"; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
log "$CHROMIUM missing: running '$SUDO apt-get update'"
$SUDO apt-get update -q >&2
log "running '$SUDO apt-get install -y --no-install-recommends chromium'"
$SUDO apt-get install -y -q --no-install-recommends chromium >&2
[ -x "$CHROMIUM" ] || { log "ERROR: apt-get finished but $CHROMIUM is still missing"; exit 1; }
log "installed: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
