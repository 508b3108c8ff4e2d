#!/usr/bin/env bash
# Full test run: formatting, lints, build, unit/integration tests, then the
# end-to-end suite (real S3 clients against a real lakegate process).
#
#   bash tests/run-all.sh
#
# Env knobs:
#   LAKEGATE_PROFILE=release|debug  profile for the build, the cargo tests and the
#                                   binary the e2e suite runs (default: release)
#   LAKEGATE_BIN=path               run e2e against this binary (skips the build step)
#   E2E_JOBS=N                      pytest-xdist workers (default 2; 0 = no xdist)
#   E2E_ARGS="..."                  extra pytest args (e.g. "-k boto3 -x")
#   SKIP_RUST=1                     only run the e2e suite (and the conformance step)
#   SKIP_CONFORMANCE=1              skip the S3 conformance step (tests/conformance/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
PROFILE="${LAKEGATE_PROFILE:-release}"
E2E_JOBS="${E2E_JOBS:-2}"

step() {
  printf '\n==> %s  (%s, %s free)\n' "$*" "$(date +%H:%M:%S)" "$(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ')"
}

# A fresh machine lacks the end-to-end clients Debian packages; install them when we can.
if ! command -v rclone >/dev/null || ! command -v s3cmd >/dev/null || ! command -v chromium >/dev/null \
   || ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    step "installing rclone, s3cmd, chromium and prometheus"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rclone s3cmd curl chromium prometheus >/dev/null
  fi
fi
SECONDS=0

if [[ "${SKIP_RUST:-0}" != 1 ]]; then
  step "cargo fmt --all --check"
  cargo fmt --all --check

  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings

  step "policy plugins (wasm32-wasip2 components for the policy tests)"
  bash tests/plugins/build.sh >/dev/null

  # One build graph for bins AND tests: building bins alone and tests alone resolves
  # different feature sets (aws-sdk-s3 is a dev-dependency), which recompiles most
  # dependencies a second time. So build everything once, in the profile the e2e
  # binary uses, and run the Rust tests from that same build.
  PFLAG=()
  [[ "$PROFILE" == release ]] && PFLAG=(--release)
  step "cargo build ${PFLAG[*]} --workspace --all-targets"
  cargo build "${PFLAG[@]}" --workspace --all-targets

  if cargo nextest --version >/dev/null 2>&1; then
    step "cargo nextest run ${PFLAG[*]} --workspace"
    cargo nextest run "${PFLAG[@]}" --workspace --no-tests=pass
    step "cargo test ${PFLAG[*]} --workspace --doc"
    cargo test "${PFLAG[@]}" --workspace --doc
  else
    step "cargo test ${PFLAG[*]} --workspace"
    cargo test "${PFLAG[@]}" --workspace
  fi
fi

if [[ -z "${LAKEGATE_BIN:-}" ]]; then
  export LAKEGATE_BIN="target/$PROFILE/lakegate"
fi
[[ -x "$LAKEGATE_BIN" ]] || { echo "lakegate binary not found: $LAKEGATE_BIN" >&2; exit 1; }

step "e2e python environment"
VENV=tests/e2e/.venv
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
# The browser upload test's driver (test_browser_upload.py skips without it, outside CI).
if [[ ! -d tests/e2e/browser/node_modules ]] && command -v npm >/dev/null; then
  npm ci --prefix tests/e2e/browser --no-audit --no-fund
fi

step "pytest tests/e2e against $LAKEGATE_BIN"
XDIST=()
if [[ "$E2E_JOBS" != 0 ]]; then XDIST=(-n "$E2E_JOBS" --dist worksteal); fi
# shellcheck disable=SC2086
(cd tests/e2e && LAKEGATE_BIN="$(cd ../.. && realpath "$LAKEGATE_BIN")" \
  .venv/bin/python -m pytest "${XDIST[@]}" --durations=15 ${E2E_ARGS:-})

if [[ "${SKIP_CONFORMANCE:-0}" != 1 ]]; then
  step "S3 conformance (ceph/s3-tests, floor in tests/conformance/floor) against $LAKEGATE_BIN"
  bash tests/conformance/run.sh "$LAKEGATE_BIN"
fi

step "all green in ${SECONDS}s"
