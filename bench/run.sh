#!/usr/bin/env bash
# bench/run.sh — the whole rwg benchmark in one command: installs the Debian
# peers that are missing (wrk, ab, h2load, nginx, hey, jq; oha via cargo only
# with INSTALL_OHA=1), builds rwg (release), runs compare.sh, then: large body
# (1 MiB, rwg vs wrk, CPU per MiB), 10 000 connections on one core (rwg vs wrk,
# CPU per request, max RSS), open loop at 1 000 req/s (does rwg idle or spin?),
# the 5 000-connection warm-up (warmup_ms, first-second p99 vs steady state),
# and memory in run length (max RSS after MEM_SHORT vs MEM_LONG requests with
# a CSV, once; 1 M vs 20 M, about 4 min; 200 k vs 4 M with QUICK=1).
# Env: QUICK=1 (2 rounds x 3 s, about 5 min), ROUNDS, DURATION, SKIP_INSTALL=1,
# SKIP_BUILD=1, SKIP_COMPARE=1, SKIP_MEMORY=1, INSTALL_OHA=1, BENCH_OUT,
# TOPOLOGY (loopback | netns: nginx and the clients in two network namespaces
# over veth, each side's receive path on its own CPU; needs root; see lib.sh
# and netns.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- install ---
if [[ ${SKIP_INSTALL:-0} != 1 ]]; then
    need=()
    for pair in wrk:wrk ab:apache2-utils h2load:nghttp2-client nginx:nginx hey:hey jq:jq \
        time:time curl:curl; do
        bin=${pair%%:*}
        [[ $bin == time ]] && bin=/usr/bin/time
        command -v "$bin" >/dev/null || need+=("${pair#*:}")
    done
    if ((${#need[@]})); then
        echo "installing: ${need[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    if [[ ${INSTALL_OHA:-0} == 1 ]] && ! command -v oha >/dev/null; then
        echo "cargo install --locked oha (slow)" >&2
        cargo install --locked oha
    fi
fi

# ------------------------------------------------------------------ build ---
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    (cd "$HERE/.." && cargo build --release)
fi

topo_suffix=
[[ ${TOPOLOGY:-loopback} == netns ]] && topo_suffix=-netns
export BENCH_OUT=${BENCH_OUT:-/tmp/rwg-bench-out/$(date +%Y%m%d-%H%M%S)$topo_suffix}
export RESULTS=$BENCH_OUT/results.tsv
# One binary for every scenario, even if target/release is rebuilt meanwhile.
mkdir -p "$BENCH_OUT"
cp -p "${RWG:-$HERE/../target/release/rwg}" "$BENCH_OUT/rwg"
export RWG=$BENCH_OUT/rwg

if [[ ${SKIP_COMPARE:-0} != 1 ]]; then
    bash "$HERE/compare.sh"
fi

# ------------------------------------------------------------- scenarios ---
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
raise_nofile
snapshot_rwg
nginx_start
detect_rate_peers
D=${DUR_S}s
LARGE_CONNS=${LARGE_CONNS:-16}
MANY_CONNS=${MANY_CONNS:-10000}
LOW_RATE=${LOW_RATE:-1000}
WARM_CONNS=${WARM_CONNS:-5000}
WARM_RATE=${WARM_RATE:-10000}
if [[ ${QUICK:-0} == 1 ]]; then
    MEM_SHORT=${MEM_SHORT:-200000}
    MEM_LONG=${MEM_LONG:-4000000}
else
    MEM_SHORT=${MEM_SHORT:-1000000}
    MEM_LONG=${MEM_LONG:-20000000}
fi

if (($(ulimit -n) < MANY_CONNS + 100)); then
    log "open-file limit $(ulimit -n) is below $MANY_CONNS connections; lowering MANY_CONNS"
    MANY_CONNS=$(($(ulimit -n) - 100))
fi

# Warm-up: open loop over WARM_CONNS pre-dialled connections, then the
# first second's p99 against the median per-second p99 of the rest.
warmup_one() {
    local csv=$BENCH_TMP/warm.csv ts=$BENCH_TMP/warm-ts.csv
    KEEP_FILES=$csv run_rwg warmup rwg "$BASE_URL/" -r "$WARM_RATE" -c "$WARM_CONNS" -w "$WARM_CONNS" -d "$D" -o "$csv"
    if [[ -s $csv ]] && "$RWG_BIN" report --timeseries "$ts" --interval 1s "$csv" >"$BENCH_TMP/warm-report.txt" 2>&1; then
        local first steady d=$M_DISTURBED
        first=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c["latency_p99_us"] }' "$ts")
        steady=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR > 2 { print $c["latency_p99_us"] }' "$ts" |
            sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
        record warmup rwg first_p99_us "$first" "$d"
        record warmup rwg steady_p99_us "$steady" "$d"
        record warmup rwg first_over_steady "$(ratio "$first" "$steady")" "$d"
    else
        complain "rwg report --timeseries failed" "$BENCH_TMP/warm-report.txt" "$RWG_BIN" report --timeseries "$ts" "$csv"
    fi
    rm -f "$csv" "$ts"
}

# Memory in run length: the same closed-loop run with a CSV, stopped after
# MEM_SHORT and after MEM_LONG requests; max RSS of each (RSS must not grow).
memory_one() {
    local csv=$BENCH_TMP/mem.csv n
    for n in "$MEM_SHORT" "$MEM_LONG"; do
        KEEP_FILES=$csv LIMIT_S=$((n / 20000 + 60)) \
            run_rwg memory "n=$n" "$BASE_URL/" -r 0 -c 64 -w 64 -n "$n" -d 3600s -o "$csv"
        rm -f "$csv"
    done
    record memory growth rss_long_over_short "$(ratio "$(median memory "n=$MEM_LONG" rss_kib)" \
        "$(median memory "n=$MEM_SHORT" rss_kib)")" 0
}

reverse() { local i; for ((i = $#; i > 0; i--)); do printf '%s ' "${!i}"; done; }

for round in $(seq 1 "$ROUNDS"); do
    pair=(rwg wrk)
    low=(rwg rwg-eager "${PEERS[@]}")
    if ((round % 2 == 0)); then
        pair=(wrk rwg)
        read -r -a low <<<"$(reverse "${low[@]}")"
    fi
    log "round $round/$ROUNDS: large body, $MANY_CONNS connections, $LOW_RATE req/s, warm-up"
    for t in "${pair[@]}"; do
        case $t in
            rwg) run_rwg large rwg "$BASE_URL/1m" -r 0 -c "$LARGE_CONNS" -w "$LARGE_CONNS" -d "$D" ;;
            wrk) run_wrk large wrk "$BASE_URL/1m" -t1 -c"$LARGE_CONNS" -d"$D" ;;
        esac
    done
    for t in "${pair[@]}"; do
        case $t in
            rwg) run_rwg many rwg "$BASE_URL/" -r 0 -c "$MANY_CONNS" -w "$MANY_CONNS" -d "$D" ;;
            wrk) run_wrk many wrk "$BASE_URL/" -t1 -c"$MANY_CONNS" -d"$D" ;;
        esac
    done
    for t in "${low[@]}"; do
        case $t in
            rwg | rwg-eager)
                local_flags=()
                [[ $t == rwg-eager ]] && local_flags=(--eager-reads)
                run_rwg low "$t" "$BASE_URL/" -r "$LOW_RATE" -d "$D" "${local_flags[@]}"
                record low "$t" cpu_pct "$(awk -v c="$M_CPU" -v w="$M_WALL" 'BEGIN { printf "%.2f", 100 * c / w }')" "$M_DISTURBED"
                ;;
            *)
                run_rate_peer low "$t" "$BASE_URL/" "$LOW_RATE" 64
                record low "$t" cpu_pct "$(awk -v c="$M_CPU" -v w="$M_WALL" 'BEGIN { printf "%.2f", 100 * c / w }')" "$M_DISTURBED"
                ;;
        esac
    done
    warmup_one
done
if [[ ${SKIP_MEMORY:-0} != 1 ]]; then
    log "memory: $MEM_SHORT vs $MEM_LONG requests"
    memory_one
fi

{
    echo
    machine_info
    echo "results: $RESULTS (raw runs: $RUNLOG)"

    block "large body: GET /1m (1 MiB), closed loop, $LARGE_CONNS connections, one core, $D x $ROUNDS rounds"
    echo "rwg run -r 0 -c $LARGE_CONNS -w $LARGE_CONNS -d $D --cpus $GEN_CPU -q --json F URL/1m  vs  taskset -c $GEN_CPU wrk -t1 -c$LARGE_CONNS -d$D --latency URL/1m"
    table large "rwg wrk" "rps:MiB/s(=req/s) cpu_us_req:CPU-us/MiB p99_us:latency-p99-us rss_kib:max-RSS-KiB"

    block "$MANY_CONNS connections, closed loop, one core, $D x $ROUNDS rounds"
    echo "rwg run -r 0 -c $MANY_CONNS -w $MANY_CONNS -d $D --cpus $GEN_CPU -q --json F URL  vs  taskset -c $GEN_CPU wrk -t1 -c$MANY_CONNS -d$D --latency URL"
    table many "rwg wrk" "rps:req/s cpu_us_req:CPU-us/req p99_us:latency-p99-us rss_kib:max-RSS-KiB"

    block "open loop at $LOW_RATE req/s, one core, $D x $ROUNDS rounds (does the client idle?)"
    echo "rwg run -r $LOW_RATE -d $D --cpus $GEN_CPU -q --json F URL; peers with 64 connections"
    table low "rwg rwg-eager ${PEERS[*]}" "rps:achieved/s cpu_us_req:CPU-us/req cpu_pct:CPU-%-of-core lag_p99_us:send-lag-p99-us p99_us:latency-p99-us"

    block "warm-up: open loop $WARM_RATE req/s over $WARM_CONNS connections, $D x $ROUNDS rounds"
    echo "rwg run -r $WARM_RATE -c $WARM_CONNS -w $WARM_CONNS -d $D --cpus $GEN_CPU -q -o F.csv --json F URL; rwg report --timeseries TS --interval 1s F.csv"
    echo "first-second p99 = interval 1 of the time series; steady = median of the other intervals' p99"
    table warmup "rwg" "warmup_ms:warmup-ms first_p99_us:first-second-p99-us steady_p99_us:steady-p99-us first_over_steady:first/steady skipped:skipped"
    if [[ ${SKIP_MEMORY:-0} != 1 ]]; then
        block "memory in run length: closed loop, 64 connections, CSV on, $MEM_SHORT vs $MEM_LONG requests (once each)"
        echo "rwg run -r 0 -c 64 -w 64 -n N -d 3600s --cpus $GEN_CPU -q -o F.csv --json F URL"
        table memory "n=$MEM_SHORT n=$MEM_LONG" "reqs:requests rss_kib:max-RSS-KiB cpu_us_req:CPU-us/req"
        echo "max RSS long/short: $(median memory growth rss_long_over_short) (target: within 1.10)"
    fi
    if [[ -s $BENCH_OUT/warnings.log ]]; then
        echo
        echo "warnings (see $BENCH_OUT/warnings.log):"
        sed 's/^/  /' "$BENCH_OUT/warnings.log"
    fi
} | tee -a "$BENCH_OUT/tables.txt"
echo "all tables: $BENCH_OUT/tables.txt" >&2
