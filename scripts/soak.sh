#!/usr/bin/env bash
# scripts/soak.sh — a long steady run that must stay boring: rwg run at a fixed
# rate with -o and --hlog against `rwg serve` that closes a connection every
# CLOSE_EVERY responses and freezes for STALL every STALL_EVERY. Samples the
# client's memory every 10 s, then checks: anonymous RSS flat over the second
# half (max and min within +-10 % of the median), file-backed RSS (the CSV's
# sliding 32 MiB mapping, plus the executable) at most 48 MiB, exactly
# RATE x DURATION rows in the CSV (= the JSON's scheduled = csv_rows), no
# error and no skip (the stalls
# are shorter than the timeout and the workers cover them), and the interval
# log readable by `rwg report`. Exit 0 when all hold, 1 otherwise. Total RSS
# is a sawtooth by design: the CSV's written pages count in it until the
# mapping window slides on (every 32 MiB of CSV).
#
# Usage: scripts/soak.sh [DURATION]      (default 30m; e.g. 5m for a short one)
# Env: RATE (2000), CLOSE_EVERY (1000), STALL_EVERY (60s), STALL (500ms),
#      WORKERS (4000), GEN_CPU (0), SRV_CPU (1), OUT (a new temp dir), RWG.
set -euo pipefail

DURATION=${1:-30m}
RATE=${RATE:-2000}
CLOSE_EVERY=${CLOSE_EVERY:-1000}
STALL_EVERY=${STALL_EVERY:-60s}
STALL=${STALL:-500ms}
WORKERS=${WORKERS:-4000}
GEN_CPU=${GEN_CPU:-0}
SRV_CPU=${SRV_CPU:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RWG=${RWG:-$ROOT/target/release/rwg}
OUT=${OUT:-$(mktemp -d /tmp/rwg-soak.XXXXXX)}
mkdir -p "$OUT"

seconds() { # 30m / 90s / 2h -> seconds
    local v=${1%[smh]} u=${1##*[0-9]}
    case $u in m) echo $((v * 60)) ;; h) echo $((v * 3600)) ;; *) echo "$v" ;; esac
}
DUR_S=$(seconds "$DURATION")
[[ -x $RWG ]] || { echo "no rwg at $RWG (cargo build --release)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 2; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$RWG" serve -p "$port" --cpus "$SRV_CPU" --close-every "$CLOSE_EVERY" \
    --stall "$STALL_EVERY:$STALL" --duration "$((DUR_S + 120))s" 2>"$OUT/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
sleep 1

echo "soak: $RATE/s for $DURATION against 127.0.0.1:$port (close every $CLOSE_EVERY, stall $STALL every $STALL_EVERY); out: $OUT"
"$RWG" run -r "$RATE" -d "$DURATION" -w "$WORKERS" -t 5s --ignore-errors --cpus "$GEN_CPU" -q \
    -o "$OUT/run.csv" --hlog "$OUT/run.hlog" --json "$OUT/run.json" \
    "http://127.0.0.1:$port/soak" >"$OUT/run.txt" 2>&1 &
RUN=$!
: >"$OUT/rss.tsv"
while kill -0 "$RUN" 2>/dev/null; do
    # Anonymous memory (what would leak) and file pages (the CSV's mapping
    # window, at most 32 MiB, dropped each time the window slides).
    rss=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { if (a != "") print a "\t" f }' \
        "/proc/$RUN/status" 2>/dev/null || true)
    [[ -n $rss ]] && printf '%s\t%s\n' "$(date +%s)" "$rss" >>"$OUT/rss.tsv"
    sleep 10
done
wait "$RUN" && rc=0 || rc=$?

fail=0
check() { if eval "$2"; then echo "  ok    $1"; else echo "  FAIL  $1"; fail=1; fi; }
rows=$(($(wc -l <"$OUT/run.csv") - 1))
want=$((RATE * DUR_S))
sched=$(jq .overall.scheduled "$OUT/run.json")
csv_rows=$(jq .run.csv_rows "$OUT/run.json")
errors=$(jq .overall.errors "$OUT/run.json")
skipped=$(jq .overall.skipped "$OUT/run.json")
# RSS over the second half: max and min against the median.
read -r med lo hi n < <(awk -F'\t' -v half=$((DUR_S / 2)) 'NR == 1 { t0 = $1 } $1 - t0 >= half { print $2 }' "$OUT/rss.tsv" |
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0 0 0"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR], NR }')
echo "results ($OUT):"
echo "  exit $rc; rows $rows (want $want), scheduled $sched, csv_rows $csv_rows, errors $errors, skipped $skipped"
file_max=$(awk -F'\t' '$3 > m { m = $3 } END { print m + 0 }' "$OUT/rss.tsv")
echo "  anonymous RSS over the second half: median $med KiB, min $lo, max $hi ($n samples); file-backed RSS max $file_max KiB"
check "exit code 0" "[[ $rc == 0 ]]"
check "rows = rate x duration = scheduled = csv_rows" "[[ $rows == $want && $sched == $want && $csv_rows == $want ]]"
check "no errors, no skips" "[[ $errors == 0 && $skipped == 0 ]]"
if [[ $n -gt 0 ]]; then
    # The 32 MiB window plus the mapped executable and libraries.
    check "file-backed RSS <= 48 MiB" "[[ $file_max -le 49152 ]]"
    check "anonymous RSS within +-10 % of its median" "awk -v m=$med -v a=$lo -v b=$hi 'BEGIN { exit !(a >= 0.9 * m && b <= 1.1 * m) }'"
fi
check "rwg report reads the interval log" "'$RWG' report '$OUT/run.hlog' >'$OUT/hlog-report.txt' 2>&1"
exit $fail
