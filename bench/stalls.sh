#!/usr/bin/env bash
# Stalls as the store grows. While STALLS_FILL top-ups are created in one
# account (bench/tool.py fill: 64 connections, 16 requests pipelined on
# each), one connection retrieves a top-up over and over (bench/tool.py
# stalls); then the same against the constant-response baseline under the
# same load. Prints the probe's percentiles and its 12 slowest answers,
# each with about how many top-ups were stored then: a table that stops to
# grow shows as a cluster of slow answers at each doubling. Run from the
# repository root:
#
#   bench/stalls.sh                     # 5,000,000 top-ups
#   STALLS_FILL=1000000 bench/stalls.sh
#   STALLS_BIN=path/to/another/topups-mock bench/stalls.sh   # compare a build
#
# Every request goes to 127.0.0.1; the run stops by itself. The report goes
# to stdout and target/bench-stalls.md. The probe shares its server's worker
# with 32 filling connections, so its median is their queue, not a stall.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILL=${STALLS_FILL:-5000000}
BIN=${STALLS_BIN:-target/release/topups-mock}
WORK=target/bench
REPORT=target/bench-stalls.md
mkdir -p "$WORK"
cargo build --release --bin topups-mock --example bench_baseline >&2

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done' EXIT

# probe NAME CMD...: starts the server, fills it beside the probe, stops it.
probe() {
  local name=$1 url="" pid; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/$name.out")
    [ -n "$url" ] && break
    sleep 0.05
  done
  [ -n "$url" ] || { echo "stalls: $name did not start" >&2; exit 1; }
  python3 bench/tool.py stalls "$url" "$FILL"
  echo "$name: RSS $(($(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") / 1024)) MiB after the fill" >&2
  kill -INT "$pid"
  wait "$pid" || true
}

ours=$(probe ours "$BIN" --port 0 --log-level warn --settle-after 1h)
base=$(probe baseline target/release/examples/bench_baseline)

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
line() {
  row "$1" "$(field probes "$2")" "$(field p50_ms "$2") ms" "$(field p99_ms "$2") ms" \
    "$(field p999_ms "$2") ms" "$(field max_ms "$2") ms" "$(field worst "$2" | sed 's/,/, /g')"
}
{
  printf '## Retrieve probe while %s top-ups are created\n\n' "$(printf "%'d" "$FILL")"
  printf '%s, commit %s, %s cores.\n\n' "$(date -u +'%Y-%m-%d %H:%M UTC')" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$(nproc)"
  row server probes p50 p99 p99.9 max "slowest answers, at about this many stored"
  row --- --- --- --- --- --- ---
  line "topups-mock ($BIN)" "$ours"
  line "baseline (constant answers)" "$base"
} | tee "$REPORT"
