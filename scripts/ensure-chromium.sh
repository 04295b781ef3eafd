#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/browser, driven by Playwright
# through executable_path: `playwright install` cannot download its own browser here). Runs `apt-get update` only
# when the package lists do not know chromium yet. Without it the browser tests skip locally and fail under CI=true.
set -uo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "chromium is missing and this user cannot install it (apt-get install chromium)" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" != "0" ] && SUDO="sudo"
echo "installing Chromium (Debian package)…"
if ! apt-cache show chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
fi
log=$(mktemp)
for attempt in 1 2 3; do  # another apt may hold the lock: wait for it, then retry
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=120 chromium >"$log" 2>&1 && break
  [ "$attempt" = 2 ] && { $SUDO apt-get update -qq >/dev/null 2>&1 || true; }
  sleep 3
done
if ! command -v chromium >/dev/null 2>&1; then
  tail -n 15 "$log" >&2
  echo "could not install chromium; the browser tests will be skipped (and fail under CI=true)" >&2
fi
rm -f "$log"
command -v chromium >/dev/null 2>&1 && chromium --version 2>/dev/null || true
exit 0
