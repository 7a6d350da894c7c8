#!/usr/bin/env bash
# The gateway's memory with 100,000 USSD dialogues open at once: 2,000 new dialogues/s for 50 s,
# each answering nothing after its first screen (think time 100 s, past the run), so every one
# stays open in the gateway's store. Prints the gateway's RSS and peak RSS (VmRSS, VmHWM) and
# the store's size at the end. Loopback only, about 80 s; see bench/README.md.
#
#   bash simulator/bench/memory.sh
#   RATE=1000 DURATION=20s bash simulator/bench/memory.sh    # fewer (RATE x DURATION) dialogues
set -euo pipefail
export RATE=${RATE:-2000} DURATION=${DURATION:-50s} MIX=${MIX:-pds=40,electricity=20,passport=20,pension=10}
exec bash "$(dirname "$0")/ussd_steps.sh" -- --think 100s --max-in-flight 110000 "$@"
