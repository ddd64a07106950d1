#!/usr/bin/env bash
# bench/scaling.sh — rwg across several cores against its peers, with the
# target (`rwg serve`, faster per request than any client) on the other cores:
#   closed  HTTP/1.1, 64 connections per core:  rwg --cpus 0-(n-1)  vs  wrk -tn
#   open    HTTP/1.1 at 20 000/s per core:       rwg -r            vs  oha -q
#   h2c     8 connections x 100 streams per core: rwg --h2c (and rwg-crate:
#           with --h2-crate, the h2 crate's HTTP/2 client)  vs  h2load -tn -m100
# for n in CORES, each tool pinned to CPUs 0..n-1 (rwg's --cpus, taskset for
# the peers), req/s and client CPU-us per request, the server's CPU per
# request (srv), and per tool the scaling efficiency: req/s at n cores over
# n x req/s at one. Rounds alternate the tools' order.
# Env: CORES ("1 2 4 8" on 16+ CPUs, else "1"), SRV_CPU ("8-15" on 16+ CPUs,
# else 1), H2_CORES (the first and last of CORES), SCENARIOS ("closed open
# h2c"), CONNS_PER_CORE (64), RATE_PER_CORE (20000), and lib.sh's knobs
# (ROUNDS, DURATION, QUICK, MAX_TRIES, QUIET_WAIT, TOPOLOGY). On a lent
# machine with nothing installed, carry a bench/bundle.sh DIR and run
#   PATH=DIR/path:$PATH RWG=DIR/path/rwg bench/scaling.sh
# shellcheck source=SCRIPTDIR/lib.sh
if (($(nproc) >= 16)); then
    CORES=${CORES:-1 2 4 8}
    SRV_CPU=${SRV_CPU:-8-15}
else
    CORES=${CORES:-1}
fi
export SRV_CPU
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

read -r -a CORE_LIST <<<"$CORES"
H2_CORES=${H2_CORES:-${CORE_LIST[0]} ${CORE_LIST[-1]}}
[[ $H2_CORES == "${CORE_LIST[0]} ${CORE_LIST[0]}" ]] && H2_CORES=${CORE_LIST[0]}
SCENARIOS=${SCENARIOS:-closed open h2c}
CONNS_PER_CORE=${CONNS_PER_CORE:-64}
RATE_PER_CORE=${RATE_PER_CORE:-20000}
D=${DUR_S}s

raise_nofile
snapshot_rwg

# one SCENARIO N TOOL: one measured run of TOOL on CPUs 0..N-1.
one() {
    local sc=$1 n=$2 tool=$3 key=$1-$2
    GEN_CPU=0-$((n - 1))
    ((n == 1)) && GEN_CPU=0
    R_REQS=
    case $sc/$tool in
        closed/rwg) run_rwg "$key" rwg "$URL" -r 0 -c $((CONNS_PER_CORE * n)) -w $((CONNS_PER_CORE * n)) -d "$D" ;;
        closed/wrk) run_wrk "$key" wrk "$URL" -t"$n" -c$((CONNS_PER_CORE * n)) -d"$D" ;;
        open/rwg) run_rwg "$key" rwg "$URL" -r $((RATE_PER_CORE * n)) -d "$D" ;;
        open/oha) run_oha "$key" oha "$URL" $((RATE_PER_CORE * n)) $((CONNS_PER_CORE * n)) ;;
        h2c/rwg) run_rwg "$key" rwg "$URL" --h2c -r 0 -d "$D" -c $((8 * n)) -w $((800 * n)) --max-streams 100 ;;
        h2c/rwg-crate)
            run_rwg "$key" rwg-crate "$URL" --h2c --h2-crate -r 0 -d "$D" -c $((8 * n)) -w $((800 * n)) --max-streams 100
            ;;
        h2c/h2load) run_h2load "$key" h2load "$URL" -t"$n" -c$((8 * n)) -m100 -D "$DUR_S" ;;
    esac
    record_srv "$key" "$tool"
}

peer_of() { case $1 in closed) echo wrk ;; open) echo oha ;; h2c) echo h2load ;; esac; }
# The rwg variants of a scenario: h2c also runs the h2 crate's client.
rwgs_of() { case $1 in h2c) echo rwg rwg-crate ;; *) echo rwg ;; esac; }

# phase SCENARIO: starts its server, runs every round, stops the server.
phase() {
    local sc=$1 peer counts round n tools reversed t
    peer=$(peer_of "$sc")
    counts=$CORES
    [[ $sc == h2c ]] && counts=$H2_CORES
    if ! command -v "$peer" >/dev/null; then
        log "$sc: $peer not on PATH, rwg alone"
        peer=
    fi
    if [[ $sc == h2c ]]; then srv_rwg --h2c; else srv_rwg; fi
    URL=http://$SRV_HOST:$SRV_PORT/
    for round in $(seq 1 "$ROUNDS"); do
        tools="$(rwgs_of "$sc") $peer"
        if ((round % 2 == 0)); then
            reversed=
            for t in $tools; do reversed="$t $reversed"; done
            tools=$reversed
        fi
        log "$sc round $round/$ROUNDS: cores $counts; $tools"
        for n in $counts; do
            for t in $tools; do one "$sc" "$n" "$t"; done
        done
    done
    nginx_stop
}

# efficiency SCENARIO TOOL: "n: req/s (x of linear)" for each core count.
efficiency() {
    local sc=$1 tool=$2 counts=$3 n base rps line
    line="$tool:"
    base=$(median "$sc-${counts%% *}" "$tool" rps)
    for n in $counts; do
        rps=$(median "$sc-$n" "$tool" rps)
        line+=" $n core(s) $rps/s ($(ratio "$rps" "$(awk -v b="$base" -v n="$n" -v c="${counts%% *}" 'BEGIN { if (b == "-") print "-"; else print b * n / c }')") of linear);"
    done
    echo "$line"
}

for sc in $SCENARIOS; do phase "$sc"; done

{
    echo
    machine_info
    echo "server: rwg serve --cpus $SRV_CPU; clients on CPUs 0..n-1 for n in: $CORES (h2c: $H2_CORES)"
    echo "results: $RESULTS (raw runs: $RUNLOG)"
    metrics="rps:req/s cpu_us_req:CPU-us/req srv_us_req:server-CPU-us/req p99_us:latency-p99-us"
    for sc in $SCENARIOS; do
        peer=$(peer_of "$sc")
        counts=$CORES
        [[ $sc == h2c ]] && counts=$H2_CORES
        for n in $counts; do
            case $sc in
                closed) block "closed loop, $n core(s), $((CONNS_PER_CORE * n)) connections: rwg -r 0 -c C -w C vs wrk -t$n -cC" ;;
                open) block "open loop at $((RATE_PER_CORE * n))/s on $n core(s): rwg -r R vs oha -q R -c $((CONNS_PER_CORE * n))" ;;
                h2c) block "h2c, $n core(s), $((8 * n)) connections x 100 streams: rwg --h2c vs h2load -t$n -m100" ;;
            esac
            m=$metrics
            [[ $sc == open ]] && m+=" lag_p99_us:send-lag-p99-us"
            table "$sc-$n" "$(rwgs_of "$sc") $peer" "$m"
        done
        block "$sc: scaling (median req/s; share of n x the first count's)"
        for t in $(rwgs_of "$sc") $peer; do efficiency "$sc" "$t" "$counts"; done
    done
} | tee "$BENCH_OUT/summary.txt"
