#!/usr/bin/env bash
# The benchmarks' load generator: Debian's wrk (bench/wrk.py). Without it they fall back to a Python generator,
# which on 2 cores takes as much CPU as the servers it measures. Idempotent; never fails the caller.
set -uo pipefail
command -v wrk >/dev/null 2>&1 && exit 0
SUDO=""; [ "$(id -u)" != "0" ] && SUDO="sudo -n"
echo "installing wrk (Debian package)…"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 \
  || { $SUDO apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
       --no-install-recommends wrk >/dev/null 2>&1; } \
  || echo "could not install wrk; the benchmarks use the Python load generator" >&2
exit 0
