#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the test suite: start the machine's cluster if
# it is stopped, install Debian's postgresql if it is missing. Tests skip PostgreSQL only if this fails.
set -uo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL (Debian package)…"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >/dev/null 2>&1 \
    || { echo "could not install PostgreSQL; its tests will be skipped" >&2; exit 0; }
fi
for v in $(ls /etc/postgresql 2>/dev/null); do
  pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
done
for _ in $(seq 1 30); do ready && break; sleep 0.5; done
if ready; then
  # trust auth on loopback is how this machine comes; make sure the postgres role can connect without a password
  psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1 || echo "PostgreSQL is up but 'postgres' cannot log in on 127.0.0.1 without a password" >&2
else
  echo "PostgreSQL did not start; its tests will be skipped" >&2
fi
exit 0
