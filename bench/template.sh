#!/usr/bin/env bash
# bench/template.sh — what placeholders cost: the same rwg binary, closed
# loop on the same nginx, a static request against one whose query holds
# three placeholders ({{seq}}, {{rand_int}}, {{uuid}}), rounds alternating
# the order; one generator core (CPU 0), nginx on CPU 1. Prints medians,
# min-max and paired ratios (median of per-round ratios) of CPU-us per
# request and req/s. Budget (issue 13): template/static <= 1.15.
# PROTO=grpc measures gRPC instead: `rwg serve --grpc` on CPU 1, one
# connection x 100 streams, the message {"message": "..."} static against
# the same three placeholders in it (rendered as JSON, encoded and framed
# per request).
#
# Usage: bench/template.sh [RWG_BINARY]   (default target/release/rwg)
# Env: ROUNDS (5), DURATION (5s), CONNS (64), PROTO (http1 | grpc), plus
# lib.sh's knobs (TOPOLOGY=netns: server and client in their own network
# namespaces over veth, see lib.sh).
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RWG_BIN=${1:-$RWG}
CONNS=${CONNS:-64}

PROTO=${PROTO:-http1}
raise_nofile
D=${DUR_S}s

if [[ $PROTO == grpc ]]; then
    srv_grpc
    GRPC_URL="grpc://$SRV_HOST:$SRV_PORT/rwg.echo.v1.Echo/Call"
    CONNS=100
    STATIC_DATA='{"message":"12345-678901-0b7e4f5c-8f1e-4a5e-9d3c-2f6a1b7c8d9e"}'
    TEMPLATE_DATA='{"message":"{{seq}}-{{rand_int 1 999999}}-{{uuid}}"}'
else
    nginx_start
    STATIC_URL="$BASE_URL/?id=12345&n=678901&u=0b7e4f5c-8f1e-4a5e-9d3c-2f6a1b7c8d9e"
    TEMPLATE_URL="$BASE_URL/?id={{seq}}&n={{rand_int 1 999999}}&u={{uuid}}"
fi

one() {
    if [[ $PROTO == grpc ]]; then
        local data=$STATIC_DATA
        [[ $1 == template ]] && data=$TEMPLATE_DATA
        run_rwg closed "$1" "$GRPC_URL" -r 0 -c 1 --max-streams 100 -w 100 -d "$D" --data "$data"
        return
    fi
    local url=$STATIC_URL
    [[ $1 == template ]] && url=$TEMPLATE_URL
    run_rwg closed "$1" "$url" -r 0 -c "$CONNS" -w "$CONNS" -d "$D"
}

for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(static template); else order=(template static); fi
    log "round $round/$ROUNDS: ${order[*]}"
    for t in "${order[@]}"; do one "$t"; done
done

{
    echo
    machine_info
    echo "rwg: $RWG_BIN  results: $RESULTS"
    block "$PROTO closed loop, $CONNS in flight, $D x $ROUNDS rounds: three placeholders vs static"
    table closed "template static" "rps:req/s cpu_us_req:CPU-us/req p99_us:latency-p99-us"
} | tee -a "$BENCH_OUT/tables.txt"
