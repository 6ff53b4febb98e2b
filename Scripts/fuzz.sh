#!/usr/bin/env bash
# Opt-in fuzzing of the front end (not part of the default suite): runs
# `xsmbench fuzz` (a seeded mutation fuzzer over Tests/Fuzz/corpus, in
# process: lex, parse, resolve, CIL lowering, libsepol's policydb build) for a
# bounded time. Usage: Scripts/fuzz.sh [SECONDS] [FIRST_SEED] [RUNS]
# (defaults 60 s, seed 1, 1 run; runs are sequential, one core). A run that
# dies (a crash: SIGSEGV, a Swift trap) leaves the input that did it in
# .build/fuzz/crashes/; make it a regression test. Exit status 1 when any did.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
seed=${2:-1}
runs=${3:-1}
out=.build/fuzz
mkdir -p "$out/crashes"
swift build -c release --product xsmbench >&2 || exit 2
bench=$(swift build -c release --show-bin-path)/xsmbench
crashes=0
for ((i = 0; i < runs; i++)); do
  s=$((seed + i))
  if ! "$bench" fuzz --seed "$s" --seconds "$seconds" --output "$out"; then
    crashes=$((crashes + 1))
    if [ -f "$out/current-$s.conf" ]; then
      mv "$out/current-$s.conf" "$out/crashes/seed-$s.conf"
      echo "fuzz: seed $s crashed; input in $out/crashes/seed-$s.conf" >&2
    fi
  fi
done
echo "fuzz: $runs runs, $crashes crashed"
[ "$crashes" -eq 0 ]
