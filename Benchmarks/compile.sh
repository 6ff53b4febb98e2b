#!/usr/bin/env bash
# Compile-time benchmark: xsmc vs checkpolicy and secilc on generated Xen policies.
#
# For each size N (guest domains) the policy is generated with xsmgen, then RUNS rounds are
# made; in every round the three compilers run one after the other (interleaved, so drift and
# noise from neighbours hit all of them alike):
#   checkpolicy  checkpolicy -t Xen -c 30 -o X.bin FILE
#   secilc       secilc --target=xen --policyvers=30 -o X.bin FILE.cil
#                (FILE.cil from `xsmc build FILE --emit cil`; from `checkpolicy -C` while xsmc
#                cannot emit CIL -- the table says which)
#   xsmc         xsmc build FILE -o X.bin --json   (the JSON's per-pass `timings` give the breakdown)
# Wall time and peak RSS of each run are taken with GNU time (`/usr/bin/time -f '%e %M'`); the wall
# time is also taken with bash's microsecond clock around the same call, and that finer value is
# the one reported. The table gives the median of RUNS runs and the xsmc/checkpolicy ratios, and a
# second table the median time of each xsmc pass (parse, resolve, policydb, write; expand for trees).
# A last row times a Xen-sized policy (XEN_POLICY, expanded to one policy.conf first) the same way,
# process start included.
# A second table shows growth with the number of types: xsmgen's one-guest policy with T more types
# (`type sN_t, domain_type, scale_type;`) and 2T allow rules between them, checkpolicy and xsmc
# interleaved, SCALE_RUNS runs each.
#
# Environment:
#   SIZES      guest counts (default "10 100 1000 5000")
#   RUNS       runs per tool and size (default 5)
#   XSMC       xsmc binary (default .build/release/xsmc)
#   XSMGEN     xsmgen binary (default .build/release/xsmgen; built with swift build if missing)
#   FLASK_DIR  hypervisor declarations for xsmgen (default policy/flask)
#   SEED       xsmgen seed (default 1)
#   WORK       scratch directory (default Benchmarks/results/compile, git-ignored)
#   OUT        Markdown result (default docs/benchmarks.md)
#   XEN_POLICY policy tree for the Xen-sized row (default policy; empty to skip)
#   TYPES      type counts of the growth table (default "10000 20000 40000 60000"; empty to skip;
#              above 65,535 types and attributes both compilers refuse the policy: type space overflow)
#   SCALE_RUNS runs per tool and type count (default 3)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZES=${SIZES:-"10 100 1000 5000"}
RUNS=${RUNS:-5}
XSMC=${XSMC:-.build/release/xsmc}
XSMGEN=${XSMGEN:-.build/release/xsmgen}
FLASK_DIR=${FLASK_DIR:-policy/flask}
SEED=${SEED:-1}
WORK=${WORK:-Benchmarks/results/compile}
OUT=${OUT:-docs/benchmarks.md}
XEN_POLICY=${XEN_POLICY-policy}
TYPES=${TYPES-"10000 20000 40000 60000"}
SCALE_RUNS=${SCALE_RUNS:-3}
PASSES="parse resolve policydb write"
GNU_TIME=/usr/bin/time

die() { echo "compile.sh: $*" >&2; exit 2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got '$RUNS')"
for n in $SIZES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad size '$n' in SIZES"; done
for n in $TYPES; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad type count '$n' in TYPES"; done
[[ "$SCALE_RUNS" =~ ^[1-9][0-9]*$ ]] || die "SCALE_RUNS must be a positive integer (got '$SCALE_RUNS')"
command -v checkpolicy >/dev/null || die "checkpolicy not found (apt-get install checkpolicy)"
command -v secilc >/dev/null || die "secilc not found (apt-get install secilc)"
[[ -x $GNU_TIME ]] && $GNU_TIME -f '%e %M' true 2>/dev/null \
  || die "GNU time not found at $GNU_TIME (apt-get install time)"
for f in security_classes initial_sids access_vectors; do
  [[ -r $FLASK_DIR/$f ]] || die "$FLASK_DIR/$f missing (set FLASK_DIR)"
done

if [[ ! -x $XSMGEN ]]; then
  echo "building xsmgen (swift build -c release --product xsmgen)..." >&2
  swift build -c release --product xsmgen >&2
  XSMGEN="$(swift build -c release --show-bin-path)/xsmgen"
fi

XSMC_OK=1
if [[ ! -x $XSMC ]]; then
  XSMC_OK=0
  echo "xsmc: not built ($XSMC); timing checkpolicy and secilc only" >&2
fi

mkdir -p "$WORK" "$(dirname "$OUT")"

# run_timed TOOL_LOG -- CMD...: runs CMD under GNU time; appends "WALL_S RSS_KB" to TOOL_LOG.
# Returns the command's exit status (output of the command goes to $WORK/last.log).
run_timed() {
  local log=$1; shift; shift
  local tf="$WORK/time.out" start end status=0
  start=$EPOCHREALTIME
  $GNU_TIME -f '%e %M' -o "$tf" "$@" >"$WORK/last.log" 2>&1 || status=$?
  end=$EPOCHREALTIME
  if [[ $status -eq 0 ]]; then
    local rss
    rss=$(awk 'END { print $2 }' "$tf")
    awk -v s="$start" -v e="$end" -v m="$rss" 'BEGIN { printf "%.4f %d\n", e - s, m }' >>"$log"
  fi
  return $status
}

# median COLUMN FILE: median of a numeric column (1 = seconds, 2 = KB).
median() {
  sort -g -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c } END {
    if (NR == 0) { print "" ; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

fmt_s()  { awk -v x="$1" 'BEGIN { printf (x < 1 ? "%.3f" : "%.2f"), x }'; }
fmt_mb() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1024 }'; }
ratio()  { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "–"; else printf "%.2f", a / b }'; }

# pass_seconds PASS JSON_FILE: the pass's seconds from `xsmc build --json`'s timings (empty if absent).
pass_seconds() {
  tr -d ' \n' <"$2" | sed -n "s/.*\"timings\":{[^}]*\"$1\":\([0-9.e-]*\).*/\1/p"
}

ROWS=()
PASS_ROWS=()
NOTES=()
CASES="$SIZES"
if [[ -n $XEN_POLICY && $XSMC_OK -eq 1 ]]; then
  if "$XSMC" build "$XEN_POLICY" --emit conf -o "$WORK/xen.conf" >"$WORK/last.log" 2>&1; then
    CASES="$CASES xen"
  else
    NOTES+=("the Xen-sized row is missing: \`xsmc build $XEN_POLICY --emit conf\` failed")
  fi
fi
for n in $CASES; do
  conf="$WORK/g$n.conf"
  if [[ $n == xen ]]; then
    conf="$WORK/xen.conf"
    types=$(grep -c '^type ' "$conf" || true)
  else
    "$XSMGEN" --guests "$n" --seed "$SEED" --flask-dir "$FLASK_DIR" -o "$conf"
    types=$(sed -n 's/.* types: \([0-9]*\),.*/\1/p' "$conf" | head -1)
  fi
  size_kb=$(( $(wc -c <"$conf") / 1024 ))

  # CIL for secilc: xsmc's own, else checkpolicy's.
  cil="$conf.cil"
  cil_src="checkpolicy -C"
  if [[ $XSMC_OK -eq 1 ]] && "$XSMC" build "$conf" --emit cil -o "$cil" >"$WORK/last.log" 2>&1; then
    cil_src="xsmc --emit cil"
  else
    [[ $XSMC_OK -eq 1 ]] && NOTES+=("N=$n: \`xsmc build --emit cil\` failed ($(head -c 200 "$WORK/last.log" | tr '\n' ' ')); secilc ran on checkpolicy -C output.")
    checkpolicy -t Xen -c 30 -C -o "$cil" "$conf" >"$WORK/last.log" 2>&1 \
      || die "checkpolicy -C failed for N=$n: $(cat "$WORK/last.log")"
  fi

  cp_log="$WORK/cp.$n.log"; se_log="$WORK/se.$n.log"; xs_log="$WORK/xs.$n.log"
  : >"$cp_log"; : >"$se_log"; : >"$xs_log"
  for pass in $PASSES; do : >"$WORK/pass.$pass.$n.log"; done
  xs_status="ok"
  [[ $XSMC_OK -eq 1 ]] || xs_status="not built"
  for ((r = 1; r <= RUNS; r++)); do
    echo "N=$n run $r/$RUNS" >&2
    run_timed "$cp_log" -- checkpolicy -t Xen -c 30 -o "$WORK/cp.bin" "$conf" \
      || die "checkpolicy failed for N=$n: $(cat "$WORK/last.log")"
    run_timed "$se_log" -- secilc --target=xen --policyvers=30 -f /dev/null -o "$WORK/se.bin" "$cil" \
      || die "secilc failed for N=$n ($cil_src): $(cat "$WORK/last.log")"
    if [[ $xs_status == ok ]]; then
      if ! run_timed "$xs_log" -- "$XSMC" build "$conf" -o "$WORK/xs.bin" --json; then
        xs_status="failed"
        NOTES+=("N=$n: \`xsmc build\` failed: $(head -c 300 "$WORK/last.log" | tr '\n' ' ')")
      else
        for pass in $PASSES; do
          seconds=$(pass_seconds "$pass" "$WORK/last.log")
          [[ -n $seconds ]] && echo "$seconds" >>"$WORK/pass.$pass.$n.log"
        done
      fi
    fi
  done

  cp_t=$(median 1 "$cp_log"); cp_m=$(median 2 "$cp_log")
  se_t=$(median 1 "$se_log"); se_m=$(median 2 "$se_log")
  if [[ $xs_status == ok ]]; then
    xs_t=$(median 1 "$xs_log"); xs_m=$(median 2 "$xs_log")
    xs_cols="$(fmt_s "$xs_t") | $(fmt_mb "$xs_m") | $(ratio "$xs_t" "$cp_t") | $(ratio "$xs_m" "$cp_m")"
    pass_cols=""
    for pass in $PASSES; do
      p=$(median 1 "$WORK/pass.$pass.$n.log")
      pass_cols+=" $([[ -n $p ]] && fmt_s "$p" || echo "–") |"
    done
    PASS_ROWS+=("| $n |$pass_cols $(fmt_s "$xs_t") | $(fmt_s "$cp_t") |")
  else
    xs_cols="xsmc: $xs_status | – | – | –"
  fi
  ROWS+=("| $n | $types | $size_kb | $(fmt_s "$cp_t") | $(fmt_mb "$cp_m") | $(fmt_s "$se_t") | $(fmt_mb "$se_m") | $(ratio "$se_t" "$cp_t") | $xs_cols | $cil_src |")
done

# scaled_policy BASE T: BASE (a policy.conf) with T types and 2T allow rules added before its first neverallow.
scaled_policy() {
  awk -v n="$2" '
    !done && /^neverallow/ {
      print "attribute scale_type;"
      for (i = 0; i < n; i++) printf "type s%d_t, domain_type, scale_type;\n", i
      for (i = 0; i < n; i++) {
        printf "allow s%d_t s%d_t : domain { getdomaininfo pause };\n", i, (i * 7 + 1) % n
        printf "allow s%d_t dom0_t_channel : event { send };\n", i
      }
      done = 1
    }
    { print }' "$1"
}

SCALE_ROWS=()
if [[ -n $TYPES && $XSMC_OK -eq 1 ]]; then
  "$XSMGEN" --guests 1 --seed "$SEED" --flask-dir "$FLASK_DIR" -o "$WORK/scale-base.conf"
  previous=""
  for t in $TYPES; do
    conf="$WORK/t$t.conf"
    scaled_policy "$WORK/scale-base.conf" "$t" >"$conf"
    size_kb=$(( $(wc -c <"$conf") / 1024 ))
    cp_log="$WORK/cp.t$t.log"; xs_log="$WORK/xs.t$t.log"; pd_log="$WORK/pass.policydb.t$t.log"
    : >"$cp_log"; : >"$xs_log"; : >"$pd_log"
    cp_status="ok"; xs_status="ok"
    for ((r = 1; r <= SCALE_RUNS; r++)); do
      echo "T=$t run $r/$SCALE_RUNS" >&2
      if [[ $cp_status == ok ]] && ! run_timed "$cp_log" -- checkpolicy -t Xen -c 30 -o "$WORK/cp.bin" "$conf"; then
        cp_status="failed"
        NOTES+=("T=$t: checkpolicy failed: $(head -c 300 "$WORK/last.log" | tr '\n' ' ')")
      fi
      if [[ $xs_status == ok ]]; then
        if run_timed "$xs_log" -- "$XSMC" build "$conf" -o "$WORK/xs.bin" --json; then
          seconds=$(pass_seconds policydb "$WORK/last.log")
          [[ -n $seconds ]] && echo "$seconds" >>"$pd_log"
        else
          xs_status="failed"
          NOTES+=("T=$t: \`xsmc build\` failed: $(head -c 300 "$WORK/last.log" | tr '\n' ' ')")
        fi
      fi
    done
    cp_t=$(median 1 "$cp_log"); cp_m=$(median 2 "$cp_log")
    xs_t=$(median 1 "$xs_log"); xs_m=$(median 2 "$xs_log"); pd_t=$(median 1 "$pd_log")
    cp_cols="– | –"; xs_cols="– | – | –"
    [[ -n $cp_t ]] && cp_cols="$(fmt_s "$cp_t") | $(fmt_mb "$cp_m")"
    [[ -n $xs_t ]] && xs_cols="$(fmt_s "$xs_t") | $(fmt_mb "$xs_m") | $([[ -n $pd_t ]] && fmt_s "$pd_t" || echo "–")"
    # Growth against the previous row: time and memory ratios per doubling of the type count.
    growth="–"
    if [[ -n $previous && -n $xs_t ]]; then
      read -r p_types p_t p_m <<<"$previous"
      growth=$(awk -v t="$t" -v pt="$p_types" -v a="$xs_t" -v pa="$p_t" -v m="$xs_m" -v pm="$p_m" \
        'BEGIN { printf "%.2f× / %.2f× for %.1f× types", a / pa, m / pm, t / pt }')
    fi
    [[ -n $xs_t ]] && previous="$t $xs_t $xs_m"
    SCALE_ROWS+=("| $t | $((2 * t)) | $size_kb | $cp_cols | $xs_cols | $(ratio "$xs_t" "$cp_t") | $(ratio "$xs_m" "$cp_m") | $growth |")
  done
fi

{
  echo "## Compile benchmark: xsmc vs checkpolicy and secilc"
  echo
  echo "Generated by \`Benchmarks/compile.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, RUNS=$RUNS, seed $SEED."
  echo "Median of $RUNS interleaved runs per tool and size; wall time in seconds, peak RSS in MB"
  echo "(GNU time \`%M\`). Policies from \`xsmgen --guests N\` (about 3.5 types per guest, rules linear in N)."
  echo "The machine is shared and noisy: compare ratios from this table, not absolute numbers across runs."
  echo
  echo "Tools: $(checkpolicy -V 2>/dev/null | head -1 | sed 's/^/checkpolicy policy version /'); $(dpkg-query -W -f='checkpolicy ${Version}, secilc ' checkpolicy 2>/dev/null)$(dpkg-query -W -f='${Version}' secilc 2>/dev/null); xsmc: $([[ $XSMC_OK -eq 1 ]] && echo "$XSMC" || echo "not built")."
  echo
  echo "| guests | types | policy.conf KB | checkpolicy s | checkpolicy MB | secilc s | secilc MB | secilc/checkpolicy time | xsmc s | xsmc MB | xsmc/checkpolicy time | xsmc/checkpolicy memory | CIL for secilc |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Commands: \`checkpolicy -t Xen -c 30 -o X.bin FILE\`; \`secilc --target=xen --policyvers=30 -o X.bin FILE.cil\`"
  echo "(CIL made once per size, not timed); \`xsmc build FILE -o X.bin --json\`. Ratios below 1 mean xsmc is faster / smaller."
  echo "The \`xen\` row is the project's own policy tree (\`$XEN_POLICY\`) expanded to one policy.conf, so every tool"
  echo "reads the same file; at that size the times are mostly process start."
  echo
  echo "### xsmc passes"
  echo
  echo "Median seconds of each pass as \`xsmc build --json\` reports it (\`timings\`): parse (tokens and"
  echo "statements), resolve (names checked into the policy model), policydb (libsepol's policydb built from the"
  echo "model, neverallows checked), write (the binary and its summary). The rest of xsmc's wall time is process"
  echo "start, reading the file, writing the output and exit."
  echo
  echo "| guests | parse s | resolve s | policydb s | write s | xsmc wall s | checkpolicy wall s |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${PASS_ROWS[@]}"
  if [[ ${#SCALE_ROWS[@]} -gt 0 ]]; then
    echo
    echo "### Growth with the number of types"
    echo
    echo "xsmgen's one-guest policy with T more types (\`type sN_t, domain_type, scale_type;\`) and 2T allow rules"
    echo "between them, added before its first neverallow. Median of $SCALE_RUNS interleaved runs; the policydb column is"
    echo "xsmc's policydb pass. Linear growth shows as about 2× time and memory for 2× types in the last column"
    echo "(memory grows less: it includes the fixed start-up floor). Beyond 65,535 types and attributes (80k added)"
    echo "a binary policy cannot hold the policy: checkpolicy refuses it (libsepol's \"type space overflow\") and so"
    echo "does xsmc, at the declaration that overflows (\`sepol.compile\`)."
    echo
    echo "| types added | rules added | policy.conf KB | checkpolicy s | checkpolicy MB | xsmc s | xsmc MB | xsmc policydb s | xsmc/checkpolicy time | xsmc/checkpolicy memory | xsmc growth (time / memory) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${SCALE_ROWS[@]}"
  fi
  if [[ ${#NOTES[@]} -gt 0 ]]; then
    echo
    echo "Notes:"
    echo
    printf -- '- %s\n' "${NOTES[@]}"
  fi
} | "$(dirname "$0")/replace-section.sh" compile "$OUT"
cat "$OUT"
