#!/usr/bin/env bash
# bench/levers.sh — the closed loop's kernel levers (issue 17, item 2),
# measured one by one before rwg's driver is changed for any of them:
# examples/uring_levers.rs sends closed-loop GETs over raw io_uring with
# none (raw), or one of: a send linked to its receive (link), receives that
# wait for data before trying (poll-first), one multishot receive per
# connection into provided buffers (multishot), registered files (fixed),
# and all that combine (all: link poll-first fixed; ms-fixed: multishot
# fixed). rwg and wrk run beside them on the same nginx; rounds alternate
# the order. CPU-us per request is the figure; ratios are against raw.
# Env: CONNS (64), ROUNDS (3), DURATION (10s), TOPOLOGY, plus lib.sh's knobs.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONNS=${CONNS:-64}
(cd "$REPO_DIR" && cargo build --release --example uring_levers -q)
LEVERS=$BENCH_TMP/uring_levers
cp -p "$REPO_DIR/target/release/examples/uring_levers" "$LEVERS"

raise_nofile
snapshot_rwg
nginx_start
URL=$BASE_URL/
ADDR=$SRV_HOST:$NGINX_PORT
D=${DUR_S}s

# run_raw TOOL LEVER...: one run of the prototype; records rps, reqs, cpu_us_req.
run_raw() {
    local tool=$1 out=$BENCH_TMP/levers.$1.out reqs
    shift
    local cmd=("$LEVERS" "$ADDR" "$CONNS" "$DUR_S" "$@")
    measure_stable "$(limit_for)" "$out" -- "${cmd[@]}"
    reqs=$(awk '/^requests / { print $2 }' "$out")
    if [[ $M_RC != 0 || -z $reqs ]]; then
        complain "$tool rc=$M_RC" "$out" "${cmd[@]}"
        record levers "$tool" failed 1
        return 0
    fi
    record levers "$tool" reqs "$reqs" "$M_DISTURBED"
    record levers "$tool" rps "$(awk -v n="$reqs" -v s="$DUR_S" 'BEGIN { printf "%.0f", n / s }')" "$M_DISTURBED"
    record levers "$tool" cpu_us_req "$(cpu_per "$M_CPU" "$reqs")" "$M_DISTURBED"
    record_cpu levers "$tool"
}

one() {
    case $1 in
        rwg) run_rwg levers rwg "$URL" -r 0 -c "$CONNS" -w "$CONNS" -d "$D" ;;
        wrk) run_wrk levers wrk "$URL" -t1 -c"$CONNS" -d"$D" ;;
        raw) run_raw raw ;;
        all) run_raw all link poll-first fixed ;;
        ms-fixed) run_raw ms-fixed multishot fixed ;;
        *) run_raw "$1" "$1" ;;
    esac
}

TOOLS=(raw link poll-first multishot fixed all ms-fixed rwg wrk)
for round in $(seq 1 "$ROUNDS"); do
    order=("${TOOLS[@]}")
    ((round % 2 == 0)) && mapfile -t order < <(printf '%s\n' "${TOOLS[@]}" | tac)
    log "round $round/$ROUNDS: ${order[*]}"
    for t in "${order[@]}"; do one "$t"; done
done

{
    echo
    machine_info
    echo "results: $RESULTS (raw runs: $RUNLOG)"
    block "closed loop, $CONNS connections, one core, GET / on nginx, $D x $ROUNDS rounds: kernel levers"
    echo "raw..ms-fixed: target/release/examples/uring_levers $ADDR $CONNS $DUR_S [LEVER...] (see its header)"
    echo "rwg: rwg run -r 0 -c $CONNS -w $CONNS -d $D --cpus $GEN_CPU -q --json F URL   wrk: wrk -t1 -c$CONNS -d$D --latency URL"
    table levers "${TOOLS[*]}" "rps:req/s cpu_us_req:CPU-us/req"
} | tee -a "$BENCH_OUT/tables.txt"
