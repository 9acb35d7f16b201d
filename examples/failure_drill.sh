#!/usr/bin/env bash
# A failure drill, end to end, with the server, curl and a few lines of python3:
#
#   examples/failure_drill.sh
#
# It builds and starts topups-mock on a free port with a manual clock and
# failure injection, then walks through every way a top-up can end:
# seeded failure rate, a failing amount, Stripe's test bank tokens,
# per-top-up metadata steering, the test-helper endpoints, the clock, and
# an injected 503 that changes nothing.
#
# Needs: cargo (it builds the release binary first; a minute or more the
# first time), curl, and python3 (to pick fields out of the JSON answers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in cargo curl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "failure_drill.sh needs $tool on PATH" >&2
    exit 1
  fi
done

echo "== Building topups-mock (cargo build --release; the first build takes a while)"
cargo build --quiet --release
bin=${CARGO_TARGET_DIR:-target}/release/topups-mock
echo "== Starting a server with a manual clock, seed 7, a 25 % failure rate and a failing amount"
servers=()
logs=()
trap 'kill "${servers[@]}" 2>/dev/null; rm -f "${logs[@]}"' EXIT
# start FLAGS...: starts a server and sets $base to its URL.
start() {
  local log
  log=$(mktemp)
  logs+=("$log")
  "$bin" --port 0 --clock manual --log-level warn "$@" >"$log" &
  servers+=($!)
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  base=$(sed -n 's/^topups-mock listening on //p' "$log")
  echo "server: $base ($*)"
}

start --seed 7 --settle-after 10s --failure-rate 0.25 --fail-amount 1313 --failure-code account_closed

key=sk_test_drill
api() { curl -sS -u "$key:" "$@"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
# Injected 503s are retried the way the SDKs do, with the same key.
create() {
  local idem=$RANDOM$RANDOM body
  for _ in 1 2 3 4 5; do
    body=$(api "$base/v1/topups" -H "Idempotency-Key: $idem" "$@")
    if ! grep -q '"api_error"' <<<"$body"; then echo "$body"; return; fi
  done
  echo "$body"
}

echo
echo "== Five ordinary top-ups (seeded: the same ones fail on every run)"
ids=()
for amount in 1000 2000 3000 4000 5000; do
  ids+=("$(create -d amount=$amount -d currency=usd | field "['id']")")
done
echo "== A failing amount, a failing test token, and a steered top-up"
nsf=$(create -d amount=1313 -d currency=usd | field "['id']")
closed=$(create -d amount=500 -d currency=usd -d source=btok_us_verified_noAccount | field "['id']")
late=$(create -d amount=700 -d currency=usd -d "metadata[mock_outcome]=canceled" \
  -d "metadata[mock_settle_after]=1h" | field "['id']")

echo "== Nothing has settled yet:"
api "$base/v1/topups?status=pending&limit=100" | field "['data'].__len__()"

echo "== Move the clock 10 seconds (--settle-after)"
api "$base/v1/test_helpers/clock/advance" -d seconds=10 | field "['fired']"
for id in "${ids[@]}" "$nsf" "$closed" "$late"; do
  api "$base/v1/topups/$id" | python3 -c '
import json, sys
t = json.load(sys.stdin)
print("  %s %6d %-9s %s" % (t["id"], t["amount"], t["status"], t["failure_code"] or ""))'
done

echo "== The steered one is canceled an hour later"
api "$base/v1/test_helpers/clock/advance" -d seconds=3600 >/dev/null
api "$base/v1/topups/$late" | field "['status']"

echo "== Force outcomes now with the test helpers"
fresh=$(create -d amount=900 -d currency=usd | field "['id']")
api -X POST "$base/v1/test_helpers/topups/$fresh/succeed" | field "['status']"
api -X POST "$base/v1/test_helpers/topups/$fresh/reverse" | field "['status']"
api "$base/v1/balance_transactions?source=$fresh" | field "['data'][0]['type']"

echo "== An illegal move is Stripe's 400"
api -X POST "$base/v1/topups/$fresh/cancel" | field "['error']['message']"

echo "== The balance"
api "$base/v1/balance" | field "['available']"

echo "== Back to the start for the next drill"
api -X POST "$base/v1/test_helpers/reset" | field "['reset']"

echo
echo "== A scenario file: per-customer outcomes and a flaky create endpoint"
start --seed 1 --scenario fixtures/scenario.toml
statuses=()
for _ in $(seq 20); do
  statuses+=("$(curl -sS -o /dev/null -w '%{http_code}' -u "$key:" "$base/v1/topups" -d amount=100 -d currency=usd)")
done
echo "20 creates answered: ${statuses[*]}"
echo "of which stored (a 503 changes nothing):"
api "$base/v1/topups?limit=100" -H 'Stripe-Version: 2026-10-28.endive' | field "['data'].__len__()" || true
cus=$(create -d amount=5000 -d currency=usd -d "metadata[customer]=cus_closed" | field "['id']")
api "$base/v1/test_helpers/clock/advance" -d seconds=60 >/dev/null
api "$base/v1/topups/$cus" | field "['failure_code']"
