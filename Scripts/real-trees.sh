#!/bin/bash
# Builds real policy trees straight from their git checkouts with xsmc, and
# compares with the tree's own Makefile: the m4 text (without #line markers
# and blank lines) must be the same, and sediff must find no rule that differs
# between xsmc's binary and checkpolicy's binary of the Makefile's policy.conf.
#
#   Scripts/real-trees.sh xen GITDIR [REF]        Xen's tools/flask/policy (Makefile.common)
#   Scripts/real-trees.sh refpolicy GITDIR [REF]  a refpolicy-style tree (make policy.conf)
#
# Needs make, m4, checkpolicy and sediff (setools); xsmc from .build/debug or XSMC.
set -euo pipefail
kind=${1:?usage: $0 xen|refpolicy GITDIR [REF]}
gitdir=${2:?usage: $0 xen|refpolicy GITDIR [REF]}
ref=${3:-HEAD}
xsmc=${XSMC:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/xsmc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
