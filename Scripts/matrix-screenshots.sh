#!/usr/bin/env bash
# Screenshots of `xsmq matrix --format html --all-modules` and of
# `xsmq diff --format html` in headless Chromium (Debian's `chromium`
# package), for the embedded default host and for a generated 50-domain host,
# written to docs/images/ (or $1). Prints the page sizes. Views: one op's
# grids (#op=...) on both hosts and one family's caller × op summary
# (#family=...) on the default host; the diff of the project's policy against
# a copy without `toolstack_manages(dom0_t, domU_t)` on the default host
# (#op=...), and of the 50-domain host with `prot_doms_locked = true` against
# the same host unlocked (#family=...). Each diff view is also dumped as the
# browser drew it and checked for the lost or gained cells it must show. The
# README shows them.
#
#   Scripts/matrix-screenshots.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images}
mkdir -p "$out"
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "matrix-screenshots: no chromium on PATH (apt-get install chromium)" >&2; exit 1; }
swift build --product xsmq >/dev/null
xsmq=.build/debug/xsmq
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A 50-domain host of the project policy: dom0, xenstore, a NIC driver
# domain, then tenants' guests; every third HVM guest gets a stub device model.
{
  printf 'name = "fifty"\nmodule = "flask"\npolicy = "embedded"\nenforcing = true\nmls = false\n'
  printf '\n[[domain]]\ndomid = 0\nname = "dom0"\nkind = "pv"\ncontext = "system_u:system_r:dom0_t"\nflags = ["control", "hardware"]\n'
  printf '\n[[domain]]\ndomid = 1\nname = "xenstore"\nkind = "pvh"\ncontext = "system_u:system_r:xenstore_t"\nflags = ["xenstore"]\n'
  printf '\n[[domain]]\ndomid = 2\nname = "netdrv"\nkind = "pv"\ncontext = "system_u:system_r:nic_dev_t"\niommu = "intremap"\n'
  domid=3
  guest=1
  while [ "$domid" -lt 50 ]; do
    user=$(( (guest - 1) % 3 + 1 ))
    case $(( guest % 6 )) in
      0) type=isolated_domU_t kind=pvh ;;
      1) type=domU_t kind=hvm ;;
      2) type=domU_t kind=pv ;;
      3) type=prot_domU_t kind=hvm ;;
      4) type=domU_t kind=hvm ;;
      5) type=nomigrate_t kind=pv user=0 ;;
    esac
    role=vm_r; who=user_$user
    [ "$user" = 0 ] && { role=system_r; who=system_u; }
    printf '\n[[domain]]\ndomid = %d\nname = "vm%d"\nkind = "%s"\ncontext = "%s:%s:%s"\n' "$domid" "$guest" "$kind" "$who" "$role" "$type"
    domid=$((domid + 1))
    if [ "$kind" = hvm ] && [ "$type" = domU_t ] && [ $(( guest % 3 )) = 1 ] && [ "$domid" -lt 50 ]; then
      printf '\n[[domain]]\ndomid = %d\nname = "vm%d-dm"\nkind = "pv"\ncontext = "%s:vm_r:dm_dom_t"\ntarget = "vm%d"\n' "$domid" "$guest" "$who" "$guest"
      domid=$((domid + 1))
    fi
    guest=$((guest + 1))
  done
} >"$work/fifty.toml"

shot() { # PAGE FRAGMENT PNG WIDTH HEIGHT
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=3000 --screenshot="$3" \
    --window-size="$4,$5" "file://$1#$2" >/dev/null 2>&1
  echo "$3: $(wc -c <"$3") bytes"
}
for host in default fifty; do
  page=$work/$host.html
  if [ "$host" = default ]; then
    "$xsmq" matrix --all-modules --format html -o "$page"
  else
    "$xsmq" matrix --system "$work/fifty.toml" --all-modules --format html -o "$page"
  fi
  echo "$host: $(wc -c <"$page") bytes of HTML"
  shot "$(realpath "$page")" "op=dm.set_pci_intx_level" "$out/matrix-$host-op.png" 1400 1000
  if [ "$host" = default ]; then
    shot "$(realpath "$page")" "family=evtchn" "$out/matrix-$host-family.png" 1400 800
  fi
done

# The diffs: a module's macro call removed (dom0 loses ops on domU_t guests),
# and a boolean switched back off on the 50-domain host (dom0 gains ops on
# prot_domU_t guests).
root=$PWD
cp -r policy "$work/policy"
cp -r policy "$work/policy-new"
sed -i '/^toolstack_manages(dom0_t, domU_t)$/d' "$work/policy-new/modules/domU.te"
sed 's/^mls = false$/mls = false\n\n[booleans]\nprot_doms_locked = true/' "$work/fifty.toml" >"$work/fifty-locked.toml"
grep -q '^prot_doms_locked = true$' "$work/fifty-locked.toml"
check() { # PAGE FRAGMENT CELL-CLASS: the view as Chromium draws it has such cells
  local cells
  cells=$("$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --dump-dom \
    "file://$1#$2" 2>/dev/null | grep -o "<td class=\"$3[ \"]" | wc -l)
  [ "$cells" -gt 0 ] || { echo "matrix-screenshots: $1#$2 shows no $3 cells" >&2; exit 1; }
  echo "$(basename "$1")#$2: $cells $3 cells drawn"
}
status=0
(cd "$work" && "$root/$xsmq" diff policy policy-new --format html -o diff-default.html) || status=$?
[ "$status" = 1 ] || { echo "matrix-screenshots: xsmq diff exited $status, not 1 (differences)" >&2; exit 1; }
status=0
(cd "$work" && "$root/$xsmq" diff --systems fifty-locked.toml fifty.toml --format html -o diff-fifty.html) || status=$?
[ "$status" = 1 ] || { echo "matrix-screenshots: xsmq diff --systems exited $status, not 1" >&2; exit 1; }
for host in default fifty; do
  echo "diff on $host: $(wc -c <"$work/diff-$host.html") bytes of HTML"
done
check "$(realpath "$work/diff-default.html")" "op=domctl.pausedomain" ls
shot "$(realpath "$work/diff-default.html")" "op=domctl.pausedomain" "$out/diff-default-op.png" 1400 1200
check "$(realpath "$work/diff-fifty.html")" "family=domctl" "gn k"
shot "$(realpath "$work/diff-fifty.html")" "family=domctl" "$out/diff-fifty-family.png" 1400 1100
