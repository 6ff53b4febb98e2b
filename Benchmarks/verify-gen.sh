#!/usr/bin/env bash
# Checks that xsmgen's policies compile with the reference tools at every benchmark size:
#   xsmgen --guests N           -> gN.conf
#   checkpolicy -t Xen -c 30    -> gN.bin      (also checks every neverallow)
#   checkpolicy -t Xen -c 30 -C -> gN.cil
#   secilc --target=xen -c 30   -> gN.secilc.bin
# and prints one line per size with the wall time (s) and peak RSS (MB) of each step.
# Exit status 1 if any step fails. Same environment variables as compile.sh
# (SIZES, XSMGEN, FLASK_DIR, SEED, WORK).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZES=${SIZES:-"10 100 1000 5000"}
XSMGEN=${XSMGEN:-.build/release/xsmgen}
FLASK_DIR=${FLASK_DIR:-policy/flask}
SEED=${SEED:-1}
WORK=${WORK:-Benchmarks/results/verify}
GNU_TIME=/usr/bin/time

if [[ ! -x $XSMGEN ]]; then
  swift build -c release --product xsmgen >&2
  XSMGEN="$(swift build -c release --show-bin-path)/xsmgen"
fi
mkdir -p "$WORK"

step() {  # step NAME CMD...: prints "NAME s MB", fails loudly
  local name=$1; shift
  if ! $GNU_TIME -f '%e %M' -o "$WORK/time.out" "$@" >"$WORK/step.log" 2>&1; then
    echo "FAILED: $name: $*" >&2
    cat "$WORK/step.log" >&2
    exit 1
  fi
  awk -v n="$name" 'END { printf "  %s %ss %.1fMB", n, $1, $2 / 1024 }' "$WORK/time.out"
}

for n in $SIZES; do
  c="$WORK/g$n.conf"
  printf 'N=%s' "$n"
  step xsmgen "$XSMGEN" --guests "$n" --seed "$SEED" --flask-dir "$FLASK_DIR" -o "$c"
  step checkpolicy checkpolicy -t Xen -c 30 -o "$WORK/g$n.bin" "$c"
  step checkpolicy-C checkpolicy -t Xen -c 30 -C -o "$WORK/g$n.cil" "$c"
  step secilc secilc --target=xen --policyvers=30 -f /dev/null -o "$WORK/g$n.secilc.bin" "$WORK/g$n.cil"
  printf '  (%s)\n' "$(sed -n 's/^# guests: [0-9]*, //p' "$c" | head -1)"
done
