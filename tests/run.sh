#!/usr/bin/env bash
# The project's single test command. From the repository root:
#
#   tests/run.sh
#
# 1. Python environment: a venv at target/sdk-venv with
#    tests/sdk/python/requirements.txt, tests/schemathesis/requirements.txt
#    and tests/browser/requirements.txt (rebuilt when any of them changes).
# 2. Node environments: `npm ci` in tests/sdk/node (the Node suite), in
#    tests/sdk/whop-node (the Whop Node SDK suite), in examples (the SDK
#    examples/node_client.mjs uses) and in tests/listen (the official
#    Stripe CLI, npm @stripe/cli, and stripe-node), each rerun when its
#    package-lock.json changes.
# 3. `cargo build` (the debug binary target/debug/topups-mock).
# 4. `cargo test --all-targets`, then the Python (pytest) and Node
#    (node --test) conformance suites, which drive the binary through the
#    official Stripe and Whop SDKs, the stripe listen suite (tests/listen:
#    the real CLI's `stripe listen` against the binary, in a loopback-only
#    network namespace; reported SKIPPED where `unshare -rn` is refused),
#    then a bounded Schemathesis run (tests/schemathesis/run.py) that
#    drives it from the OpenAPI subset, then the browser suite
#    (tests/browser: selenium drives the dashboard in headless Chromium;
#    screenshots in target/browser-screenshots/; reported SKIPPED where
#    chromium or chromedriver is missing), then the Firefox suite
#    (tests/browser-firefox: puppeteer-core drives the dashboard in
#    headless Firefox over WebDriver BiDi, in a loopback-only network
#    namespace where `unshare -rn` is allowed; reported SKIPPED where
#    Firefox is missing).
#
# Every suite runs even if an earlier one failed; the exit status is
# non-zero if any failed. Environment:
#   PYTHON           interpreter for the venv (default: python3)
#   TOPUPS_MOCK_BIN  server binary for the SDK suites and the Schemathesis
#                    run (default: the debug binary `cargo build` writes,
#                    $CARGO_TARGET_DIR/debug/topups-mock, or
#                    target/debug/topups-mock without CARGO_TARGET_DIR)
#   CHROMIUM, CHROMEDRIVER  the browser and its driver for the browser suite
#                    (default: chromium and chromedriver on PATH)
#   FIREFOX          the browser of the Firefox suite (default: firefox-esr
#                    or firefox on PATH)
#   TOPUPS_MOCK_OPENAPI  Stripe's OpenAPI subset that every suite validates
#                    responses against (default: the copy in the repository,
#                    tests/schema/stripe-openapi-subset.json)
# The tests read nothing outside the repository (a Rust test checks the
# test and CI files for references to the outside; tests/fresh_clone.sh
# runs this command in a bare clone to prove it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() {
  printf '\n==== %s ====\n' "$*"
}

hash_of() {
  sha256sum "$1" | cut -d' ' -f1
}

PYTHON=${PYTHON:-python3}
VENV=target/sdk-venv
PY_REQS=tests/sdk/python/requirements.txt
ST_REQS=tests/schemathesis/requirements.txt
BR_REQS=tests/browser/requirements.txt
NODE_DIR=tests/sdk/node
WHOP_NODE_DIR=tests/sdk/whop-node
EXAMPLES_DIR=examples
LISTEN_DIR=tests/listen
FIREFOX_DIR=tests/browser-firefox

section "Python environment ($VENV)"
py_stamp=$VENV/.requirements.sha256
py_want=$(hash_of "$PY_REQS")$(hash_of "$ST_REQS")$(hash_of "$BR_REQS")
if [[ -x $VENV/bin/python && -f $py_stamp && "$(cat "$py_stamp")" == "$py_want" ]]; then
  echo "up to date"
else
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$PY_REQS" -r "$ST_REQS" -r "$BR_REQS"
  echo "$py_want" >"$py_stamp"
  echo "installed $PY_REQS, $ST_REQS and $BR_REQS"
fi

# npm ci in DIR, unless DIR/node_modules was installed from the same lock.
npm_env() {
  local dir=$1 stamp=$1/node_modules/.package-lock.sha256 want
  want=$(hash_of "$dir/package-lock.json")
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    echo "$dir: up to date"
  else
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
}

section "Node environments ($NODE_DIR, $WHOP_NODE_DIR, $EXAMPLES_DIR, $LISTEN_DIR, $FIREFOX_DIR: node_modules)"
npm_env "$NODE_DIR"
npm_env "$WHOP_NODE_DIR"
npm_env "$EXAMPLES_DIR"
npm_env "$LISTEN_DIR"
npm_env "$FIREFOX_DIR"

section "cargo build"
cargo build
export TOPUPS_MOCK_BIN=${TOPUPS_MOCK_BIN:-${CARGO_TARGET_DIR:-target}/debug/topups-mock}

failed=()

section "cargo test --all-targets"
cargo test --all-targets --no-fail-fast || failed+=("cargo test")

section "Python SDK suite (stripe-python and whop-sdk, tests/sdk/python)"
"$VENV/bin/python" -m pytest tests/sdk/python || failed+=("python sdk suite")

section "Node SDK suite (stripe-node, tests/sdk/node)"
node --test --test-reporter=spec "$NODE_DIR"/*.test.mjs || failed+=("node sdk suite")

section "Whop Node SDK suite (@whop/sdk, tests/sdk/whop-node)"
node --test --test-reporter=spec "$WHOP_NODE_DIR"/*.test.mjs || failed+=("whop node sdk suite")

section "stripe listen suite (the official Stripe CLI, tests/listen)"
listen_log=$(mktemp)
node --test --test-reporter=spec "$LISTEN_DIR"/*.test.mjs | tee "$listen_log" || failed+=("stripe listen suite")
listen_skipped=$(grep -c '^SKIPPED:' "$listen_log" || true)
rm -f "$listen_log"

section "Schemathesis (tests/schemathesis)"
"$VENV/bin/python" tests/schemathesis/run.py || failed+=("schemathesis")

section "Browser suite (the dashboard in headless Chromium, tests/browser)"
browser_skipped=0
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver || true)}
if [[ -z $CHROMIUM || -z $CHROMEDRIVER ]]; then
  echo "SKIPPED: browser suite: no chromium and chromium-driver installed (apt-get install chromium chromium-driver; .ci/run does)"
  browser_skipped=1
else
  export CHROMIUM CHROMEDRIVER
  "$VENV/bin/python" -m pytest tests/browser || failed+=("browser suite")
fi
section "Firefox suite (the dashboard in headless Firefox, tests/browser-firefox)"
firefox_skipped=0
FIREFOX=${FIREFOX:-$(command -v firefox-esr || command -v firefox || true)}
if [[ -z $FIREFOX ]]; then
  echo "SKIPPED: Firefox suite: no Firefox installed (apt-get install firefox-esr; .ci/run does)"
  firefox_skipped=1
else
  export FIREFOX
  # Loopback only where the namespace can be made; the suite's proxy
  # settings keep Firefox's own traffic on the machine either way.
  firefox_suite=(node --test --test-reporter=spec "$FIREFOX_DIR"/*.test.mjs)
  if unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
    unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "${firefox_suite[@]}" || failed+=("firefox suite")
  else
    "${firefox_suite[@]}" || failed+=("firefox suite")
  fi
fi

section "Summary"
skipped=$((listen_skipped + browser_skipped + firefox_skipped))
if ((listen_skipped)); then
  echo "SKIPPED: stripe listen suite (no loopback-only network namespace here; see its output)"
fi
if ((browser_skipped)); then
  echo "SKIPPED: browser suite (no chromium and chromium-driver here)"
fi
if ((firefox_skipped)); then
  echo "SKIPPED: Firefox suite (no Firefox here)"
fi
if ((${#failed[@]})); then
  printf 'FAILED: %s\n' "${failed[@]}"
  echo "suites: $((8 - skipped - ${#failed[@]})) passed, ${#failed[@]} failed, $skipped skipped"
  exit 1
fi
echo "suites: $((8 - skipped)) passed, 0 failed, $skipped skipped"
