#!/usr/bin/env bash
# Start `make run` as a new user would, wait for /healthz, fetch the login page, stop it.
set -uo pipefail
port=${SMOKE_PORT:-8765}
hub_public=${SMOKE_HUB_PORT:-18443}
hub_internal=${SMOKE_HUB_INTERNAL_PORT:-18444}
s3_port=${SMOKE_S3_PORT:-18460}
log=$(mktemp)
# Ports of their own, so a console already running on this machine does not get in the way.
setsid env -u DATABASE_URL -u CELERY_BROKER_URL CCEONE_PORT="$port" \
  CCEONE_HUB_PUBLIC_LISTEN="127.0.0.1:$hub_public" CCEONE_HUB_PUBLIC_URL="wss://127.0.0.1:$hub_public" \
  CCEONE_HUB_INTERNAL_LISTEN="127.0.0.1:$hub_internal" CCEONE_HUB_INTERNAL_URL="http://127.0.0.1:$hub_internal" \
  CCEONE_SANDBOX_S3_URL="http://127.0.0.1:$s3_port" \
  make run >"$log" 2>&1 &
pid=$!
# Ctrl-C as a user would, and give honcho time to stop its processes (each runs in a
# session of its own, out of reach of a signal to our group); whatever is left after
# that — e.g. a Celery pool process whose worker was still shutting down — is killed.
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
cleanup() {
  local left; left=$(descendants "$pid")
  kill -INT -- "-$pid" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$pid" 2>/dev/null
  for p in $left; do kill -KILL "$p" 2>/dev/null; done
  wait "$pid" 2>/dev/null
}
trap cleanup EXIT
ok=""
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if [ -z "$ok" ]; then echo "make run did not become healthy:"; tail -50 "$log"; exit 1; fi
curl -fsS "http://127.0.0.1:$port/login/" | grep -q 'name="password"' || { echo "login page broken"; exit 1; }
for _ in $(seq 1 60); do grep -q "CCE One is running at" "$log" && break; sleep 1; done
grep -q "CCE One is running at" "$log" || { echo "make run did not print the URL"; tail -50 "$log"; exit 1; }
grep -q "Sign in as: demo / " "$log" || { echo "make run did not print the demo login"; exit 1; }
# The sandbox clusters are reached through the hub: three agents connect.
for _ in $(seq 1 60); do [ "$(grep -c 'connected from' "$log")" -ge 3 ] && break; sleep 1; done
[ "$(grep -c 'connected from' "$log")" -ge 3 ] || { echo "the sandbox agents did not connect"; tail -50 "$log"; exit 1; }
# The demo's sandbox storage location answers (manage.py runs3).
for _ in $(seq 1 30); do grep -q "Sandbox S3 endpoint at" "$log" && break; sleep 1; done
grep -q "Sandbox S3 endpoint at" "$log" || { echo "the sandbox S3 endpoint did not start"; tail -50 "$log"; exit 1; }
echo "make run smoke test passed"
