#!/usr/bin/env bash
# bench/ab.sh — one rwg binary against another (a change's before and after)
# on the same nginx, rounds alternating the order: closed loop with 64
# connections and open loop at 20 000/s, one generator core (CPU 0), nginx on
# CPU 1. Prints medians, min-max and paired ratios (median of per-round
# ratios) of CPU-us per request, req/s and send lag.
#
# Usage: bench/ab.sh OLD_BINARY [NEW_BINARY]   (NEW defaults to target/release/rwg)
# Env: ROUNDS (5), DURATION (5s), RATE (20000), CONNS (64), plus lib.sh's
# knobs (TOPOLOGY=netns: nginx and the clients in their own network
# namespaces over veth, see lib.sh).
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OLD=${1:?usage: bench/ab.sh OLD_BINARY [NEW_BINARY]}
NEW=${2:-$RWG}
RATE=${RATE:-20000}
CONNS=${CONNS:-64}

raise_nofile
cp -p "$OLD" "$BENCH_TMP/rwg-old"
cp -p "$NEW" "$BENCH_TMP/rwg-new"
log "old: $OLD ($(sha256sum "$OLD" | cut -c1-12)); new: $NEW ($(sha256sum "$NEW" | cut -c1-12))"
nginx_start
URL=$BASE_URL/
D=${DUR_S}s

one() {
    # shellcheck disable=SC2034 # lib.sh's run_rwg runs RWG_BIN
    RWG_BIN=$BENCH_TMP/rwg-$1
    run_rwg closed "$1" "$URL" -r 0 -c "$CONNS" -w "$CONNS" -d "$D"
    run_rwg open "$1" "$URL" -r "$RATE" -d "$D"
}

for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(old new); else order=(new old); fi
    log "round $round/$ROUNDS: ${order[*]}"
    for t in "${order[@]}"; do one "$t"; done
done

{
    echo
    machine_info
    echo "old: $OLD  new: $NEW  results: $RESULTS"
    block "closed loop, $CONNS connections, $D x $ROUNDS rounds"
    table closed "new old" "rps:req/s cpu_us_req:CPU-us/req p99_us:latency-p99-us"
    block "open loop at $RATE/s, $D x $ROUNDS rounds"
    table open "new old" "cpu_us_req:CPU-us/req lag_p99_us:send-lag-p99-us p99_us:latency-p99-us"
} | tee -a "$BENCH_OUT/tables.txt"
