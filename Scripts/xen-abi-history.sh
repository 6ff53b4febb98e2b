#!/usr/bin/env bash
# Writes data/xen-abi-history.txt: the FLASK classes, permission bits and
# initial SIDs of every Xen release from 4.8 and of Xen's development branch,
# and each rename, removal and addition between consecutive releases with the
# commit that made it. Read from a Xen git repository (a clone or a bare
# mirror); run it again when Xen releases, then `xsmc docs` to refresh what
# the tools embed.
#
#   Scripts/xen-abi-history.sh [XEN_GIT_DIR] > data/xen-abi-history.txt
#
# XEN_GIT_DIR defaults to /work/.mirror/xen-project+xen/repo. The script
# prints facts (names, bit order, commit hashes and subjects); it copies no
# Xen file.
#
# Whether a commit renamed a permission (same bit, new name, same meaning)
# or removed one and added another cannot be told from the files alone, so
# that decision is made by reading the commit and recorded in RENAMES below.
# A commit that drops and adds permissions of one class with no RENAMES or
# NOT_RENAMES entry is reported on stderr so the next person decides.
set -euo pipefail

git_dir=${1:-/work/.mirror/xen-project+xen/repo}
git() { command git --git-dir="$git_dir" "$@"; }
policy=xen/xsm/flask/policy
files=("$policy/access_vectors" "$policy/security_classes" "$policy/initial_sids")
first_release=4.8

# COMMIT CLASS OLD NEW: renames confirmed by reading the commit (its message
# says the permission was renamed and it keeps its bit).
RENAMES='
a58cad2d36 xen2 psr_cat_op psr_alloc
a58cad2d36 domain2 psr_cat_op psr_alloc
76dcdb75b7 xen2 gcov_op coverage_op
6df43b32ab domain2 set_cpuid set_cpu_policy
'

# COMMIT CLASS: commits that drop and add permissions of one class without
# renaming any (checked by reading them), so they are not reported below.
NOT_RENAMES='
'

# CLASS PERMISSION TEXT: what to use instead of a removed permission, in our
# words, from the removing commit's message.
INSTEAD='
hvm pcilevel the operation became a device-model op, checked as `hvm:dm`
hvm irqlevel the operation became a device-model op, checked as `hvm:dm`
hvm pciroute the operation became a device-model op, checked as `hvm:dm`
hvm trackdirtyvram the operation became a device-model op, checked as `hvm:dm`
hvm send_irq the operation became a device-model op, checked as `hvm:dm`
hvm cacheattr the operation became a device-model op, checked as `hvm:dm`
hvm nested the check lost its only caller; nothing replaces it
mmu pagelist the domctl it guarded was removed; nothing replaces it
domain2 set_max_evtchn the limit is now set when the domain is created (`domain:create`)
domain2 set_gnttab_limits the limits are now set when the domain is created (`domain:create`)
xen tmem_op tmem was removed from Xen; nothing replaces it
xen tmem_control tmem was removed from Xen; nothing replaces it
xen2 set_parameter runtime parameters are set through hypfs (`xen:hypfs_op`)
xen privprofile xenoprof was removed from Xen; nothing replaces it
xen nonprivprofile xenoprof was removed from Xen; nothing replaces it
xen2 get_cpu_levelling_caps the sysctl was removed; nothing replaces it
'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The ABI at REV, one line each: `sids NAME...` then `class NAME PERM...` in
# class number order (security_classes), permissions in bit order.
abi() {
  local rev=$1 out="$work/abi-$1"
  if [[ ! -f $out ]]; then
    {
      git show "$rev:$policy/security_classes" | sed 's/#.*//' | awk '$1 == "class" { print "order", $2 }'
      git show "$rev:$policy/access_vectors" | sed 's/#.*//' | tr '{}' '\n\n' | awk '
        $1 == "class" && NF == 2 { current = $2; next }
        NF > 0 && current != "" { for (i = 1; i <= NF; i++) perms[current] = perms[current] " " $i }
        END { for (c in perms) print "perms", c perms[c] }'
      git show "$rev:$policy/initial_sids" | sed 's/#.*//' | awk '$1 == "sid" { s = s " " $2 } END { print "sids" s }'
    } | awk '
      $1 == "order" { order[++n] = $2; next }
      $1 == "perms" { c = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); perms[c] = $0; next }
      { print }
      END { for (i = 1; i <= n; i++) print "class", order[i], perms[order[i]] }' | sed 's/ *$//' >"$out"
  fi
  cat "$out"
}

# What changed from OLD to NEW: `removed CLASS PERM`, `added CLASS PERM`,
# `added-class CLASS`, `removed-class CLASS`, `added-sid SID`, `removed-sid SID`.
changes() {
  awk '
    FNR == 1 { side++ }
    $1 == "class" { cls[side, $2] = 1; for (i = 3; i <= NF; i++) perm[side, $2, $i] = 1; names[$2] = 1; line[side, $2] = $0 }
    $1 == "sids" { for (i = 2; i <= NF; i++) { sid[side, $i] = 1; sids[$i] = 1 } }
    END {
      for (c in names) {
        if (!cls[1, c]) print "added-class", c
        if (!cls[2, c]) print "removed-class", c
        for (s = 1; s <= 2; s++) {
          n = split(line[s, c], w, " ")
          for (i = 3; i <= n; i++) {
            if (s == 1 && cls[2, c] && !perm[2, c, w[i]]) print "removed", c, w[i]
            if (s == 2 && cls[1, c] && !perm[1, c, w[i]]) print "added", c, w[i]
          }
        }
      }
      for (s in sids) {
        if (!sid[1, s]) print "added-sid", s
        if (!sid[2, s]) print "removed-sid", s
      }
    }' <(abi "$1") <(abi "$2") | sort
}

short() { git rev-parse --short=10 "$1"; }
subject() { git log -1 --format=%s "$1"; }

# Releases oldest first as `VERSION REV`; the development branch last.
releases() {
  git tag -l 'RELEASE-4.*.0' | sed 's/^RELEASE-//; s/\.0$//' | sort -V | awk -v first="$first_release" '
    { split($1, v, "."); split(first, f, "."); if (v[1] > f[1] || (v[1] == f[1] && v[2] >= f[2])) print $1, "RELEASE-" $1 ".0" }'
  local makefile version
  makefile=$(git show master:xen/Makefile)
  version=$(awk '/^export XEN_VERSION / { v = $NF } /^export XEN_SUBVERSION / { s = $NF } END { print v "." s }' <<<"$makefile")
  echo "$version-unstable master"
}

cat <<'EOF'
# Xen's FLASK ABI, release by release: the classes, their permissions in bit
# order and the initial SIDs the hypervisor checks a policy against, and what
# changed between consecutive releases, with the Xen commit that changed it.
#
# Generated by Scripts/xen-abi-history.sh from Xen's git history; do not edit
# by hand. After regenerating, run `xsmc docs` to refresh the copy compiled
# into the tools (Sources/XSMPolicy/Resolve/XenABIHistoryData.swift).
#
# One block per release, oldest first:
#   release VERSION TAG COMMIT      VERSION as --xen takes it; TAG is the git tag (master for
#                                   the development branch, VERSION ending in -unstable)
#   sids NAME...                    initial SIDs in number order (SID 1 first)
#   class NAME PERMISSION...        classes in number order (class 1 first),
#                                   permissions in bit order (bit 0 first)
# then what changed since the previous release, each with the commit (short
# hash) and its subject:
#   renamed CLASS OLD NEW COMMIT SUBJECT     same bit, new name
#   removed CLASS PERMISSION COMMIT SUBJECT  later permissions of CLASS move down a bit
#   added CLASS PERMISSION COMMIT SUBJECT
#   added-class CLASS COMMIT SUBJECT / removed-class CLASS COMMIT SUBJECT
#   added-sid NAME COMMIT SUBJECT / removed-sid NAME COMMIT SUBJECT
#   instead CLASS PERMISSION TEXT            what to use instead of a removed permission
EOF

previous=""
while read -r version rev; do
  echo
  echo "release $version $rev $(short "$rev")"
  abi "$rev"
  if [[ -n $previous ]]; then
    net="$work/net"
    changes "$previous" "$rev" >"$net"
    # The commits of the window that touched the ABI, each with its changes.
    : >"$work/events"
    while read -r commit; do
      changes "$commit^" "$commit" | sed "s/^/$(short "$commit") /" >>"$work/events"
    done < <(git log --reverse --topo-order --format=%H "$previous..$rev" -- "${files[@]}")
    # The last commit that made each net change.
    last() { awk -v want="$*" '{ c = $1; $1 = ""; sub(/^ /, ""); if ($0 == want) found = c } END { print found }' "$work/events"; }
    renamed=" "
    while read -r kind a b; do
      if [[ $kind != removed ]]; then continue; fi
      commit=$(last "$kind $a $b")
      new=$(awk -v c="$commit" -v k="$a" -v o="$b" '$1 == c && $2 == k && $3 == o { print $4 }' <<<"$RENAMES")
      if [[ -n $new ]] && grep -qx "added $a $new" "$net"; then
        echo "renamed $a $b $new $commit $(subject "$commit")"
        renamed+="$a.$b $a.$new "
      fi
    done <"$net"
    while read -r kind a b; do
      if [[ -z ${b:-} ]]; then
        commit=$(last "$kind $a")
        echo "$kind $a $commit $(subject "$commit")"
        continue
      fi
      case $kind in
        removed)
          if [[ $renamed == *" $a.$b "* ]]; then continue; fi
          commit=$(last "$kind $a $b")
          echo "removed $a $b $commit $(subject "$commit")"
          ;;
        added)
          if [[ $renamed == *" $a.$b "* ]]; then continue; fi
          commit=$(last "$kind $a $b")
          echo "added $a $b $commit $(subject "$commit")"
          ;;
      esac
    done <"$net"
    awk '$1 == "removed" { print $2, $3 }' "$net" | while read -r class permission; do
      text=$(awk -v k="$class" -v p="$permission" '$1 == k && $2 == p { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' <<<"$INSTEAD")
      if [[ -n $text ]]; then echo "instead $class $permission $text"; fi
    done
    # Same-bit drop and add in one commit with no decision: ask for one.
    awk '$2 == "removed" || $2 == "added" { key = $1 " " $3; if ($2 == "removed") r[key] = r[key] " " $4; else a[key] = a[key] " " $4 }
      END { for (k in r) if (k in a) print k, r[k], "->", a[k] }' "$work/events" | while read -r commit class rest; do
      grep -q "^$commit $class " <<<"$RENAMES" || grep -qx "$commit $class" <<<"$NOT_RENAMES" ||
        echo "xen-abi-history: commit $commit drops and adds in class $class:$rest; record it in RENAMES or NOT_RENAMES" >&2
    done
  fi
  previous=$rev
done < <(releases)
