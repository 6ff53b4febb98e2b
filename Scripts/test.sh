#!/usr/bin/env bash
# The test command: set up the machine, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt
