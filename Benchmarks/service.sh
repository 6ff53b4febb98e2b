#!/usr/bin/env bash
# service.sh: xsmd on loopback, written to the `service` section of
# docs/benchmarks.md.
#
#   1. Single questions: keep-alive `POST /v1/can` (one decision per request,
#      Xen-Caller dom0, a rotation of eight questions) with wrk — requests/s
#      and latency percentiles — at CONNECTIONS connections.
#      Again at LOW_CONNECTIONS, where wrk and the servers compete less for
#      a loaded machine's CPUs.
#   2. The floor, in the same run: xsmd-baseline (Benchmarks/baseline), a bare
#      Hummingbird route `POST /v1/can` that reads the body and answers a fixed
#      reply — xsmd's own reply to the first question, so the same size — under
#      the same wrk script. xsmd / baseline is the share of the framework's
#      speed xsmd keeps.
#   3. Batches: `POST /v1/can/batch` with BATCH questions per request (every
#      (caller, op, target) of the default host's domains over a few ops,
#      repeated) — decisions/s = requests/s × BATCH — at BATCH_CONNECTIONS.
#      Again with BATCH distinct questions (the product's, shuffled), so nothing folds.
#   4. Products: `POST /v1/can/product`, the compact form of a batch — every
#      domain × every op of policy/ops that takes one domain and nothing else
#      × every domain, one verdict character each — at BATCH_CONNECTIONS. Its
#      first request (decided from an empty memo) is timed on its own.
#
# xsmd runs the embedded default host from a fresh state file. Targets (issue
# 14): single `/v1/can` ≥ 0.9× the bare route, p99 < 3 ms; ≥ 10,000,000
# decisions/s through the batch route (either form; both are reported). wrk shares the machine's CPUs with the
# servers; the load average before the run is written with the results.
#
# Environment: BATCH_ROUNDS (3) and BATCH_DURATION (4s: batch and product rounds), ROUNDS (9) and ROUND_DURATION (3s: the
# single-question rounds), THREADS (2), CONNECTIONS (32), LOW_CONNECTIONS (8), BATCH (10000),
# BATCH_CONNECTIONS (2), BUILD (.build-rel: the release scratch directory),
# OUT (docs/benchmarks.md). Needs wrk (`apt-get install -y wrk`), curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
# What run_wrk runs for unless a caller says (each does).
DURATION=2s
BATCH_ROUNDS=${BATCH_ROUNDS:-3}
BATCH_DURATION=${BATCH_DURATION:-4s}
ROUNDS=${ROUNDS:-9}
ROUND_DURATION=${ROUND_DURATION:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
LOW_CONNECTIONS=${LOW_CONNECTIONS:-8}
BATCH=${BATCH:-10000}
BATCH_CONNECTIONS=${BATCH_CONNECTIONS:-2}
BUILD=${BUILD:-.build-rel}
OUT=${OUT:-docs/benchmarks.md}
WORK=Benchmarks/results/service
mkdir -p "$WORK"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "service.sh: needs $tool (apt-get install -y $tool)" >&2; exit 2; }
done

swift build -c release --scratch-path "$BUILD" --product xsmd >&2
swift build -c release --scratch-path "$BUILD" --product xsmd-baseline >&2
BIN="$BUILD/release"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Start xsmd on a free loopback port (port 0: it prints the address it bound).
# Requests authenticate as dom0 with a bearer token, as a deployment's would.
rm -f "$WORK"/state.sqlite*
TOKEN=$("$BIN/xsmd" --state "$WORK/state.sqlite" --issue-token dom0 2>/dev/null)
AUTH="Authorization: Bearer $TOKEN"
"$BIN/xsmd" --port 0 --state "$WORK/state.sqlite" >"$WORK/xsmd.log" 2>&1 &
XSMD=$!
BARE=
trap 'kill "$XSMD" $BARE 2>/dev/null || true; wait "$XSMD" $BARE 2>/dev/null || true' EXIT
URL=
for _ in $(seq 300); do
  URL=$(grep -oE 'http://[0-9.]+:[1-9][0-9]*' "$WORK/xsmd.log" | head -1 || true)
  if [ -n "$URL" ] && curl -fsS "$URL/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$XSMD" 2>/dev/null || { echo "service.sh: xsmd exited:" >&2; cat "$WORK/xsmd.log" >&2; exit 2; }
  sleep 0.1
done
curl -fsS "$URL/readyz" >/dev/null || { echo "service.sh: xsmd is not ready:" >&2; cat "$WORK/xsmd.log" >&2; exit 2; }
echo "service: xsmd at $URL (pid $XSMD)" >&2

# The questions: eight single ones, and a batch over every domain pair.
OPS='["domctl.pause", "domctl.getdomaininfo", "evtchn.bind_interdomain", "dm.set_pci_intx_level", "grant.map_grant_ref"]'
curl -fsS -H "$AUTH" "$URL/v1/domains" >"$WORK/domains.json"
python3 - "$WORK" "$BATCH" "$OPS" "$TOKEN" "$URL" <<'PY'
import json, sys, itertools, glob, urllib.request, urllib.error
work, batch, ops, token, url = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
names = [d["name"] for d in json.load(open(f"{work}/domains.json"))]
# The product's ops: those of the catalog a (caller, domain) question with no other argument answers.
def answers(body):
    request = urllib.request.Request(f"{url}/v1/can", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        return urllib.request.urlopen(request).status == 200
    except urllib.error.HTTPError:
        return False
candidates = [line.split()[1] for path in sorted(glob.glob("policy/ops/*.ops")) for line in open(path) if line.startswith("op ")]
# Asked through /v1/can, so the product's memo starts empty.
product_ops = [op for op in candidates if answers(dict(caller=names[0], op=op, target=names[1]))]
json.dump(dict(callers=names, ops=product_ops, targets=names), open(f"{work}/product.json", "w"))
pairs = [(c, o, t) for o in ops for c in names for t in names]
queries = [dict(caller=c, op=o, target=t) for c, o, t in itertools.islice(itertools.cycle(pairs), batch)]
json.dump({"queries": queries}, open(f"{work}/batch.json", "w"))
# A batch of distinct questions: BATCH (at most all) of the product's, in a fixed shuffled order.
import random
everything = [dict(caller=c, op=o, target=t) for c in names for o in product_ops for t in names]
random.Random(1).shuffle(everything)
json.dump({"queries": everything[:batch]}, open(f"{work}/distinct.json", "w"))
singles = [dict(caller=c, op=o, target=t) for c, o, t in pairs[:: max(1, len(pairs) // 8)][:8]]
open(f"{work}/singles.jsonl", "w").write("".join(json.dumps(q) + "\n" for q in singles))
with open(f"{work}/can.lua", "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Xen-Caller"] = "dom0"\n')
    f.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    f.write("local bodies = {\n" + "".join(f"  [[{json.dumps(q)}]],\n" for q in singles) + "}\n")
    f.write("local i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n")
PY
for form in batch distinct product; do
  cat >"$WORK/$form.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Xen-Caller"] = "dom0"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local f = assert(io.open("$WORK/$form.json", "rb"))
wrk.body = f:read("*a")
f:close()
LUA
done
REPORT='
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end'
echo "$REPORT" >>"$WORK/can.lua"
echo "$REPORT" >>"$WORK/batch.lua"
echo "$REPORT" >>"$WORK/distinct.lua"
echo "$REPORT" >>"$WORK/product.lua"

# Each body answers 200 before anything is timed.
while read -r q; do
  curl -fsS -H "$AUTH" -H 'Xen-Caller: dom0' -H 'Content-Type: application/json' -d "$q" "$URL/v1/can" >/dev/null
done <"$WORK/singles.jsonl"
# The product's first request decides every question (the snapshot's memo is empty: /v1/can does not fill it);
# later ones read the memo.
COLD_MS=$(curl -fsS -o "$WORK/product-reply.json" -w '%{time_total}' -H "$AUTH" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/product.json" "$URL/v1/can/product" | awk '{ printf "%.1f", $1 * 1000 }')
read -r P_CALLERS P_OPS P_TARGETS PRODUCT < <(python3 -c "
import json, sys
q, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n = len(q['callers']) * len(q['ops']) * len(q['targets'])
assert len(r['verdicts']) == n, (len(r['verdicts']), n)
print(len(q['callers']), len(q['ops']), len(q['targets']), n)" "$WORK/product.json" "$WORK/product-reply.json")
# The batch after the product: the batch route reads and keeps the same verdict memo.
curl -fsS -H "$AUTH" -H 'Xen-Caller: dom0' -H 'Content-Type: application/json' --data-binary "@$WORK/batch.json" \
  "$URL/v1/can/batch" >"$WORK/batch-reply.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert len(r['verdicts'])==int(sys.argv[2]), len(r['verdicts'])" \
  "$WORK/batch-reply.json" "$BATCH"

# The floor: the bare route answering xsmd's reply to the first question.
head -1 "$WORK/singles.jsonl" | curl -fsS -H "$AUTH" -H 'Xen-Caller: dom0' -H 'Content-Type: application/json' --data-binary @- \
  "$URL/v1/can" >"$WORK/reply.json"
"$BIN/xsmd-baseline" "$WORK/reply.json" 0 >"$WORK/baseline.log" 2>&1 &
BARE=$!
BARE_URL=
for _ in $(seq 300); do
  BARE_URL=$(grep -oE 'http://[0-9.]+:[1-9][0-9]*' "$WORK/baseline.log" | head -1 || true)
  [ -n "$BARE_URL" ] && break
  sleep 0.1
done
[ -n "$BARE_URL" ] || { echo "service.sh: xsmd-baseline did not start:" >&2; cat "$WORK/baseline.log" >&2; exit 2; }
REPLY_BYTES=$(wc -c <"$WORK/reply.json")

run_wrk() { # NAME CONNECTIONS SCRIPT [PATH] [BASE]
  echo "service: wrk $1 (-t$THREADS -c$2 -d$DURATION)" >&2
  wrk -t"$THREADS" -c"$2" -d"$DURATION" --latency -s "$3" "${5:-$URL}/v1/can${4:-}" | tee "$WORK/$1.txt" >&2
  grep '^RESULT' "$WORK/$1.txt" | cut -f2-
}
# A short warm-up of each, then ROUNDS rounds of xsmd and the floor back to back at each
# connection count. A shared machine's speed drifts by more than the difference measured, so
# each side's figures are the median of its rounds and the share is the median of the rounds'
# own ratios (each compares two runs seconds apart). The rounds' figures are kept in
# $WORK/rounds.tsv.
DURATION=2s run_wrk warmup "$CONNECTIONS" "$WORK/can.lua" >/dev/null
DURATION=2s run_wrk warmup-baseline "$CONNECTIONS" "$WORK/can.lua" "" "$BARE_URL" >/dev/null
: >"$WORK/rounds.tsv"
single_xsmd() { # CONNECTIONS ROUND
  printf 'xsmd\t%s\t%s\t%s\n' "$1" "$2" "$(DURATION=$ROUND_DURATION run_wrk "can-$1-$2" "$1" "$WORK/can.lua")" >>"$WORK/rounds.tsv"
}
single_bare() { # CONNECTIONS ROUND
  printf 'bare\t%s\t%s\t%s\n' "$1" "$2" "$(DURATION=$ROUND_DURATION run_wrk "baseline-$1-$2" "$1" "$WORK/can.lua" "" "$BARE_URL")" >>"$WORK/rounds.tsv"
}
# Which side goes first alternates from round to round, so neither is always measured first.
for round in $(seq "$ROUNDS"); do
  for c in "$CONNECTIONS" "$LOW_CONNECTIONS"; do
    if [ $((round % 2)) -eq 1 ]; then single_xsmd "$c" "$round"; single_bare "$c" "$round"
    else single_bare "$c" "$round"; single_xsmd "$c" "$round"; fi
  done
done
# Per side and connection count: median requests/s, p50 and p99, the largest max, errors summed,
# and the median of the rounds' xsmd/bare ratios.
summary() { # SIDE CONNECTIONS -> RATE P50 P99 MAX STATUS SOCKET
  python3 - "$WORK/rounds.tsv" "$1" "$2" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
mine = [r for r in rows if r[0] == sys.argv[2] and r[1] == sys.argv[3]]
num = lambda r, i: float(r[3 + i])
rate = [num(r, 0) / (num(r, 1) / 1e6) for r in mine]
print(round(statistics.median(rate)), round(statistics.median(num(r, 2) for r in mine)),
  round(statistics.median(num(r, 3) for r in mine)), round(max(num(r, 4) for r in mine)),
  int(sum(num(r, 5) for r in mine)), int(sum(num(r, 6) for r in mine)))
PY
}
share() { # CONNECTIONS [SIDE FLOOR] -> median of the rounds' ratios, and their range
  python3 - "$WORK/rounds.tsv" "$1" "${2:-xsmd}" "${3:-bare}" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
side, floor = sys.argv[3], sys.argv[4]
def rate(which, round_):
    r = next(r for r in rows if r[0] == which and r[1] == sys.argv[2] and r[2] == round_)
    return float(r[3]) / (float(r[4]) / 1e6)
ratios = [rate(side, k) / rate(floor, k) for k in sorted({r[2] for r in rows if r[0] == side})]
print(f"{statistics.median(ratios):.3f}", f"{min(ratios):.2f}–{max(ratios):.2f}")
PY
}
read -r S_RATE S_P50 S_P99 S_MAX S_STATUS S_SOCK < <(summary xsmd "$CONNECTIONS")
read -r F_RATE F_P50 F_P99 F_MAX F_STATUS F_SOCK < <(summary bare "$CONNECTIONS")
read -r LS_RATE LS_P50 LS_P99 LS_MAX LS_STATUS LS_SOCK < <(summary xsmd "$LOW_CONNECTIONS")
read -r LF_RATE LF_P50 LF_P99 LF_MAX LF_STATUS LF_SOCK < <(summary bare "$LOW_CONNECTIONS")
read -r SHARE SHARE_RANGE < <(share "$CONNECTIONS")
read -r LOW_SHARE LOW_SHARE_RANGE < <(share "$LOW_CONNECTIONS")
# Batches and products in BATCH_ROUNDS rounds of BATCH_DURATION, the three forms in turn: a target in
# decisions/s has no floor measured beside it to cancel the machine's drift, so each figure is the
# median of its rounds, shown with their range.
for round in $(seq "$BATCH_ROUNDS"); do
  for form in batch distinct product; do
    route=/batch
    [ "$form" = product ] && route=/product
    printf '%s\t%s\t%s\t%s\n' "$form" "$BATCH_CONNECTIONS" "$round" \
      "$(DURATION=$BATCH_DURATION run_wrk "$form-$round" "$BATCH_CONNECTIONS" "$WORK/$form.lua" "$route")" >>"$WORK/rounds.tsv"
  done
done
spread() { # SIDE -> the smallest and largest requests/s of its rounds
  python3 - "$WORK/rounds.tsv" "$1" <<'PY'
import sys
rates = [float(r[3]) / (float(r[4]) / 1e6) for r in (l.rstrip("\n").split("\t") for l in open(sys.argv[1])) if r[0] == sys.argv[2]]
print(min(rates), max(rates))
PY
}
read -r B_RATE B_P50 B_P99 B_MAX B_STATUS B_SOCK < <(summary batch "$BATCH_CONNECTIONS")
read -r DB_RATE DB_P50 DB_P99 DB_MAX DB_STATUS DB_SOCK < <(summary distinct "$BATCH_CONNECTIONS")
read -r P_RATE P_P50 P_P99 P_MAX P_STATUS P_SOCK < <(summary product "$BATCH_CONNECTIONS")
read -r B_LOW B_HIGH < <(spread batch)
read -r P_LOW P_HIGH < <(spread product)
kill "$XSMD"; wait "$XSMD" 2>/dev/null || true
# The same questions with the reply memo off (`--reply-memo 0`): each decided, encoded and logged
# afresh, against the bare route again, at CONNECTIONS.
"$BIN/xsmd" --port 0 --state "$WORK/state.sqlite" --reply-memo 0 >"$WORK/xsmd-nomemo.log" 2>&1 &
XSMD=$!
URL=
for _ in $(seq 300); do
  URL=$(grep -oE 'http://[0-9.]+:[1-9][0-9]*' "$WORK/xsmd-nomemo.log" | head -1 || true)
  if [ -n "$URL" ] && curl -fsS "$URL/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "$URL/readyz" >/dev/null || { echo "service.sh: xsmd --reply-memo 0 is not ready:" >&2; cat "$WORK/xsmd-nomemo.log" >&2; exit 2; }
# This xsmd's verdict memo is empty: the distinct batch's first request here decides every question.
DISTINCT=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['queries']))" "$WORK/distinct.json")
DISTINCT_COLD_MS=$(curl -fsS -o /dev/null -w '%{time_total}' -H "$AUTH" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/distinct.json" "$URL/v1/can/batch" | awk '{ printf "%.1f", $1 * 1000 }')
DURATION=2s run_wrk warmup-nomemo "$CONNECTIONS" "$WORK/can.lua" >/dev/null
nomemo_xsmd() {
  printf 'nomemo\t%s\t%s\t%s\n' "$CONNECTIONS" "$1" "$(DURATION=$ROUND_DURATION run_wrk "can-nomemo-$1" "$CONNECTIONS" "$WORK/can.lua")" >>"$WORK/rounds.tsv"
}
nomemo_bare() {
  printf 'bare-nomemo\t%s\t%s\t%s\n' "$CONNECTIONS" "$1" "$(DURATION=$ROUND_DURATION run_wrk "baseline-nomemo-$1" "$CONNECTIONS" "$WORK/can.lua" "" "$BARE_URL")" >>"$WORK/rounds.tsv"
}
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then nomemo_xsmd "$round"; nomemo_bare "$round"
  else nomemo_bare "$round"; nomemo_xsmd "$round"; fi
done
read -r N_RATE N_P50 N_P99 N_MAX N_STATUS N_SOCK < <(summary nomemo "$CONNECTIONS")
read -r NO_MEMO_SHARE NO_MEMO_RANGE < <(share "$CONNECTIONS" nomemo bare-nomemo)
kill "$XSMD" "$BARE"; wait "$XSMD" "$BARE" 2>/dev/null || true
BARE=
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

rate() { awk -v n="$1" -v us="$2" -v k="${3:-1}" 'BEGIN { printf "%.0f", n * k / (us / 1e6) }'; }
ms() { awk -v v="$1" 'BEGIN { printf (v >= 10000 ? "%.0f" : "%.2f"), v / 1000 }'; }
fmt() { awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.2fM", v/1e6; else if (v >= 1e3) printf "%.1fk", v/1e3; else printf "%.3g", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
times() { awk -v a="$1" -v k="$2" 'BEGIN { printf "%.0f", a * k }'; }
D_RATE=$(times "$B_RATE" "$BATCH")
DD_RATE=$(times "$DB_RATE" "$DISTINCT")
PD_RATE=$(times "$P_RATE" "$PRODUCT")
met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b ? "yes" : "no") }'; }
below() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? "yes" : "no") }'; }

{
  echo "## Query service: xsmd requests/s on loopback"
  echo
  echo "Generated by \`Benchmarks/service.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, release build, $(wrk --version 2>&1 | head -1 | awk '{print $1, $2}')."
  echo "xsmd serves the embedded default host (flask, enforcing) from a fresh state file on 127.0.0.1; wrk runs on the same"
  echo "machine with $THREADS threads and keep-alive connections, so they share its CPUs. Single questions: $ROUNDS rounds of"
  echo "$ROUND_DURATION per side and connection count, xsmd and the bare route back to back (which goes first alternates), medians shown; batches and"
  echo "products: $BATCH_ROUNDS rounds of $BATCH_DURATION each, the three forms in turn, medians shown. A 2 s warm-up of each server comes first."
  echo "Load average (1, 5, 15 min) before the run: $LOAD_BEFORE; after: $LOAD_AFTER${LOAD_NOTE:+ ($LOAD_NOTE)}."
  echo
  echo "| workload | connections | requests/s | decisions/s | p50 ms | p99 ms | max ms | non-2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "| \`POST /v1/can\`, one question | $CONNECTIONS | $(fmt "$S_RATE") | $(fmt "$S_RATE") | $(ms "$S_P50") | $(ms "$S_P99") | $(ms "$S_MAX") | $S_STATUS | $S_SOCK |"
  echo "| bare Hummingbird route, fixed $REPLY_BYTES-byte reply | $CONNECTIONS | $(fmt "$F_RATE") | – | $(ms "$F_P50") | $(ms "$F_P99") | $(ms "$F_MAX") | $F_STATUS | $F_SOCK |"
  echo "| \`POST /v1/can\`, one question | $LOW_CONNECTIONS | $(fmt "$LS_RATE") | $(fmt "$LS_RATE") | $(ms "$LS_P50") | $(ms "$LS_P99") | $(ms "$LS_MAX") | $LS_STATUS | $LS_SOCK |"
  echo "| bare Hummingbird route, fixed $REPLY_BYTES-byte reply | $LOW_CONNECTIONS | $(fmt "$LF_RATE") | – | $(ms "$LF_P50") | $(ms "$LF_P99") | $(ms "$LF_MAX") | $LF_STATUS | $LF_SOCK |"
  echo "| \`POST /v1/can\`, one question, reply memo off (\`--reply-memo 0\`; $NO_MEMO_SHARE× the bare route, rounds $NO_MEMO_RANGE) | $CONNECTIONS | $(fmt "$N_RATE") | $(fmt "$N_RATE") | $(ms "$N_P50") | $(ms "$N_P99") | $(ms "$N_MAX") | $N_STATUS | $N_SOCK |"
  echo "| \`POST /v1/can/batch\`, $BATCH questions | $BATCH_CONNECTIONS | $(fmt "$B_RATE") | $(fmt "$D_RATE") | $(ms "$B_P50") | $(ms "$B_P99") | $(ms "$B_MAX") | $B_STATUS | $B_SOCK |"
  echo "| \`POST /v1/can/batch\`, $DISTINCT distinct questions | $BATCH_CONNECTIONS | $(fmt "$DB_RATE") | $(fmt "$DD_RATE") | $(ms "$DB_P50") | $(ms "$DB_P99") | $(ms "$DB_MAX") | $DB_STATUS | $DB_SOCK |"
  echo "| \`POST /v1/can/product\`, $P_CALLERS × $P_OPS × $P_TARGETS = $PRODUCT questions | $BATCH_CONNECTIONS | $(fmt "$P_RATE") | $(fmt "$PD_RATE") | $(ms "$P_P50") | $(ms "$P_P99") | $(ms "$P_MAX") | $P_STATUS | $P_SOCK |"
  echo
  echo "| target (issue 14) | measured | met |"
  echo "|---|---:|---|"
  echo "| single \`/v1/can\` ≥ 0.9× the bare route, $CONNECTIONS connections (rounds: $SHARE_RANGE) | $SHARE× | $(met "$SHARE" 0.9) |"
  echo "| single \`/v1/can\` ≥ 0.9× the bare route, $LOW_CONNECTIONS connections (rounds: $LOW_SHARE_RANGE) | $LOW_SHARE× | $(met "$LOW_SHARE" 0.9) |"
  echo "| single \`/v1/can\` p99 < 3 ms, $CONNECTIONS connections (bare route: $(ms "$F_P99") ms) | $(ms "$S_P99") ms | $(below "$S_P99" 3000) |"
  echo "| single \`/v1/can\` p99 < 3 ms, $LOW_CONNECTIONS connections (bare route: $(ms "$LF_P99") ms) | $(ms "$LS_P99") ms | $(below "$LS_P99" 3000) |"
  echo "| batch ≥ 10 M decisions/s, explicit questions (\`/v1/can/batch\`; rounds: $(fmt "$(times "$B_LOW" "$BATCH")")–$(fmt "$(times "$B_HIGH" "$BATCH")")) | $(fmt "$D_RATE") | $(met "$D_RATE" 10000000) |"
  echo "| batch ≥ 10 M decisions/s, compact product (\`/v1/can/product\`; rounds: $(fmt "$(times "$P_LOW" "$PRODUCT")")–$(fmt "$(times "$P_HIGH" "$PRODUCT")")) | $(fmt "$PD_RATE") | $(met "$PD_RATE" 10000000) |"
  echo
  echo "Single questions rotate through eight (caller, op, target) triples of the default host; each reply carries the"
  echo "decision without its trace (\`\"why\": true\` asks for it); after its first answer each is given from the snapshot's"
  echo "reply memo, logged and counted as a decided one is (docs/service.md, \"Reply memo\"), and the memo-off row decides,"
  echo "encodes and logs every one afresh. The bare route (\`Benchmarks/baseline\`, built as"
  echo "\`xsmd-baseline\`) reads the body and answers xsmd's reply to the first of them, with Hummingbird configured as"
  echo "xsmd's. A batch is every (caller, op, target) of the host's domains over \`domctl.pause\`,"
  echo "\`domctl.getdomaininfo\`, \`evtchn.bind_interdomain\`, \`dm.set_pci_intx_level\` and \`grant.map_grant_ref\`, repeated"
  echo "to $BATCH questions; its reply holds the verdicts only. Latency is per request (for a batch: all $BATCH decisions)."
  echo "Its repeats are folded by their bytes before anything is read, and each distinct question's verdict is read from"
  echo "the snapshot's verdict memo after the first request. The distinct batch is $DISTINCT different questions of the"
  echo "product below (shuffled with a fixed seed): nothing folds, each is read and looked up. Its first request on a"
  echo "fresh xsmd (the memo-off one, started after the other rows, whose verdict memo is empty) decided all of them in"
  echo "$DISTINCT_COLD_MS ms."
  echo "A product is every domain × the $P_OPS ops of \`policy/ops\` that take one domain and nothing else × every domain;"
  echo "its reply is one character per verdict. Its first request, decided from an empty memo, took $COLD_MS ms"
  echo "($PRODUCT decisions); the timed ones read the verdicts the snapshot keeps (docs/service.md, \"Products\"),"
  echo "as a client asking the same matrix again would, until a change publishes a new snapshot."
} | Benchmarks/replace-section.sh service "$OUT"
sed -n '/<!-- service:begin -->/,/<!-- service:end -->/p' "$OUT"
