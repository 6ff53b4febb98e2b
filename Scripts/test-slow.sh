#!/usr/bin/env bash
# The opt-in slow job: every test, with the large sweeps the default suite
# keeps small (generated policies of 100 and 1000 guests in both differential
# suites, the full reload stress count). XSM_SLOW_TESTS=1 turns them on;
# arguments go to `swift test` (e.g. --filter Differential). With
# XSM_FUZZ_SECONDS=N it then fuzzes the front end for N seconds
# (Scripts/fuzz.sh; a crash fails the job).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build --build-tests
mkdir -p .build
XSM_SLOW_TESTS=1 swift test --skip-build "$@" 2>&1 | tee .build/test-slow-output.txt
if [ -n "${XSM_FUZZ_SECONDS:-}" ]; then
  Scripts/fuzz.sh "$XSM_FUZZ_SECONDS"
fi
