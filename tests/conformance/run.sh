#!/usr/bin/env bash
# The S3 conformance step: ceph/s3-tests (../shared/conformance, beside the checkout) against a
# fresh lakegate on an ephemeral loopback port: the main user is root, the second and third users
# (the suite's alt and tenant) are users created through the admin API: alt with no policies of
# its own, as another account's user would be, tenant with the canned readwrite policy. Fails when fewer tests pass than
# the floor recorded in tests/conformance/floor (raise it as behaviour is fixed; never lower it).
# Skips, saying so, where ../shared/conformance does not exist.
#
#   bash tests/conformance/run.sh [path/to/lakegate]     (default: $LAKEGATE_BIN)
#   CONFORMANCE_KEYWORD=cors bash tests/conformance/run.sh   (only the tests pytest -k selects)
#
# Keeps the generated config, JUnit XML and report.jsonl (every test's outcome and failure
# reason) in $CONFORMANCE_KEEP (default: target/conformance).
set -euo pipefail
cd "$(dirname "$0")/../.."
SUITE="$(cd .. && pwd)/shared/conformance"
if [[ ! -x "$SUITE/run.sh" ]]; then
  echo "conformance: SKIPPED — no suite at $SUITE/run.sh (the ceph/s3-tests checkout lives beside the repository)"
  exit 0
fi
BIN="$(realpath "${1:-${LAKEGATE_BIN:-target/release/lakegate}}")"
FLOOR="$(tr -dc 0-9 < tests/conformance/floor)"
KEEP="${CONFORMANCE_KEEP:-target/conformance}"
rm -rf "$KEEP" && mkdir -p "$KEEP"
KEEP="$(realpath "$KEEP")"
WORK="$(mktemp -d)"
ACCESS=conformance-root
SECRET="$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
# The suite compares owners and grantees with the display names in its own configuration: the
# account's ("M. Tester") and the second user's ("john.doe", a user's display name being its
# name).
export LAKEGATE_ROOT_USER="$ACCESS" LAKEGATE_ROOT_PASSWORD="$SECRET" LAKEGATE_ROOT_DISPLAY_NAME="M. Tester"

# The logging tests wait 5.5 s, then expect the records made before to have been delivered by
# the next request: access logs roll every 5 s here (the default, 5m, suits production). The
# suite's account starts without buckets, as a fresh AWS account does.
# The suite's KMS tests name the keys testkey-1 and testkey-2 (fresh random keys each run).
# The suite talks HTTPS (`--secure`) to a certificate made by `lakegate certs generate`, so
# SSE-C keys travel over TLS as they must.
printf 'testkey-2:%s\n' "$(head -c 32 /dev/urandom | base64)" > "$WORK/kms.keys"
export LAKEGATE_KMS_SECRET_KEY="testkey-1:$(head -c 32 /dev/urandom | base64)"
"$BIN" certs generate --dir "$WORK/certs" --host 127.0.0.1 --host localhost > /dev/null
"$BIN" server "$WORK/data" --address 127.0.0.1:0 --console-address 127.0.0.1:0 \
  --policies "$WORK/policies" --access-log-interval 5s --no-default-buckets \
  --kms-keys "$WORK/kms.keys" --certs-dir "$WORK/certs" \
  > "$WORK/stdout" 2> "$KEEP/server.log" < /dev/null &
PID=$!
# shellcheck disable=SC2317
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=""
for _ in $(seq 1 600); do
  PORT="$(grep -o 's3=https://127.0.0.1:[0-9]*' "$WORK/stdout" 2>/dev/null | head -1 | sed 's/.*://')" || true
  [[ -n "$PORT" ]] && break
  kill -0 "$PID" 2>/dev/null || { echo "conformance: the server exited"; cat "$KEEP/server.log"; exit 1; }
  sleep 0.1
done
[[ -n "$PORT" ]] || { echo "conformance: no ready line in 60 s"; exit 1; }
echo "conformance: lakegate on 127.0.0.1:$PORT, floor $FLOOR"

# The second and third users, made as an operator would (`lakegate admin`, signed as root).
ALT=john.doe TENANT=conformance-tenant
ALT_SECRET="$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
TENANT_SECRET="$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
for user in "$ALT:$ALT_SECRET" "$TENANT:$TENANT_SECRET"; do
  "$BIN" admin user add "${user%%:*}" "${user#*:}" --endpoint "https://127.0.0.1:$PORT" --ca-cert "$WORK/certs/public.crt" >/dev/null \
    || { echo "conformance: cannot create the user ${user%%:*}"; exit 1; }
done
# The third user is a workload key with the canned readwrite policy (it creates and uses buckets
# of its own); the second stays without policies, like another account's user.
"$BIN" admin policy attach readwrite --user "$TENANT" --endpoint "https://127.0.0.1:$PORT" --ca-cert "$WORK/certs/public.crt" >/dev/null \
  || { echo "conformance: cannot attach readwrite to $TENANT"; exit 1; }

# CONFORMANCE_KEYWORD=expr runs only the tests pytest's -k selects (no floor then).
SELECT=()
[[ -n "${CONFORMANCE_KEYWORD:-}" ]] && SELECT=(--keyword "$CONFORMANCE_KEYWORD")
set +e
# The suite's own raw HTTP calls (requests, http.client) verify certificates: they trust ours.
export REQUESTS_CA_BUNDLE="$WORK/certs/public.crt" SSL_CERT_FILE="$WORK/certs/public.crt"
"$SUITE/run.sh" "${SELECT[@]}" --secure --port "$PORT" --access-key "$ACCESS" --secret-key "$SECRET" \
  --alt-access-key "$ALT" --alt-secret-key "$ALT_SECRET" \
  --tenant-access-key "$TENANT" --tenant-secret-key "$TENANT_SECRET" \
  --main-user-id "$ACCESS" --alt-user-id "$ALT" \
  --keep "$KEEP" --summary-md "$KEEP/summary.md" | tee "$KEEP/run.log"
set -e
LAST="$(tail -1 "$KEEP/run.log")"
PASSED="$(sed -n 's/^\([0-9][0-9]*\) passed.*/\1/p' <<< "$LAST")"
[[ -n "$PASSED" ]] || { echo "conformance: no result line (last line: $LAST)"; exit 1; }
if [[ -n "${CONFORMANCE_KEYWORD:-}" ]]; then
  echo "conformance: $PASSED passed (selection '$CONFORMANCE_KEYWORD', no floor)"
  exit 0
fi
if (( PASSED < FLOOR )); then
  echo "conformance: FAILED — $PASSED passed, below the floor of $FLOOR (reasons: $KEEP/report.jsonl)"
  exit 1
fi
echo "conformance: $PASSED passed (floor $FLOOR)"
