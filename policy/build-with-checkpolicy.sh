#!/usr/bin/env bash
#
# Build this policy the way Xen's tools/flask/policy Makefile does: expand
# the sources with m4 in the documented order, then compile with checkpolicy.
#
# usage: build-with-checkpolicy.sh [--mls] [-o OUT] [--conf CONF] [--version N]
#
#   --mls        build the MLS variant (m4 -D enable_mls, checkpolicy -M)
#   -o OUT       binary policy to write (default: xenpolicy-VERSION[-mls]
#                in the current directory)
#   --conf CONF  also keep the expanded policy.conf at CONF
#   --version N  policy version (default 30; Xen accepts 24 and 30)
#
# Prints the m4 file list on stderr when XSM_VERBOSE is set.
#
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mls=0
out=
conf=
version=30

usage() { sed -n '5,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--mls) mls=1 ;;
	-o) [ $# -ge 2 ] || usage; out=$2; shift ;;
	--conf) [ $# -ge 2 ] || usage; conf=$2; shift ;;
	--version) [ $# -ge 2 ] || usage; version=$2; shift ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done

if [ -z "$out" ]; then
	out="xenpolicy-$version"
	[ "$mls" = 1 ] && out="$out-mls"
fi
# Relative paths are taken from where the script was called, not from the
# policy directory it changes into.
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
case "$conf" in ''|/*) ;; *) conf="$PWD/$conf" ;; esac

cd "$here"

# Enabled modules, in modules.conf order.
modules=()
while IFS= read -r line; do
	line=${line%%#*}
	[[ "$line" =~ ^[[:space:]]*([A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*(on|off)[[:space:]]*$ ]] || {
		[[ "$line" =~ ^[[:space:]]*$ ]] && continue
		echo "modules.conf: cannot parse: $line" >&2
		exit 1
	}
	[ "${BASH_REMATCH[2]}" = on ] && modules+=("${BASH_REMATCH[1]}")
done < modules.conf

# The files of the enabled modules with the given suffix, where they exist.
module_files() {
	local m
	for m in "${modules[@]}"; do
		[ -f "modules/$m.$1" ] && printf '%s\n' "modules/$m.$1"
	done
	return 0
}

for m in "${modules[@]}"; do
	[ -f "modules/$m.te" ] || { echo "modules.conf: module $m has no modules/$m.te" >&2; exit 1; }
done

files=(flask/security_classes security_classes flask/initial_sids
	flask/access_vectors access_vectors support/*.spt mls)
mapfile -t -O ${#files[@]} files < <(module_files if)
files+=(global_tunables)
mapfile -t -O ${#files[@]} files < <(module_files te)
files+=(users)
mapfile -t -O ${#files[@]} files < <(module_files cons)
files+=(initial_sids device_contexts)

[ -n "${XSM_VERBOSE:-}" ] && echo "m4 files: ${files[*]}" >&2

m4flags=(-D self_contained_policy -s -D mls_num_sens=16 -D mls_num_cats=256)
cpflags=(-t Xen -c "$version")
if [ "$mls" = 1 ]; then
	m4flags=(-D enable_mls "${m4flags[@]}")
	cpflags=(-M "${cpflags[@]}")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

m4 "${m4flags[@]}" "${files[@]}" > "$tmp/policy.conf"
[ -n "$conf" ] && cp "$tmp/policy.conf" "$conf"
checkpolicy "${cpflags[@]}" -o "$tmp/policy.bin" "$tmp/policy.conf"
mv "$tmp/policy.bin" "$out"
