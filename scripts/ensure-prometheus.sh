#!/usr/bin/env bash
# Make sure Debian's prometheus (with promtool) and prometheus-alertmanager are installed for the tests that run
# them on loopback ports. Idempotent: does nothing when both binaries exist; runs `apt-get update` only when the
# install fails without it. The test fixtures start the binaries themselves (and fail under CI when missing).
set -uo pipefail
have() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
  && command -v prometheus-alertmanager >/dev/null 2>&1; }
have && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager >/dev/null 2>&1
}
echo "installing Prometheus and Alertmanager (Debian packages)…"
if ! install; then
  ($SUDO apt-get update -qq >/dev/null 2>&1 && install) \
    || { echo "could not install prometheus/prometheus-alertmanager; their tests fail under CI, skip otherwise" >&2; exit 0; }
fi
have || echo "prometheus/promtool/prometheus-alertmanager still missing after install" >&2
exit 0
