#!/usr/bin/env bash
# Kannel and Bawaba side by side on the same job, one after the other in one run: a keyword SMS
# ("PDS 12345678") comes in over SMPP, the ESME calls a back-end over HTTP, the answer goes back
# as one SMS. Both are driven by the same load generator acting as the SMSC (`bawaba-sim load
# --mix keyword=1`, every reply's text checked) and answered by the same mock back-end
# (`bawaba-sim ministries`: Kannel's get-url hits GET /pds/v1/sms, Bawaba's flow
# simulator/bench/kannel/flows/keyword.yaml calls GET /pds/v1/cards/{card}/balance; same latency).
#
# Kannel: bearerbox + smsbox from the Debian package (installed with apt-get if missing) with
# /work/shared/reference/kannel-bench.conf (or $KANNEL_CONF): its tuned limits kept, only ports,
# the back-end URL and log paths changed. Bawaba: `bawaba serve` with config/demo.toml pointed at
# the bench flow, one bind like Kannel's, window 500 like Kannel's max-pending-submits, the PDS
# back-end uncached with room for 1024 calls in flight, called over HTTP/2 (BACKEND_HTTP below).
#
# Per side: a closed-loop run at saturation (SAT_CONCURRENCY messages in flight, SAT_DURATION),
# then an open-loop run at RATE messages/s (RATE_DURATION). CPU per message is the ESME's own
# processes' utime+stime (/proc/PID/stat of bearerbox+smsbox, or of bawaba) over that run,
# divided by the replies counted in that same run. About 90 s with the defaults, build excluded.
#
#   bash simulator/bench/kannel_side_by_side.sh
#   SIDES=bawaba bash simulator/bench/kannel_side_by_side.sh      # no Kannel needed
#   BACKEND_LATENCY=20ms RATE=2000 bash simulator/bench/kannel_side_by_side.sh
#
# Environment: SIDES ("kannel bawaba"), SAT_CONCURRENCY (500), SAT_DURATION (15s), RATE (4000),
# RATE_DURATION (10s), BACKEND_LATENCY (0ms), BACKEND_HTTP (Bawaba's `http_version` for the
# back-end: "2", every call multiplexed over one connection, as `auto` picks over https when a
# ministry offers HTTP/2; "1.1" to call it as Kannel does, a connection per call in flight;
# Kannel's smsbox speaks HTTP/1.1 only), SETTLE (seconds of quiet before each side, after a
# sync; 5), GROUP_COMMIT (Bawaba's store group commit, e.g. '{ max_delay = "0s" }'; default
# the gateway's own), PORT_BASE (27770: SMSC, +1 back-end, +2 Bawaba admin, +3..+5 Kannel
# admin, box and sendsms ports), OUT (a directory to keep the JSON reports and logs in; default
# a temporary one, removed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

SIDES=${SIDES:-kannel bawaba}
SAT_CONCURRENCY=${SAT_CONCURRENCY:-500}
SAT_DURATION=${SAT_DURATION:-15s}
RATE=${RATE:-4000}
RATE_DURATION=${RATE_DURATION:-10s}
BACKEND_LATENCY=${BACKEND_LATENCY:-0ms}
BACKEND_HTTP=${BACKEND_HTTP:-2}
PORT_BASE=${PORT_BASE:-27770}
SETTLE=${SETTLE:-5}
KANNEL_CONF=${KANNEL_CONF:-/work/shared/reference/kannel-bench.conf}
SMSC_PORT=$PORT_BASE
BACKEND=127.0.0.1:$((PORT_BASE + 1))
ADMIN=127.0.0.1:$((PORT_BASE + 2))

sbin() { command -v "$1" 2>/dev/null || { [[ -x /usr/sbin/$1 ]] && echo "/usr/sbin/$1"; }; }
if [[ " $SIDES " == *" kannel "* ]] && [[ -z "$(sbin bearerbox)" ]]; then
  echo "kannel is not installed; installing the Debian package" >&2
  SUDO=(); [[ $(id -u) != 0 ]] && SUDO=(sudo)
  "${SUDO[@]}" apt-get install -y kannel >/dev/null ||
    { "${SUDO[@]}" apt-get update >/dev/null && "${SUDO[@]}" apt-get install -y kannel >/dev/null; }
fi
command -v jq >/dev/null || { echo "needs jq" >&2; exit 2; }

export CARGO_INCREMENTAL=0
cargo build --release -q -p bawaba --bin bawaba -p bawaba-sim --bin bawaba-sim
BIN=$ROOT/target/release

if [[ -n "${OUT:-}" ]]; then WORK=$OUT; mkdir -p "$WORK"; KEEP=1; else WORK=$(mktemp -d); KEEP=0; fi
PIDS=()
stop() { # stop the processes started so far, by their ids
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() { stop; [[ $KEEP == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT

# Waits until 127.0.0.1:$1 accepts connections (at most 10 s).
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on port $1" >&2; return 1
}

# run_load SIDE PHASE ACCOUNT PID... -- ARRIVAL FLAGS: one bounded load run, its JSON kept.
run_load() {
  local side=$1 phase=$2 account=$3; shift 3
  local cpu=(); while [[ $1 != -- ]]; do cpu+=(--cpu-pid "$1"); shift; done; shift
  echo "== $side, $phase: $* (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BIN/bawaba-sim" load --listen "127.0.0.1:$SMSC_PORT" --account "$account" --binds 1 \
    --bind-wait 30s --mix keyword=1 --step-timeout 10s --drain 5s --quiet "${cpu[@]}" \
    --json "$WORK/$side-$phase.json" "$@" | grep -v '^  keyword by step'
}

run_phases() { # SIDE ACCOUNT PID...
  local side=$1 account=$2; shift 2
  run_load "$side" saturation "$account" "$@" -- --concurrency "$SAT_CONCURRENCY" \
    --max-in-flight "$SAT_CONCURRENCY" --duration "$SAT_DURATION" --msisdn-prefix 96477
  # Other subscribers than the saturation run's: the same number sending the same text again
  # within two minutes is an SMSC resend to Bawaba ([sms] dedupe_window), dropped unanswered.
  run_load "$side" rate "$account" "$@" -- --rate "$RATE" --duration "$RATE_DURATION" \
    --max-in-flight 4000 --msisdn-prefix 96478
}

RUST_LOG=warn "$BIN/bawaba-sim" ministries --listen "$BACKEND" --latency "$BACKEND_LATENCY" \
  > "$WORK/backend.log" 2>&1 &
BACKEND_PID=$!
wait_port $((PORT_BASE + 1))

kannel_side() {
  local dir=$WORK/kannel; mkdir -p "$dir"
  # Ports and the back-end URL only; every limit of the reference stays as it is.
  sed -e "s|^admin-port = .*|admin-port = $((PORT_BASE + 3))|" \
      -e "s|^smsbox-port = .*|smsbox-port = $((PORT_BASE + 4))|" \
      -e "s|^sendsms-port = .*|sendsms-port = $((PORT_BASE + 5))|" \
      -e "s|^port = 2777|port = $SMSC_PORT|" \
      -e "s|http://127.0.0.1:8088/sms?|http://$BACKEND/pds/v1/sms?|" \
      "$KANNEL_CONF" > "$dir/kannel.conf"
  grep -q "port = $SMSC_PORT" "$dir/kannel.conf" && grep -q "$BACKEND/pds/v1/sms" "$dir/kannel.conf" ||
    { echo "$KANNEL_CONF: no SMSC port 2777 or back-end URL to rewrite" >&2; return 1; }
  # -v 2: warnings and worse on the console too (the default prints every message at debug).
  (cd "$dir" && exec "$(sbin bearerbox)" -v 2 kannel.conf > bearerbox.out 2>&1) &
  local bb=$!; PIDS+=("$bb")
  wait_port $((PORT_BASE + 4))
  (cd "$dir" && exec "$(sbin smsbox)" -v 2 kannel.conf > smsbox.out 2>&1) &
  local sb=$!; PIDS+=("$sb")
  run_phases kannel kannel:secret "$bb" "$sb"
  stop
}

bawaba_side() {
  local dir=$WORK/bawaba; mkdir -p "$dir"
  # A fresh store: the load generator numbers its subscribers the same way every run, so a
  # store kept from an earlier run (OUT=) would find every MO a duplicate and answer none.
  rm -rf "$dir/store"
  sed -e "s|^flows_dir = .*|flows_dir = \"$ROOT/simulator/bench/kannel/flows\"|" \
      -e "s|^watch_flows = .*|watch_flows = false|" \
      -e "s|^path = \"../target/demo-store\"|path = \"$dir/store\"|" \
      -e "s|^cache_capacity = .*|cache_capacity = \"256MiB\"${GROUP_COMMIT:+\\ngroup_commit = $GROUP_COMMIT}|" \
      -e "s|^level = .*|level = \"warn\"|" \
      -e "s|^listen = \"127.0.0.1:9100\"|listen = \"$ADMIN\"|" \
      -e "s|^port = 2775|port = $SMSC_PORT|" \
      -e "s|^window = .*|window = 500|" \
      -e "s|^tps = .*|tps = 100000|" \
      -e "s|^cache_ttl = .*|concurrency = 1024\nhttp_version = \"$BACKEND_HTTP\"|" \
      -e "s|^workers = .*|workers = 2\n\n[gateway.queues]\nbackend_calls = 2048|" \
      -e "s|127.0.0.1:8090|$BACKEND|" \
      -e "/^\[notify\]/,\$d" \
      config/demo.toml > "$dir/bench.toml"
  "$BIN/bawaba" serve --config "$dir/bench.toml" 2> "$dir/gateway.log" &
  local gw=$!; PIDS+=("$gw")
  run_phases bawaba bawaba:demo "$gw"
  stop
  if [[ -s "$dir/gateway.log" ]]; then echo "bawaba warnings (last 3):"; tail -n 3 "$dir/gateway.log"; fi
}

# Each side starts on a settled machine: the other side's dirty pages written out (Kannel's
# store, Bawaba's sled and journal) and SETTLE seconds for its exit and the kernel's writeback
# to finish, so neither side is charged for the other's leftovers.
settle() { sync; sleep "$SETTLE"; }
for side in $SIDES; do settle; "${side}_side"; done
kill -TERM "$BACKEND_PID" 2>/dev/null || true; wait "$BACKEND_PID" 2>/dev/null || true

# The comparison, from the JSON reports.
field() { [[ -f "$WORK/$1-$2.json" ]] && jq -r "$3" "$WORK/$1-$2.json" || echo null; }
echo
echo "side by side (keyword SMS -> HTTP back-end at $BACKEND_LATENCY -> reply; Bawaba's calls over HTTP/$BACKEND_HTTP, Kannel's over HTTP/1.1; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-7s %14s %8s %12s %12s %9s %9s %9s %12s %8s\n' side "saturation/s" errors "cpu µs/msg" \
  "rate ok/s" "p50 ms" "p99 ms" "p99.9 ms" "cpu µs/msg" errors
for side in $SIDES; do
  printf '%-7s %14.0f %8s %12.1f %12.0f %9.2f %9.2f %9.2f %12.1f %8s\n' "$side" \
    "$(field "$side" saturation .ok_steps_per_s)" \
    "$(field "$side" saturation '.all.steps | to_entries | map(select(.key != "ok") | .value) | add // 0')" \
    "$(field "$side" saturation '.peer_cpu_us_per_ok_step // 0')" \
    "$(field "$side" rate .ok_steps_per_s)" \
    "$(field "$side" rate .all.latency.p50_ms)" "$(field "$side" rate .all.latency.p99_ms)" \
    "$(field "$side" rate .all.latency.p999_ms)" \
    "$(field "$side" rate '.peer_cpu_us_per_ok_step // 0')" \
    "$(field "$side" rate '(.all.steps | to_entries | map(select(.key != "ok") | .value) | add // 0) + .shed')"
done
if [[ " $SIDES " == *" kannel "* && " $SIDES " == *" bawaba "* ]]; then
  ratio() { jq -rn --argjson a "$1" --argjson b "$2" 'if $b == 0 or $a == null or $b == null then "n/a" else ($a / $b * 100 | round / 100) end'; }
  echo "bawaba/kannel: saturation throughput $(ratio "$(field bawaba saturation .ok_steps_per_s)" "$(field kannel saturation .ok_steps_per_s)")x (target >= 2)," \
    "cpu per message at saturation $(ratio "$(field bawaba saturation .peer_cpu_us_per_ok_step)" "$(field kannel saturation .peer_cpu_us_per_ok_step)")x (target <= 0.2)," \
    "p99 at $RATE/s $(ratio "$(field bawaba rate .all.latency.p99_ms)" "$(field kannel rate .all.latency.p99_ms)")x" \
    "(bawaba target < 5 ms: $(field bawaba rate .all.latency.p99_ms) ms)"
fi
[[ $KEEP == 1 ]] && echo "reports and logs: $WORK"
exit 0
