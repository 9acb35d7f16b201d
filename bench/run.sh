#!/usr/bin/env bash
# The topups-mock benchmark: throughput and latency per endpoint beside a
# bare actix-web server, start-up time, memory per stored top-up and list
# time against store size. Run from the repository root:
#
#   bench/run.sh
#
# Every load goes to 127.0.0.1, is bounded in time (the fill in count),
# and stops by itself. The whole run takes a few minutes once built. Knobs,
# all optional:
#   BENCH_DURATION=5s     length of each throughput run
#   BENCH_THREADS=2       wrk threads
#   BENCH_CONNECTIONS=64  wrk connections
#   BENCH_FILL=1000000    top-ups created for the memory and list-time rows
#   BENCH_STARTS=10       spawns timed for the start-up row
#   BENCH_WRK_CPUS=       taskset CPU list for wrk (default: no pinning)
#   BENCH_SERVER_CPUS=    taskset CPU list for both servers (default: none)
#   CHROMIUM=chromium     the browser for the dashboard-open row (skipped
#                         when it is not installed)
# The table goes to stdout and to target/bench-report.md.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${BENCH_DURATION:-5s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
FILL=${BENCH_FILL:-1000000}
STARTS=${BENCH_STARTS:-10}
WRK_CPUS=${BENCH_WRK_CPUS:-}
SERVER_CPUS=${BENCH_SERVER_CPUS:-}
SEEDED=100
LATENCY_RUN=1s
LATENCY_CPU=0

WORK=target/bench
REPORT=target/bench-report.md
SERVER=target/release/topups-mock
BASELINE=target/release/examples/bench_baseline
SERVER_CMD=("$SERVER" --port 0 --log-level warn --settle-after 1h)
BASELINE_CMD=("$BASELINE")

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_tools() {
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    as_root apt-get install -y wrk >/dev/null 2>&1 ||
      { as_root apt-get update >/dev/null && as_root apt-get install -y wrk >/dev/null; }
  fi
  if ! command -v python3 >/dev/null; then
    log "installing python3"
    as_root apt-get install -y python3 >/dev/null 2>&1 ||
      { as_root apt-get update >/dev/null && as_root apt-get install -y python3 >/dev/null; }
  fi
  command -v taskset >/dev/null || die "taskset (util-linux) is missing"
}

# --- processes ------------------------------------------------------------

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: starts a server, sets STARTED_PID and STARTED_URL.
start() {
  local name=$1; shift
  local out=$WORK/$name.out
  : >"$out"
  # taskset execs the server, so $! is the server's own pid either way.
  if [ -n "$SERVER_CPUS" ]; then
    taskset -c "$SERVER_CPUS" "$@" >"$out" 2>"$WORK/$name.err" &
  else
    "$@" >"$out" 2>"$WORK/$name.err" &
  fi
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  for _ in $(seq 200); do
    STARTED_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out")
    [ -n "$STARTED_URL" ] && break
    kill -0 "$STARTED_PID" 2>/dev/null || die "$name exited: $(cat "$WORK/$name.err")"
    sleep 0.05
  done
  [ -n "$STARTED_URL" ] || die "$name printed no address within 10 s"
  case $STARTED_URL in http://127.0.0.1:*) ;; *) die "$name is not on 127.0.0.1: $STARTED_URL" ;; esac
}

stop() { # PID
  kill -INT "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- load -----------------------------------------------------------------

# cpu_ticks PID: the user + system CPU time the process has used, in clock
# ticks (fields 14 and 15 of /proc/PID/stat; the name field has no spaces).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# load URL SHAPE THREADS CONNECTIONS DURATION [VAR=VALUE...]: one wrk run;
# prints its BENCH line, with cpu_us (the server's CPU time per request)
# when LOAD_PID names the server. Any error status or socket error fails
# the bench.
load() {
  local url=$1 shape=$2 threads=$3 conns=$4 dur=$5; shift 5
  local cmd=(wrk -t"$threads" -c"$conns" -d"$dur" -s bench/load.lua "$url") out before=""
  [ -z "$WRK_CPUS" ] || cmd=(taskset -c "$WRK_CPUS" "${cmd[@]}")
  [ -z "${LOAD_PID:-}" ] || before=$(cpu_ticks "$LOAD_PID")
  out=$(env BENCH_SHAPE="$shape" "$@" "${cmd[@]}" 2>&1) ||
    die "wrk failed ($shape on $url): $out"
  local line
  line=$(grep '^BENCH ' <<<"$out") || die "no result from wrk ($shape on $url): $out"
  if [ -n "$before" ]; then
    line="$line cpu_us=$(awk -v t="$(($(cpu_ticks "$LOAD_PID") - before))" -v hz="$CLK_TCK" \
      -v n="$(field requests "$line")" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
  fi
  if [ "$(field status_errors "$line")" != 0 ] || [ "$(field socket_errors "$line")" != 0 ]; then
    die "errors during $shape on $url: $line"
  fi
  printf '%s\n' "$line" >>"$WORK/wrk.log"
  printf '%s\n' "$line"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# best KEY MIN|MAX LINE...: the BENCH line with the lowest or highest KEY.
best() {
  local key=$1 dir=$2 line pick="" v pv; shift 2
  for line in "$@"; do
    v=$(field "$key" "$line")
    if [ -z "$pick" ] || awk -v a="$v" -v b="$pv" -v d="$dir" \
      'BEGIN { exit !((d == "MIN" && a < b) || (d == "MAX" && a > b)) }'; then
      pick=$line pv=$v
    fi
  done
  printf '%s\n' "$pick"
}

# page_latency URL PID PATH: the best p50 of 3 one-connection runs of GET
# PATH (a run slowed down by something else on the machine does not
# count), with wrk and every thread of the server on one CPU. Across two
# CPUs, each round trip would wait for an idle CPU to wake up, which on a
# virtual machine costs more than the request itself.
page_latency() {
  local url=$1 pid=$2 path=$3 runs=() line affinity
  affinity=$(taskset -pc "$pid" | sed 's/.*: //')
  taskset -apc "$LATENCY_CPU" "$pid" >/dev/null
  for _ in 1 2 3; do
    line=$(WRK_CPUS=$LATENCY_CPU load "$url" page 1 1 "$LATENCY_RUN" BENCH_PATH="$path")
    runs+=("$line")
  done
  taskset -apc "$affinity" "$pid" >/dev/null
  best p50_us MIN "${runs[@]}"
}

# list_latency URL PID CURSOR: page_latency of the list row's page.
list_latency() {
  page_latency "$1" "$2" "/v1/topups?limit=10&starting_after=$3"
}

# The filtered pages timed at both store sizes: rare, common and no filter.
FILTER_PAGES=(
  "/v1/topups?limit=10&status=failed"
  "/v1/topups?limit=10&status=pending"
  "/v1/topups?limit=10"
  "/v1/balance_transactions?limit=10&type=topup"
  "/v1/events?limit=10&type=topup.failed"
)

# filter_store URL N: N top-ups in the bench key's account, 90 % of them
# settled by one advance of the manual clock (0.1 % of those failed, by
# --failure-rate), the newest 10 % still pending.
filter_store() {
  local url=$1 n=$2 settled
  settled=$((n * 9 / 10))
  python3 bench/tool.py fill "$url" "$settled" "$CONNECTIONS" >/dev/null
  python3 bench/tool.py advance "$url" 2
  python3 bench/tool.py fill "$url" $((n - settled)) "$CONNECTIONS" >/dev/null
}

# --- formatting -----------------------------------------------------------

int() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
dur_us() { awk -v u="$1" 'BEGIN { if (u < 1000) printf "%d µs", u; else printf "%.2f ms", u / 1000 }'; }
perf() { # BENCH line -> "N req/s · p50 X · p99 Y · CPU Z µs/req"
  printf '%s req/s · p50 %s · p99 %s' "$(int "$(field rps "$1")")" \
    "$(dur_us "$(field p50_us "$1")")" "$(dur_us "$(field p99_us "$1")")"
  local cpu
  cpu=$(field cpu_us "$1")
  [ -z "$cpu" ] || printf ' · CPU %s µs/req' "$cpu"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 100 * a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# --- run ------------------------------------------------------------------

load_avg=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$WORK"
: >"$WORK/wrk.log"
ensure_tools
log "building (release)"
cargo build --release --bin topups-mock --example bench_baseline >&2

log "start-up: $STARTS spawns of each server"
read -r start_ours start_ours_min < <(python3 bench/tool.py startup "$STARTS" "${SERVER_CMD[@]}")
read -r start_base start_base_min < <(python3 bench/tool.py startup "$STARTS" "${BASELINE_CMD[@]}")
if [ -z "$start_ours" ] || [ -z "$start_base" ]; then die "start-up timing failed"; fi

log "throughput: $THREADS threads, $CONNECTIONS connections, $DURATION per run"
start ours "${SERVER_CMD[@]}"; ours_pid=$STARTED_PID; ours=$STARTED_URL
start baseline "${BASELINE_CMD[@]}"; base_pid=$STARTED_PID; base=$STARTED_URL
python3 bench/tool.py seed "$ours" "$SEEDED" "$WORK/ids.txt"
python3 bench/tool.py fund "$ours"
base_bytes=$(python3 bench/tool.py size "$base" /v1/topups/any)
base_list_bytes=$(python3 bench/tool.py size "$base" "/v1/topups?limit=10")
list_bytes=$(python3 bench/tool.py size "$ours" "/v1/topups?limit=10&starting_after=$(sed -n 21p "$WORK/ids.txt")")
ids=(BENCH_IDS="$WORK/ids.txt")
# Oldest first: the 21st has 20 older top-ups, so its page is a full 10.
cursor=(BENCH_CURSOR="$(sed -n 21p "$WORK/ids.txt")")

load "$ours" retrieve "$THREADS" "$CONNECTIONS" 1s "${ids[@]}" >/dev/null # warm-up
load "$base" retrieve "$THREADS" "$CONNECTIONS" 1s "${ids[@]}" >/dev/null
list_small=$(list_latency "$ours" "$ours_pid" "${cursor[0]#*=}")
list_floor=$(list_latency "$base" "$base_pid" "${cursor[0]#*=}")
declare -A r
# Each shape runs twice on each server, alternating, and the faster run of
# each counts, so a burst of other work on the machine skews less. Create
# runs last, so the other three see the seeded store only.
for shape in retrieve list update create transfer; do
  log "  $shape"
  runs_ours=() runs_base=()
  for _ in 1 2; do
    line=$(LOAD_PID=$ours_pid load "$ours" "$shape" "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")
    runs_ours+=("$line")
    line=$(LOAD_PID=$base_pid load "$base" "$shape" "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")
    runs_base+=("$line")
  done
  r[$shape.ours]=$(best rps MAX "${runs_ours[@]}")
  r[$shape.base]=$(best rps MAX "${runs_base[@]}")
done
stop "$ours_pid"
stop "$base_pid"

log "create with one webhook endpoint that answers after 5 s"
start slow python3 bench/tool.py slow-receiver 5; slow_pid=$STARTED_PID; slow=$STARTED_URL
start hooked "${SERVER_CMD[@]}" --webhook "$slow" --webhook-timeout 30s
hooked_pid=$STARTED_PID; hooked=$STARTED_URL
runs_hooked=()
for _ in 1 2; do
  runs_hooked+=("$(LOAD_PID=$hooked_pid load "$hooked" create "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")")
done
r[hooked.ours]=$(best rps MAX "${runs_hooked[@]}")
stop "$hooked_pid"
stop "$slow_pid"

# Create with --state-file (every answer waits for its journal batch to be
# fsynced, on the disk under target/) against a server without one, in
# rotation, so the row shows what durability costs.
log "create with --state-file, against the same without"
rm -rf "$WORK/state" && mkdir -p "$WORK/state"
start durable "${SERVER_CMD[@]}" --state-file "$WORK/state/bench.state"
durable_pid=$STARTED_PID; durable=$STARTED_URL
start plain "${SERVER_CMD[@]}"; plain_pid=$STARTED_PID; plain=$STARTED_URL
runs_durable=() runs_plain=() runs_durable_update=() runs_plain_update=()
for _ in 1 2; do
  runs_plain+=("$(LOAD_PID=$plain_pid load "$plain" create "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")")
  runs_durable+=("$(LOAD_PID=$durable_pid load "$durable" create "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")")
done
r[durable.ours]=$(best rps MAX "${runs_durable[@]}")
r[plain.ours]=$(best rps MAX "${runs_plain[@]}")
state_bytes=$(du -cb "$WORK/state" | tail -1 | cut -f1)
stop "$durable_pid"
stop "$plain_pid"
# A graceful stop leaves one snapshot; a restart reads it back.
restart_start=$(date +%s.%N)
start restored "${SERVER_CMD[@]}" --state-file "$WORK/state/bench.state"
restart_secs=$(awk -v a="$restart_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
stop "$STARTED_PID"
rm -rf "$WORK/state"

# With Chromium installed: create with the dashboard open on the bench key
# (its live stream and the re-reads it makes), and open on another key (a
# browser and a page that no notice of the load reaches: what the browser
# costs by being there), against the same server with no page, in rotation,
# so the rows show what an open page costs.
CHROMIUM=${CHROMIUM:-chromium}
if command -v "$CHROMIUM" >/dev/null; then
  log "create with the dashboard open in headless Chromium"
  start paged "${SERVER_CMD[@]}"; paged_pid=$STARTED_PID; paged=$STARTED_URL
  # create_with_page KEY: one create run with the page open on KEY.
  create_with_page() {
    local profile browser_pid line
    profile=$(mktemp -d)
    setsid "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$profile" "$paged/dashboard#key=$1" >/dev/null 2>&1 &
    browser_pid=$!
    sleep 3 # the page loads and opens its stream
    kill -0 "$browser_pid" 2>/dev/null || die "chromium exited"
    line=$(LOAD_PID=$paged_pid load "$paged" create "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")
    kill -TERM -- "-$browser_pid" 2>/dev/null || true
    wait "$browser_pid" 2>/dev/null || true
    rm -rf "$profile"
    sleep 1
    printf '%s\n' "$line"
  }
  runs_bare=() runs_page=() runs_other=()
  for _ in 1 2 3; do
    runs_bare+=("$(LOAD_PID=$paged_pid load "$paged" create "$THREADS" "$CONNECTIONS" "$DURATION" "${ids[@]}" "${cursor[@]}")")
    runs_page+=("$(create_with_page sk_test_bench)")
    runs_other+=("$(create_with_page sk_test_bench_other)")
  done
  r[bare.ours]=$(best rps MAX "${runs_bare[@]}")
  r[page.ours]=$(best rps MAX "${runs_page[@]}")
  r[other.ours]=$(best rps MAX "${runs_other[@]}")
  stop "$paged_pid"
fi

log "memory: filling a fresh server with $(int "$FILL") top-ups"
start fill "${SERVER_CMD[@]}"; fill_pid=$STARTED_PID; fill=$STARTED_URL
python3 bench/tool.py seed "$fill" "$SEEDED" "$WORK/fill-ids.txt"
rss_before=$(rss_kib "$fill_pid")
read -r created fill_secs < <(python3 bench/tool.py fill "$fill" "$FILL" "$CONNECTIONS")
rss_after=$(rss_kib "$fill_pid")
[ "$created" = "$FILL" ] || die "fill created $created top-ups, wanted $FILL"
list_large=$(list_latency "$fill" "$fill_pid" "$(sed -n 21p "$WORK/fill-ids.txt")")
log "  counting the store through the list endpoint"
stored=$(python3 bench/tool.py count "$fill")
[ "$stored" = $((created + SEEDED)) ] || die "the list holds $stored top-ups, wanted $((created + SEEDED))"
stop "$fill_pid"

log "filtered pages: 1,000 and then $(int "$FILL") top-ups, 90 % settled (0.1 % of those failed)"
start filters "$SERVER" --port 0 --log-level warn --clock manual --settle-after 1s \
  --failure-rate 0.001 --seed 14
filters_pid=$STARTED_PID; filters=$STARTED_URL
filter_store "$filters" 1000
declare -A fp
for path in "${FILTER_PAGES[@]}"; do fp[small.$path]=$(page_latency "$filters" "$filters_pid" "$path"); done
filter_store "$filters" $((FILL - 1000))
for path in "${FILTER_PAGES[@]}"; do fp[large.$path]=$(page_latency "$filters" "$filters_pid" "$path"); done
filters_rss=$(rss_kib "$filters_pid")
stop "$filters_pid"

# --- report ---------------------------------------------------------------

row() { printf '| %s | %s | %s | %s |\n' "$@"; }
shape_row() { # SHAPE LABEL
  local o=${r[$1.ours]} b=${r[$1.base]}
  row "$2" "$(perf "$o")" "$(perf "$b")" \
    "$(pct "$(field rps "$o")" "$(field rps "$b")") % of the framework's limit; $(awk -v a="$(field cpu_us "$o")" -v b="$(field cpu_us "$b")" 'BEGIN { printf "%.2f", a / b }')× its CPU per request"
}
{
  printf '## topups-mock benchmark\n\n'
  printf '%s, commit %s%s, %s cores (load average %s at the start), wrk -t%s -c%s -d%s%s.\n\n' \
    "$(date -u +'%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + local changes')" \
    "$(nproc)" "$load_avg" "$THREADS" "$CONNECTIONS" "$DURATION" \
    "${WRK_CPUS:+, wrk on CPUs $WRK_CPUS}${SERVER_CPUS:+, servers on CPUs $SERVER_CPUS}"
  row measure topups-mock "baseline (bare actix-web, constant $base_bytes-byte body; $base_list_bytes bytes for lists)" "topups-mock vs baseline"
  row --- --- --- ---
  shape_row create "create \`POST /v1/topups\`"
  row "create, one webhook endpoint answering after 5 s" "$(perf "${r[hooked.ours]}")" "" \
    "$(pct "$(field rps "${r[hooked.ours]}")" "$(field rps "${r[create.ours]}")") % of create without it"
  if [ -n "${r[page.ours]:-}" ]; then
    row "create, no page open (same server as the next two rows, in rotation)" "$(perf "${r[bare.ours]}")" "" ""
    row "create, the dashboard open in headless Chromium" "$(perf "${r[page.ours]}")" "" \
      "$(pct "$(field rps "${r[page.ours]}")" "$(field rps "${r[bare.ours]}")") % of create with no page open"
    row "create, the dashboard open on another key (no notice reaches it)" "$(perf "${r[other.ours]}")" "" \
      "$(pct "$(field rps "${r[other.ours]}")" "$(field rps "${r[bare.ours]}")") % of create with no page open"
  fi
  row "create, no state file (same rotation as the next row)" "$(perf "${r[plain.ours]}")" "" ""
  row "create, \`--state-file\` (each answer waits for its journal batch's fsync)" "$(perf "${r[durable.ours]}")" "" \
    "$(pct "$(field rps "${r[durable.ours]}")" "$(field rps "${r[plain.ours]}")") % of create without it; $(mib $((state_bytes / 1024))) on disk, read back in $restart_secs s"
  shape_row transfer "transfer \`POST /v1/transfers\` (1 cent, one destination)"
  shape_row retrieve "retrieve \`GET /v1/topups/{id}\`"
  shape_row list "list \`GET /v1/topups?limit=10&starting_after=…\` ($(int "$list_bytes")-byte page)"
  shape_row update "update \`POST /v1/topups/{id}\` \`metadata[k]=v\`"
  row "start-up: spawn to first answered request, median of $STARTS (fastest)" \
    "$start_ours ms ($start_ours_min)" "$start_base ms ($start_base_min)" ""
  row "RSS: $SEEDED → $(int "$stored") top-ups stored" \
    "$(mib "$rss_before") → $(mib "$rss_after")" "" \
    "$(awk -v a="$rss_after" -v b="$rss_before" -v n="$created" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }') bytes per top-up"
  row "fill: $(int "$created") creates, $CONNECTIONS connections × 16 pipelined" \
    "$(int "$(awk -v s="$fill_secs" -v n="$created" 'BEGIN { print n / s }')") req/s, $fill_secs s" "" ""
  row "list p50, limit=10 after a cursor, 1 connection, 1 CPU: $SEEDED stored" \
    "$(dur_us "$(field p50_us "$list_small")")" "$(dur_us "$(field p50_us "$list_floor")")" ""
  row "list p50, the same page: $(int "$stored") stored" \
    "$(dur_us "$(field p50_us "$list_large")")" "" \
    "$(awk -v a="$(field p50_us "$list_large")" -v b="$(field p50_us "$list_small")" 'BEGIN { printf "%.2f×", a / b }') the time with $SEEDED stored"
  printf '\n### List pages by filter, 1,000 and %s top-ups stored\n\n' "$(int "$FILL")"
  printf 'One connection on one CPU, best p50 of three 1 s runs; 90 %% of the top-ups settled by one clock advance (0.1 %% of those failed), the newest 10 %% pending; RSS with %s stored: %s.\n\n' \
    "$(int "$FILL")" "$(mib "$filters_rss")"
  row "page (limit=10)" "p50, 1,000 stored" "p50, $(int "$FILL") stored" "ratio"
  row --- --- --- ---
  for path in "${FILTER_PAGES[@]}"; do
    a=$(field p50_us "${fp[small.$path]}") b=$(field p50_us "${fp[large.$path]}")
    row "\`$path\`" "$(dur_us "$a")" "$(dur_us "$b")" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f×", b / a }')"
  done
} >"$REPORT"
cat "$REPORT"
