#!/usr/bin/env bash
# Regenerates Sources/xsmc/hot-symbols.txt, the order in which the release link lays out xsmc's code
# (lld's --symbol-ordering-file, see Package.swift).
#
# Why: xsmc links the Swift runtime and Foundation statically, so its text is about 19 MB, and a
# build runs only about 1 MB of it, spread over the whole binary. The kernel maps a file page
# with its neighbours (fault-around, 64 KB), so that 1 MB used to cost about 10 MB of resident
# memory. Placing the functions a build runs next to each other keeps them in few 64 KB windows.
#
# How: the release xsmc (stripped of debug info, which valgrind cannot read) builds a small generated
# policy and the project's policy tree under valgrind's callgrind; every function of xsmc that ran
# is listed, except names defined more than once in the binary (file-local copies such as generic
# specializations: ordering by such a name would pull every copy, and its whole object file, in).
# A stale list is harmless: lld skips names that no longer exist (--no-warn-symbol-ordering); the
# code is only laid out less well. Regenerate after larger changes to the build path.
#
# Environment: XSMC (default .build/release/xsmc), XSMGEN (default .build/release/xsmgen),
# WORK (default Benchmarks/results/hot-symbols), OUT (default Sources/xsmc/hot-symbols.txt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

XSMC=${XSMC:-.build/release/xsmc}
XSMGEN=${XSMGEN:-.build/release/xsmgen}
WORK=${WORK:-Benchmarks/results/hot-symbols}
OUT=${OUT:-Sources/xsmc/hot-symbols.txt}

die() { echo "hot-symbols.sh: $*" >&2; exit 2; }
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
[[ -x $XSMC ]] || die "$XSMC missing (swift build -c release --product xsmc)"
[[ -x $XSMGEN ]] || die "$XSMGEN missing (swift build -c release --product xsmgen)"

mkdir -p "$WORK"
cp "$XSMC" "$WORK/xsmc"
strip --strip-debug "$WORK/xsmc"
"$XSMGEN" --guests 10 --seed 1 --flask-dir policy/flask -o "$WORK/g10.conf"

# run NAME ARGS...: one callgrind profile of the stripped xsmc.
run() {
  local name=$1; shift
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/$name.out" "$WORK/xsmc" "$@" \
    >"$WORK/$name.log" 2>&1 || die "xsmc $* failed under valgrind (see $WORK/$name.log)"
}
run conf build "$WORK/g10.conf" -o "$WORK/g10.bin" --json
run tree build policy -o "$WORK/tree.bin"

nm --defined-only "$WORK/xsmc" >"$WORK/nm.txt"
python3 - "$WORK" "$OUT" <<'EOF'
import collections, re, sys
work, out = sys.argv[1], sys.argv[2]
defined = collections.Counter(line.split()[-1] for line in open(f"{work}/nm.txt") if len(line.split()) >= 3)
ran, seen = [], set()
for profile in ("conf", "tree"):
    objects, functions, current = {}, {}, None
    for line in open(f"{work}/{profile}.out"):
        m = re.match(r"(c?ob)=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3): objects[m.group(2)] = m.group(3).strip()
            if m.group(1) == "ob": current = objects.get(m.group(2))
            continue
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3): functions[m.group(2)] = m.group(3).strip()
            if m.group(1) == "fn" and (current or "").endswith("/xsmc"):
                name = re.sub(r"'\d+$", "", functions[m.group(2)])
                if defined[name] == 1 and name not in seen:
                    seen.add(name)
                    ran.append(name)
with open(out, "w") as f:
    f.write("# Functions a build runs, laid out together by the release link (Benchmarks/hot-symbols.sh).\n")
    f.write("\n".join(ran) + "\n")
print(f"hot-symbols.sh: {len(ran)} functions -> {out}", file=sys.stderr)
EOF
