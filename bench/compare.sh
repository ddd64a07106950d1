#!/usr/bin/env bash
# bench/compare.sh — rwg against its peers on one generator core (CPU 0) with
# nginx on CPU 1: closed loop vs wrk and oha where on PATH (req/s, client
# CPU-us per request), open loop at a fixed rate vs wrk2 / oha / hey / bombardier where on PATH (send-lag
# p99, CPU-us per request), and the cost of rwg's CSV writer (-o vs none).
# Rounds alternate the tools' order. Env: ROUNDS (3), DURATION (10s), QUICK=1
# (2 rounds x 3 s), RATE (20000), CONNS (64), TOPOLOGY (loopback, the default,
# or netns: nginx in netns rwgb-srv on 10.77.0.1, the clients in rwgb-cli,
# over veth with each side's receive path on its own CPU, as behind a NIC;
# see lib.sh and netns.sh), plus lib.sh's other knobs. The header's
# "topology:" line and results.tsv's 6th column say which one ran, e.g.
#   TOPOLOGY=loopback bench/compare.sh; TOPOLOGY=netns bench/compare.sh
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=${RATE:-20000}
CONNS=${CONNS:-64}

raise_nofile
snapshot_rwg
nginx_start
detect_rate_peers
URL=$BASE_URL/
D=${DUR_S}s
CSV=$BENCH_TMP/x.csv

closed_one() {
    case $1 in
        rwg) run_rwg closed rwg "$URL" -r 0 -c "$CONNS" -w "$CONNS" -d "$D" ;;
        wrk) run_wrk closed wrk "$URL" -t1 -c"$CONNS" -d"$D" ;;
        oha) run_oha closed oha "$URL" 0 "$CONNS" ;;
        rwg+csv)
            run_rwg closed rwg+csv "$URL" -r 0 -c "$CONNS" -w "$CONNS" -d "$D" -o "$CSV"
            rm -f "$CSV"
            ;;
    esac
}

open_one() {
    case $1 in
        rwg) run_rwg open rwg "$URL" -r "$RATE" -d "$D" ;;
        rwg-eager) run_rwg open rwg-eager "$URL" -r "$RATE" -d "$D" --eager-reads ;;
        rwg-1ms) run_rwg open rwg-1ms "$URL" -r "$RATE" -d "$D" --send-window 1ms ;;
        *) run_rate_peer open "$1" "$URL" "$RATE" "$CONNS" ;;
    esac
}

reverse() { local i; for ((i = $#; i > 0; i--)); do printf '%s ' "${!i}"; done; }

for round in $(seq 1 "$ROUNDS"); do
    closed_order=(rwg wrk rwg+csv)
    command -v oha >/dev/null && closed_order+=(oha)
    open_order=(rwg rwg-eager rwg-1ms "${PEERS[@]}")
    if ((round % 2 == 0)); then
        read -r -a closed_order <<<"$(reverse "${closed_order[@]}")"
        read -r -a open_order <<<"$(reverse "${open_order[@]}")"
    fi
    log "round $round/$ROUNDS: closed ${closed_order[*]}; open ${open_order[*]}"
    for t in "${closed_order[@]}"; do closed_one "$t"; done
    for t in "${open_order[@]}"; do open_one "$t"; done
done

{
    echo
    machine_info
    echo "results: $RESULTS (raw runs: $RUNLOG)"

    block "closed loop, $CONNS connections, one core, GET / (12-byte body), $D x $ROUNDS rounds"
    echo "rwg: rwg run -r 0 -c $CONNS -w $CONNS -d $D --cpus $GEN_CPU -q --json F URL   wrk: taskset -c $GEN_CPU wrk -t1 -c$CONNS -d$D --latency URL"
    closed_peers=wrk
    command -v oha >/dev/null && closed_peers+=" oha"
    table closed "rwg $closed_peers" "rps:req/s cpu_us_req:CPU-us/req p99_us:latency-p99-us rss_kib:max-RSS-KiB"

    block "CSV writer cost (same closed-loop run with -o FILE)"
    table closed "rwg+csv rwg" "rps:req/s cpu_us_req:CPU-us/req rss_kib:max-RSS-KiB"

    block "open loop at $RATE req/s, one core, $D x $ROUNDS rounds (peers with $CONNS connections)"
    echo "rwg: rwg run -r $RATE -d $D --cpus $GEN_CPU -q --json F URL (default 256 workers/connections)"
    echo "peers missing from PATH: $PEERS_MISSING"
    table open "rwg ${PEERS[*]}" "rps:achieved/s lag_p99_us:send-lag-p99-us p99_us:latency-p99-us cpu_us_req:CPU-us/req"
    block "the same with --eager-reads (a wake-up per response: lower send lag, more CPU)"
    table open "rwg-eager rwg ${PEERS[*]}" "rps:achieved/s lag_p99_us:send-lag-p99-us p99_us:latency-p99-us cpu_us_req:CPU-us/req"
    block "the same at oha's send precision: --send-window 1ms (oha paces with a 1 ms timer)"
    table open "rwg-1ms ${PEERS[*]}" "rps:achieved/s lag_p99_us:send-lag-p99-us p99_us:latency-p99-us cpu_us_req:CPU-us/req"
    if [[ -s $BENCH_OUT/warnings.log ]]; then
        echo
        echo "warnings (see $BENCH_OUT/warnings.log):"
        sed 's/^/  /' "$BENCH_OUT/warnings.log"
    fi
} | tee -a "$BENCH_OUT/tables.txt"
