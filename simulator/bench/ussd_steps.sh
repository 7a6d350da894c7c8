#!/usr/bin/env bash
# One bounded load run on loopback: the load SMSC with the mock ministries
# (`bawaba-sim load`), and `bawaba serve` with a config generated from
# config/demo.toml, then the summary. Under 2 minutes with the defaults.
#
#   bash simulator/bench/ussd_steps.sh                  # the gateway, 50 dialogues/s for 20 s
#   RATE=200 DURATION=30s bash simulator/bench/ussd_steps.sh
#   bash simulator/bench/ussd_steps.sh --echo           # the generator's ceiling: a trivial ESME
#   bash simulator/bench/ussd_steps.sh -- --think 200ms..1s --abort-share 0.1   # more load flags
#
# Environment: RATE (dialogues/s, open loop), CONCURRENCY (closed loop instead), DURATION,
# BINDS, MIX, BACKEND_LATENCY, GROUP_COMMIT (the store's group commit, e.g.
# '{ max_delay = "0s" }'; default the gateway's own), JSON (a file for the JSON report), PORT_BASE (default 27750:
# SMSC on it, ministries +1, admin +2, notification API +3). Needs cargo; builds the release binaries first.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

ECHO=0
if [[ "${1:-}" == "--echo" ]]; then ECHO=1; shift; fi
[[ "${1:-}" == "--" ]] && shift

RATE=${RATE:-50}
DURATION=${DURATION:-20s}
BINDS=${BINDS:-2}
BACKEND_LATENCY=${BACKEND_LATENCY:-0ms}
PORT_BASE=${PORT_BASE:-27750}
SMSC=127.0.0.1:$PORT_BASE
MINISTRIES=127.0.0.1:$((PORT_BASE + 1))
ADMIN=127.0.0.1:$((PORT_BASE + 2))
if [[ $ECHO == 1 ]]; then
  MIX=${MIX:-echo=1}
else
  MIX=${MIX:-pds=40,electricity=20,passport=20,pension=10,sms=10}
fi
if [[ -n "${CONCURRENCY:-}" ]]; then ARRIVALS=(--concurrency "$CONCURRENCY"); else ARRIVALS=(--rate "$RATE"); fi

export CARGO_INCREMENTAL=0
cargo build --release -q -p bawaba --bin bawaba -p bawaba-sim --bin bawaba-sim
BIN=$ROOT/target/release

WORK=$(mktemp -d)
PEER=""
cleanup() {
  if [[ -n "$PEER" ]] && kill -0 "$PEER" 2>/dev/null; then
    kill -TERM "$PEER" 2>/dev/null || true
    wait "$PEER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The demo config, pointed at our ports, with room for the load: more binds, a wide window,
# the operator's submit rate far above what we offer, and quiet logs.
sed -e "s|^flows_dir = .*|flows_dir = \"$ROOT/flows\"|" \
    -e "s|^watch_flows = .*|watch_flows = false|" \
    -e "s|^path = \"../target/demo-store\"|path = \"$WORK/store\"|" \
    -e "s|^cache_capacity = .*|cache_capacity = \"256MiB\"${GROUP_COMMIT:+\\ngroup_commit = $GROUP_COMMIT}|" \
    -e "s|^level = .*|level = \"warn\"|" \
    -e "s|^listen = \"127.0.0.1:9100\"|listen = \"$ADMIN\"|" \
    -e "s|^listen = \"127.0.0.1:8088\"|listen = \"127.0.0.1:$((PORT_BASE + 3))\"|" \
    -e "s|^port = 2775|port = $PORT_BASE\nbinds = $BINDS|" \
    -e "s|^window = .*|window = 200|" \
    -e "s|^tps = .*|tps = 100000|" \
    -e "s|127.0.0.1:8090|$MINISTRIES|" \
    config/demo.toml > "$WORK/bench.toml"

LOAD=("$BIN/bawaba-sim" load --listen "$SMSC" --account bawaba:demo --binds "$BINDS"
      "${ARRIVALS[@]}" --duration "$DURATION" --mix "$MIX" --step-timeout 10s --drain 12s)
[[ -n "${JSON:-}" ]] && LOAD+=(--json "$JSON")
if [[ $ECHO == 0 ]]; then
  LOAD+=(--ministries "$MINISTRIES" --backend-latency "$BACKEND_LATENCY")
fi

# The load SMSC first (the gateway retries its bind until it is up), then the peer.
"${LOAD[@]}" "$@" &
LOADPID=$!
if [[ $ECHO == 1 ]]; then
  "$BIN/bawaba-sim" echo-esme --smsc "$SMSC" --account bawaba:demo --binds "$BINDS" &
else
  "$BIN/bawaba" serve --config "$WORK/bench.toml" 2> "$WORK/gateway.log" &
fi
PEER=$!
START=$SECONDS
STATUS=0
wait "$LOADPID" || STATUS=$?
# The peer's CPU time so far (utime + stime from /proc), against the wall time of the run.
TICKS=$(awk '{print $14 + $15}' "/proc/$PEER/stat" 2>/dev/null || echo 0)
awk -v t="$TICKS" -v hz="$(getconf CLK_TCK)" -v w=$((SECONDS - START)) -v who="$([[ $ECHO == 1 ]] && echo "echo ESME" || echo gateway)" \
  'BEGIN { printf "%s cpu: %.2fs user+sys over %ds (%.0f%% of one core)\n", who, t / hz, w, 100 * t / hz / (w > 0 ? w : 1) }'
# Its memory now and at peak, and the store's size on disk (the gateway only).
if [[ $ECHO == 0 ]]; then
  awk '/^Vm(RSS|HWM)/ { printf "gateway %s %.0f MB\n", $1, $2 / 1024 }' "/proc/$PEER/status" 2>/dev/null || true
  echo "store on disk: $(du -sm "$WORK/store" 2>/dev/null | cut -f1) MB"
fi
if [[ $ECHO == 0 && -s "$WORK/gateway.log" ]]; then
  echo "gateway warnings (last 5):"; tail -n 5 "$WORK/gateway.log"
fi
exit "$STATUS"
