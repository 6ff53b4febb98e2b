#!/usr/bin/env bash
# Front-end benchmark: seconds per pass of the policy front end (lexing and parsing, resolving
# and checking; for trees also m4 expansion), measured in process by `xsmbench frontend FILE`,
# which runs the front end without lowering or libsepol. Four tables:
#   1. generated policies of GUESTS guest domains (xsmgen), beside checkpolicy's wall time for
#      the whole compile of the same file;
#   2. policies of TYPES types (xsmgen's one-guest policy plus N guest types with two allow rules
#      each); each row doubles the types, so a linear pass shows a ratio near 2 to the row before;
#   3. MLS policies with N contexts that carry a level range (`s0:c0,c2-s1:c0.c3`);
#   4. the project's own policy tree (policy/).
# Every input runs RUNS times (checkpolicy and xsmbench interleaved); the tables give medians.
#
# Environment:
#   GUESTS     guest counts (default "1000 5000 18000"; xsmgen allows at most 18000)
#   TYPES      type counts of the scaling table (default "10000 20000 40000 80000")
#   CONTEXTS   context counts of the MLS table (default "10000 20000 40000")
#   RUNS       runs per input (default 5)
#   XSMBENCH   xsmbench binary (default .build/release/xsmbench)
#   XSMGEN     xsmgen binary (default .build/release/xsmgen)
#   FLASK_DIR  hypervisor declarations for xsmgen (default policy/flask)
#   TREE       policy tree of table 3 (default policy; empty to skip)
#   WORK       scratch directory (default Benchmarks/results/frontend, git-ignored)
#   OUT        Markdown result (default docs/benchmarks.md, section `frontend`)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GUESTS=${GUESTS:-"1000 5000 18000"}
TYPES=${TYPES:-"10000 20000 40000 80000"}
CONTEXTS=${CONTEXTS:-"10000 20000 40000"}
RUNS=${RUNS:-5}
XSMBENCH=${XSMBENCH:-.build/release/xsmbench}
XSMGEN=${XSMGEN:-.build/release/xsmgen}
FLASK_DIR=${FLASK_DIR:-policy/flask}
TREE=${TREE-policy}
WORK=${WORK:-Benchmarks/results/frontend}
OUT=${OUT:-docs/benchmarks.md}

die() { echo "frontend.sh: $*" >&2; exit 2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
for n in $GUESTS $TYPES $CONTEXTS; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad size '$n'"; done
command -v checkpolicy >/dev/null || die "checkpolicy not found (apt-get install checkpolicy)"
if [[ ! -x $XSMBENCH || ! -x $XSMGEN ]]; then
  echo "building xsmbench and xsmgen (swift build -c release)..." >&2
  swift build -c release --product xsmbench >&2
  swift build -c release --product xsmgen >&2
  bin="$(swift build -c release --show-bin-path)"
  XSMBENCH="$bin/xsmbench"
  XSMGEN="$bin/xsmgen"
fi
mkdir -p "$WORK" "$(dirname "$OUT")"

# passes LOG INPUT [--mls]: runs the front end once on INPUT and appends "expand parse resolve"
# (seconds, 0 for a pass that did not run) to LOG.
passes() {
  "$XSMBENCH" frontend ${3:-} "$2" >"$WORK/last.tsv" 2>"$WORK/last.err" \
    || die "xsmbench frontend $2 failed: $(head -c 300 "$WORK/last.err")"
  awk -F'\t' '{ t[$3] = $4 } END { printf "%s %s %s\n", t["expand"] + 0, t["parse"] + 0, t["resolve"] + 0 }' \
    "$WORK/last.tsv" >>"$1"
}

# measure LABEL INPUT [checkpolicy|--mls]: RUNS rounds on INPUT; front-end passes go to
# $WORK/fe.LABEL, checkpolicy's wall seconds (when asked for) to $WORK/cp.LABEL.
measure() {
  local label=$1 input=$2 checkpolicy="" mls="" r start
  [[ ${3:-} == checkpolicy ]] && checkpolicy=1
  [[ ${3:-} == --mls ]] && mls=--mls
  : >"$WORK/fe.$label"; : >"$WORK/cp.$label"
  for ((r = 1; r <= RUNS; r++)); do
    echo "$label run $r/$RUNS" >&2
    if [[ -n $checkpolicy ]]; then
      start=$EPOCHREALTIME
      checkpolicy -t Xen -c 30 -o "$WORK/cp.bin" "$input" >"$WORK/last.log" 2>&1 \
        || die "checkpolicy $input failed: $(head -c 300 "$WORK/last.log")"
      awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", e - s }' >>"$WORK/cp.$label"
    fi
    passes "$WORK/fe.$label" "$input" $mls
  done
}

# median COLUMN FILE
median() {
  sort -g -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fmt() { awk -v x="$1" 'BEGIN { printf (x < 1 ? "%.3f" : "%.2f"), x }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "–"; else printf "%.2f", a / b }'; }

# Table 1: generated policies by guests.
GUEST_ROWS=()
for n in $GUESTS; do
  conf="$WORK/g$n.conf"
  "$XSMGEN" --guests "$n" --seed 1 --flask-dir "$FLASK_DIR" -o "$conf"
  types=$(sed -n 's/.* types: \([0-9]*\),.*/\1/p' "$conf" | head -1)
  kb=$(( $(wc -c <"$conf") / 1024 ))
  measure "g$n" "$conf" checkpolicy
  p=$(median 2 "$WORK/fe.g$n"); r=$(median 3 "$WORK/fe.g$n"); c=$(median 1 "$WORK/cp.g$n")
  GUEST_ROWS+=("| $n | $types | $kb | $(fmt "$p") | $(fmt "$r") | $(fmt "$(sum "$p" "$r")") | $(fmt "$c") | $(ratio "$(sum "$p" "$r")" "$c") |")
done

# growth_row N KB LABEL: sets ROW to a table row of N, KB, the medians of $WORK/fe.LABEL and
# their ratios to the row before (kept in $previous; not a subshell, so it carries over).
growth_row() {
  local p r front growth pp pr pf
  p=$(median 2 "$WORK/fe.$3"); r=$(median 3 "$WORK/fe.$3")
  front=$(sum "$p" "$r")
  if [[ -n $previous ]]; then
    read -r pp pr pf <<<"$previous"
    growth="$(ratio "$p" "$pp") | $(ratio "$r" "$pr") | $(ratio "$front" "$pf")"
  else
    growth="– | – | –"
  fi
  previous="$p $r $front"
  ROW="| $1 | $2 | $(fmt "$p") | $(fmt "$r") | $(fmt "$front") | $growth |"
}

# Table 2: growth with the number of types.
base="$WORK/base.conf"
"$XSMGEN" --guests 1 --seed 1 --flask-dir "$FLASK_DIR" -o "$base"
TYPE_ROWS=()
previous=""
for n in $TYPES; do
  conf="$WORK/t$n.conf"
  # N guest types with two rules each, declared before the assertions.
  awk -v n="$n" '/^# Assertions/ && !done {
      for (i = 0; i < n; i++) {
        printf "type s%d_t, domain_type, guest_type;\n", i
        printf "allow s%d_t self:grant { query setup };\n", i
        printf "allow s%d_t xen_t:version xen_pagesize;\n", i
      }
      done = 1
    } { print }' "$base" >"$conf"
  kb=$(( $(wc -c <"$conf") / 1024 ))
  measure "t$n" "$conf"
  growth_row "$n" "$kb" "t$n"
  TYPE_ROWS+=("$ROW")
done

# Table 3: MLS contexts with level ranges (each range splits into pieces as it is parsed).
CONTEXT_ROWS=()
previous=""
for n in $CONTEXTS; do
  conf="$WORK/m$n.conf"
  {
    printf 'class xen\nsid xen\nclass xen { settime }\nsensitivity s0;\nsensitivity s1;\ndominance { s0 s1 }\n'
    printf 'category c%d;\n' 0 1 2 3
    printf 'level s0:c0.c3;\nlevel s1:c0.c3;\nmlsconstrain xen settime l1 dom l2;\ntype xen_t;\n'
    printf 'role system_r types xen_t;\nuser system_u roles system_r level s0 range s0-s1:c0.c3;\n'
    printf 'sid xen system_u:system_r:xen_t:s0-s1:c0.c3\n'
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "pirqcon %d system_u:system_r:xen_t:s0:c0,c2-s1:c0.c3\n", i }'
  } >"$conf"
  kb=$(( $(wc -c <"$conf") / 1024 ))
  measure "m$n" "$conf" --mls
  growth_row "$n" "$kb" "m$n"
  CONTEXT_ROWS+=("$ROW")
done

# Table 4: the project's tree.
TREE_ROW=""
if [[ -n $TREE ]]; then
  measure tree "$TREE"
  e=$(median 1 "$WORK/fe.tree"); p=$(median 2 "$WORK/fe.tree"); r=$(median 3 "$WORK/fe.tree")
  TREE_ROW="| \`$TREE\` | $(fmt "$e") | $(fmt "$p") | $(fmt "$r") |"
fi

{
  echo "## Front-end passes"
  echo
  echo "Generated by \`Benchmarks/frontend.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, RUNS=$RUNS."
  echo "Seconds, median of $RUNS runs, measured in process by \`xsmbench frontend FILE\` (the front end"
  echo "without lowering or libsepol): parse = lexing and parsing, resolve = declare, resolve and check,"
  echo "expand = m4 and the macro index (trees only). The machine is shared and noisy."
  echo
  echo "Generated policies (\`xsmgen --guests N --seed 1\`), beside checkpolicy's whole compile of the same file:"
  echo
  echo "| guests | types | policy.conf KB | parse | resolve | parse+resolve | checkpolicy wall | parse+resolve / checkpolicy |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${GUEST_ROWS[@]}"
  echo
  echo "Growth with the number of types (xsmgen's one-guest policy plus N guest types with two allow"
  echo "rules each); the × columns divide by the row before, so linear growth shows about 2.0:"
  echo
  echo "| types | policy.conf KB | parse | resolve | parse+resolve | parse × | resolve × | parse+resolve × |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${TYPE_ROWS[@]}"
  echo
  echo "Growth with the number of MLS contexts (\`pirqcon I system_u:system_r:xen_t:s0:c0,c2-s1:c0.c3\`,"
  echo "built with \`--mls\`):"
  echo
  echo "| contexts | policy.conf KB | parse | resolve | parse+resolve | parse × | resolve × | parse+resolve × |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${CONTEXT_ROWS[@]}"
  if [[ -n $TREE_ROW ]]; then
    echo
    echo "Policy tree:"
    echo
    echo "| tree | expand | parse | resolve |"
    echo "|---|---:|---:|---:|"
    echo "$TREE_ROW"
  fi
} | "$(dirname "$0")/replace-section.sh" frontend "$OUT"
sed -n '/<!-- frontend:begin -->/,/<!-- frontend:end -->/p' "$OUT"
