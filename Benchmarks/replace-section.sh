#!/usr/bin/env bash
# replace-section.sh NAME FILE: replaces the part of FILE between the lines
# `<!-- NAME:begin -->` and `<!-- NAME:end -->` with standard input (adding
# the section at the end when FILE has none), so each benchmark script owns
# one section of docs/benchmarks.md and leaves the others alone.
set -euo pipefail
name=$1
file=$2
body=$(mktemp)
cat >"$body"
touch "$file"
python3 - "$name" "$file" "$body" <<'PY'
import sys
name, path, body_path = sys.argv[1:]
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = open(path).read()
body = open(body_path).read().rstrip("\n")
block = f"{begin}\n{body}\n{end}"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + block + tail
else:
    text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
open(path + ".tmp", "w").write(text)
PY
mv "$file.tmp" "$file"
rm -f "$body"
