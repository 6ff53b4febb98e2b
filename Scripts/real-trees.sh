#!/bin/bash
# Builds real policy trees straight from their git checkouts with xsmc, and
# compares with the tree's own Makefile: the m4 text (without #line markers
# and blank lines) must be the same, and sediff must find no rule that differs
# between xsmc's binary and checkpolicy's binary of the Makefile's policy.conf.
#
#   Scripts/real-trees.sh xen GITDIR [REF]        Xen's tools/flask/policy (Makefile.common)
#   Scripts/real-trees.sh refpolicy GITDIR [REF]  a refpolicy-style tree (make policy.conf)
#
# With --fmt first, it checks `xsmc fmt` instead: the tree is formatted, its own
# Makefile builds policy.conf before and after and checkpolicy compiles both;
# the binaries must be identical byte for byte, and formatting again must
# change nothing (docs/fmt.md).
#
# Needs make, m4, checkpolicy and sediff (setools); xsmc from .build/debug or XSMC.
set -euo pipefail
mode=build
if [ "${1:-}" = --fmt ]; then mode=fmt; shift; fi
kind=${1:?usage: $0 [--fmt] xen|refpolicy GITDIR [REF]}
gitdir=${2:?usage: $0 [--fmt] xen|refpolicy GITDIR [REF]}
ref=${3:-HEAD}
xsmc=${XSMC:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/xsmc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$mode" = fmt ]; then
  for side in before after; do
    mkdir -p "$work/$side/src" "$work/$side/out"
    if [ "$kind" = xen ]; then
      git --git-dir="$gitdir" archive "$ref" tools/flask/policy xen/xsm/flask/policy | tar -x -C "$work/$side/src"
    else
      git --git-dir="$gitdir" archive "$ref" | tar -x -C "$work/$side/src"
    fi
  done
  tree=$work/after/src
  [ "$kind" = xen ] && tree=$work/after/src/tools/flask/policy
  "$xsmc" fmt "$tree" 2>"$work/fmt.err" || { cat "$work/fmt.err" >&2; exit 1; }
  "$xsmc" fmt --check "$tree" >/dev/null 2>&1 || { echo "formatting the formatted tree changes it" >&2; exit 1; }
  for side in before after; do
    if [ "$kind" = xen ]; then
      (cd "$work/$side/src/tools/flask/policy" && make -s FLASK_BUILD_DIR="$work/$side/out" XEN_FULLVERSION=x -f Makefile.common >/dev/null)
      conf=$work/$side/out/policy.conf
    else
      (cd "$work/$side/src" && make -s policy.conf >/dev/null)
      conf=$work/$side/src/policy.conf
    fi
    checkpolicy -t Xen -c 30 -o "$work/$side.bin" "$conf" >/dev/null
  done
  files=$(grep -o '[0-9]* of [0-9]* files\? reformatted' "$work/fmt.err" || true)
  warnings=$(grep -c 'warning\[fmt' "$work/fmt.err" || true)
  cmp -s "$work/before.bin" "$work/after.bin" || { echo "fmt $kind $gitdir $ref: $files; BINARIES DIFFER" >&2; exit 1; }
  echo "fmt $kind $gitdir $ref: $files; binaries identical; fmt warnings: $warnings"
  exit 0
fi
mkdir -p "$work/src" "$work/out"
if [ "$kind" = xen ]; then
  git --git-dir="$gitdir" archive "$ref" tools/flask/policy xen/xsm/flask/policy | tar -x -C "$work/src"
  (cd "$work/src/tools/flask/policy" && make -s FLASK_BUILD_DIR="$work/out" XEN_FULLVERSION=x -f Makefile.common >/dev/null)
  reference=$work/out/policy.conf
  tree=$work/src/tools/flask/policy
else
  git --git-dir="$gitdir" archive "$ref" | tar -x -C "$work/src"
  cp -r "$work/src" "$work/make"
  (cd "$work/make" && make -s policy.conf >/dev/null)
  reference=$work/make/policy.conf
  tree=$work/src
fi
content() { grep -v '^#line' "$1" | grep -v '^[[:space:]]*$'; }
"$xsmc" build "$tree" --emit conf -o "$work/xsmc.conf" 2>"$work/xsmc.err"
"$xsmc" build "$tree" -o "$work/xsmc.bin" --quiet 2>>"$work/xsmc.err"
checkpolicy -t Xen -c 30 -o "$work/checkpolicy.bin" "$reference" >/dev/null
text=same
diff -q <(content "$work/xsmc.conf") <(content "$reference") >/dev/null || text=DIFFERENT
rules=$(sediff "$work/xsmc.bin" "$work/checkpolicy.bin" | grep -E '^[A-Z].*Rules|^Booleans|^Roles|^Users|^Constraints' \
  | grep -vc '(0 Added, 0 Removed, 0 Modified)' || true)
echo "$kind $gitdir $ref: m4 text $text; rule categories differing: $rules;" \
  "xsmc warnings: $(grep -c 'warning\[' "$work/xsmc.err" || true)"
[ "$text" = same ] && [ "$rules" = 0 ]
