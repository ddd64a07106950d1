#!/usr/bin/env bash
# bench/instructions.sh — user-space instructions per request, counted by
# valgrind's callgrind: stable on a noisy machine, where CPU time is not.
#
# For each request path (HTTP/1.1 keep-alive, h2c and gRPC unary through
# the lean HTTP/2 client and through the h2 crate's (`--h2-crate`)), a closed
# loop against `rwg serve` sends a fixed number of requests twice (N1, N2);
# the difference of the two totals over N2 − N1 is the cost of one request,
# without the start-up and shutdown both runs share. Kernel work is not
# counted: side-by-side runs (run.sh, h2.sh) measure that.
#
# Feature paths cost one feature each over their base path, printed as a
# ratio: placeholders (`http1-template` over a static request of the same
# length, `grpc-template` likewise in a gRPC message; issue 13's budget is
# 1.15×), a weighted mix of four targets from a workload file (`http1-mix`),
# and every request written to a CSV (`http1-csv`, `-o`).
#
#   bench/instructions.sh            print the figures
#   bench/instructions.sh --check    also fail (exit 1) when a path costs more
#                                    than 10 % over its budget in
#                                    bench/instructions.budget
#   bench/instructions.sh --record   write the figures as the new budgets
#
# Open loops are not counted: under valgrind, which runs one thread at a
# time, a dispatcher's timer waits stretch out and the counts mean little.
# Knobs: RWG (binary), N1 (2000), N2 (20000), GEN_CPU (0), SRV_CPU (1),
# ONLY (the paths to count, e.g. ONLY="http1 http1-csv"; default all).

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

# Starts `rwg serve ARGS` on a free port; sets PORT. (Not inside `$(...)`:
# the server's pid must reach SERVERS in this shell, or it outlives the run.)
serve() {
    local log=$TMP/serve.$#.$RANDOM
    "$RWG" serve -p 0 --cpus "$SRV_CPU" "$@" >"$log" 2>&1 &
    SERVERS+=($!)
    for _ in $(seq 50); do
        local port
        port=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
        [[ -n $port ]] && { PORT=$port; return; }
        sleep 0.1
    done
    echo "rwg serve $* did not start: $(cat "$log")" >&2
    exit 1
}

# Instructions of one closed-loop run of N requests: `count N ARGS`
# (valgrind slows rwg down many times: --max-lag keeps that out of the
# verdict, which would otherwise exit 4).
count() {
    local n=$1
    shift
    local out=$TMP/cg.$n.out
    rm -f "$TMP"/out.csv* # the -o path's file: rwg never overwrites one
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$RWG" run "$@" -r 0 -d 600s -n "$n" --cpus "$GEN_CPU" -q --max-lag 60s \
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

# Instructions per request of one path: `per_request ARGS`.
per_request() {
    local a b
    a=$(count "$N1" "$@")
    b=$(count "$N2" "$@")
    echo $(((b - a) / (N2 - N1)))
}

serve
http1=$PORT
serve --h2c
h2c=$PORT
serve --grpc
grpc=$PORT
H=http://127.0.0.1:$http1
G=grpc://127.0.0.1:$grpc/rwg.echo.v1.Echo/Call
# The feature paths (issue 17, item 6) differ from their base in one
# feature only: the static request of a template path has the same length as
# its rendered request, the mix's targets are static.
STATIC_QUERY='?id=12345&n=678901&u=0b7e4f5c-8f1e-4a5e-9d3c-2f6a1b7c8d9e'
TEMPLATE_QUERY='?id={{seq}}&n={{rand_int 1 999999}}&u={{uuid}}'
STATIC_MSG='{"message":"12345-678901-0b7e4f5c-8f1e-4a5e-9d3c-2f6a1b7c8d9e"}'
TEMPLATE_MSG='{"message":"{{seq}}-{{rand_int 1 999999}}-{{uuid}}"}'
MIX=$TMP/mix.toml
for name in search recommend login reserve; do
    printf '[[target]]\nname = "%s"\nweight = %s\nurl = "%s/%s?q=1"\n\n' \
        "$name" "$((${#name} * 10))" "$H" "$name"
done >"$MIX"

# path | base path it is a feature of (- for none) | rwg run arguments,
# separated by ";" (a placeholder holds spaces)
PATHS=(
    "http1|-|$H/;-c;8"
    "h2c|-|http://127.0.0.1:$h2c/;--h2c;-c;1;-w;64"
    "h2c-crate|-|http://127.0.0.1:$h2c/;--h2c;--h2-crate;-c;1;-w;64"
    "grpc|-|$G;-c;1;-w;64;--data;{\"message\":\"bench\"}"
    "grpc-crate|-|$G;--h2-crate;-c;1;-w;64;--data;{\"message\":\"bench\"}"
    "http1-static|-|$H/$STATIC_QUERY;-c;8"
    "http1-template|http1-static|$H/$TEMPLATE_QUERY;-c;8"
    "http1-mix|http1|-f;$MIX;-c;8"
    "http1-csv|http1|$H/;-c;8;-o;$TMP/out.csv"
    "grpc-static|-|$G;-c;1;-w;64;--data;$STATIC_MSG"
    "grpc-template|grpc-static|$G;-c;1;-w;64;--data;$TEMPLATE_MSG"
)
ONLY=${ONLY:-}
declare -A FIG BASE
ORDER=()
for entry in "${PATHS[@]}"; do
    IFS='|' read -r path base joined <<<"$entry"
    [[ -n $ONLY && " $ONLY " != *" $path "* ]] && continue
    IFS=';' read -ra args <<<"$joined"
    FIG[$path]=$(per_request "${args[@]}")
    BASE[$path]=$base
    ORDER+=("$path")
done

printf '%-15s %14s %10s %s\n' path instr/request budget "feature cost"
status=0
for path in "${ORDER[@]}"; do
    budget=$(awk -v p="$path" '$1 == p {print $2}' "$BUDGET" 2>/dev/null || true)
    printf '%-15s %14s %10s' "$path" "${FIG[$path]}" "${budget:--}"
    base=${BASE[$path]}
    if [[ $base != - && -n ${FIG[$base]:-} ]]; then
        awk -v a="${FIG[$path]}" -v b="${FIG[$base]}" -v n="$base" \
            'BEGIN { printf " %.2fx %s (+%d)", a / b, n, a - b }'
    fi
    if [[ $MODE == --check && -n $budget ]] && ((FIG[$path] * 10 > budget * 11)); then
        printf '  OVER BUDGET by more than 10 %%'
        status=1
    fi
    printf '\n'
done
if [[ $MODE == --record ]]; then
    {
        echo "# path instructions-per-request (bench/instructions.sh --record; N1=$N1 N2=$N2)"
        for path in "${ORDER[@]}"; do echo "$path ${FIG[$path]}"; done
    } >"$BUDGET"
    echo "wrote $BUDGET"
fi
exit $status
