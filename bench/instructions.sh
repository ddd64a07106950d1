#!/usr/bin/env bash
# bench/instructions.sh — user-space instructions per request, counted by
# valgrind's callgrind: stable on a noisy machine, where CPU time is not.
#
# For each request path (HTTP/1.1 keep-alive, h2c, gRPC unary), a closed
# loop against `rwg serve` sends a fixed number of requests twice (N1, N2);
# the difference of the two totals over N2 − N1 is the cost of one request,
# without the start-up and shutdown both runs share. Kernel work is not
# counted: side-by-side runs (run.sh, h2.sh) measure that.
#
#   bench/instructions.sh            print the figures
#   bench/instructions.sh --check    also fail (exit 1) when a path costs more
#                                    than 10 % over its budget in
#                                    bench/instructions.budget
#   bench/instructions.sh --record   write the figures as the new budgets
#
# Open loops are not counted: under valgrind, which runs one thread at a
# time, a dispatcher's timer waits stretch out and the counts mean little.
# Knobs: RWG (binary), N1 (2000), N2 (20000), GEN_CPU (0), SRV_CPU (1).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RWG=${RWG:-$REPO_DIR/target/release/rwg}
N1=${N1:-2000}
N2=${N2:-20000}
GEN_CPU=${GEN_CPU:-0}
SRV_CPU=${SRV_CPU:-1}
BUDGET=$BENCH_DIR/instructions.budget
MODE=${1:-print}
case $MODE in print | --check | --record) ;; *)
    echo "usage: $0 [--check | --record]" >&2
    exit 2
    ;;
esac
command -v valgrind >/dev/null || {
    echo "valgrind not found (apt-get install valgrind)" >&2
    exit 2
}
[[ -x $RWG ]] || {
    echo "no rwg binary at $RWG (cargo build --release)" >&2
    exit 2
}

TMP=$(mktemp -d /tmp/rwg-instr.XXXXXX)
SERVERS=()
cleanup() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# Starts `rwg serve ARGS` on a free port; prints the port.
serve() {
    local log=$TMP/serve.$#.$RANDOM
    "$RWG" serve -p 0 --cpus "$SRV_CPU" "$@" >"$log" 2>&1 &
    SERVERS+=($!)
    for _ in $(seq 50); do
        local port
        port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
        [[ -n $port ]] && { echo "$port"; return; }
        sleep 0.1
    done
    echo "rwg serve $* did not start: $(cat "$log")" >&2
    exit 1
}

# Instructions of one closed-loop run of N requests: `count N URL ARGS`
# (valgrind slows rwg down many times: --max-lag keeps that out of the
# verdict, which would otherwise exit 4).
count() {
    local n=$1 url=$2
    shift 2
    local out=$TMP/cg.$n.out
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$RWG" run "$url" -r 0 -d 600s -n "$n" --cpus "$GEN_CPU" -q --max-lag 60s "$@" \
        >"$TMP/run.log" 2>&1 || {
        echo "rwg run under valgrind failed:" >&2
        cat "$TMP/run.log" >&2
        exit 1
    }
    grep -q " $n ok " <(tr -s ' ' <"$TMP/run.log") || {
        echo "not $n ok responses:" >&2
        cat "$TMP/run.log" >&2
        exit 1
    }
    awk '/^summary:/ {print $2}' "$out"
}

# Instructions per request of one path: `per_request URL ARGS`.
per_request() {
    local a b
    a=$(count "$N1" "$@")
    b=$(count "$N2" "$@")
    echo $(((b - a) / (N2 - N1)))
}

http1=$(serve)
h2c=$(serve --h2c)
grpc=$(serve --grpc)
declare -A FIG
FIG[http1]=$(per_request "http://127.0.0.1:$http1/" -c 8)
FIG[h2c]=$(per_request "http://127.0.0.1:$h2c/" --h2c -c 1 -w 64)
FIG[grpc]=$(per_request "grpc://127.0.0.1:$grpc/rwg.echo.v1.Echo/Call" -c 1 -w 64 \
    --data '{"message":"bench"}')

printf '%-6s %14s %10s\n' path instr/request budget
status=0
for path in http1 h2c grpc; do
    budget=$(awk -v p="$path" '$1 == p {print $2}' "$BUDGET" 2>/dev/null || true)
    printf '%-6s %14s %10s' "$path" "${FIG[$path]}" "${budget:--}"
    if [[ $MODE == --check && -n $budget ]] && ((FIG[$path] * 10 > budget * 11)); then
        printf '  OVER BUDGET by more than 10 %%'
        status=1
    fi
    printf '\n'
done
if [[ $MODE == --record ]]; then
    {
        echo "# path instructions-per-request (bench/instructions.sh --record; N1=$N1 N2=$N2)"
        for path in http1 h2c grpc; do echo "$path ${FIG[$path]}"; done
    } >"$BUDGET"
    echo "wrote $BUDGET"
fi
exit $status
