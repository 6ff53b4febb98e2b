#!/usr/bin/env bash
#
# Shows that the neverallow rules of this policy really constrain it: each
# probe below adds one rule that breaks an intended property to a scratch
# module, and the build must then fail.  A control probe that breaks
# nothing must still build.  Uses build-with-checkpolicy.sh on a temporary
# copy of the tree with the default modules.conf; the tree itself is not
# changed.
#
# usage: check-neverallows.sh     (exit 0: every probe behaved as expected)
#
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$here" "$tmp/policy"
echo "zz_probe = on" >> "$tmp/policy/modules.conf"
touch "$tmp/policy/modules/zz_probe.if"

# property | rule that breaks it
probes=(
	"dom0 may not map protected memory|allow dom0_t prot_domU_t:mmu map_read;"
	"nor may a device model|allow dm_dom_t prot_domU_t:mmu map_write;"
	"not even behind a boolean|if (prot_doms_locked) { allow dom0_t prot_domU_t:mmu map_read; }"
	"no resource pages of protected guests|allow dom0_t prot_domU_t:domain2 resource_map;"
	"no debugger on protected guests|allow dom0_t prot_domU_t:domain setdebugging;"
	"protected guests stay protected|allow dom0_t prot_domU_t:domain2 relabelfrom;"
	"no CPU state of nomigrate guests|allow dom0_t nomigrate_t:hvm gethvmc;"
	"no log-dirty on nomigrate guests|allow dom0_t nomigrate_t:shadow logdirty;"
	"no page types of nomigrate guests|allow dom0_t nomigrate_t:mmu pageinfo;"
	"nomigrate guests stay nomigrate|allow dom0_t nomigrate_t:domain2 relabelfrom;"
	"isolated guest: no foreign grant maps|allow nic_dev_t isolated_domU_t:grant map_read;"
	"isolated guest: no Argo to others|allow isolated_domU_t nic_dev_t:argo send;"
	"isolated guest: no new channel types|type probe_chan, event_type; type_transition isolated_domU_t nic_dev_t:event probe_chan; allow isolated_domU_t probe_chan:event create;"
	"isolated guest: own channels bind to TCB only|allow isolated_domU_dom0_chan nic_dev_t:event bind;"
	"isolated guest: foreign channels never bind to it|allow nic_dev_domU_chan isolated_domU_t:event bind;"
	"only the driver domain uses the NIC registers|allow domU_t nic_mmio_t:resource use_iommu;"
	"only boot and toolstack create domains|allow domU_t domU_t:domain create;"
	"domains are created under domain labels only|allow dom0_t unlabeled_t:domain create;"
	"no domain relabels itself|allow dom0_t self:domain2 relabelself;"
	"resources used through resource labels only|allow dom0_t domxen_t:resource use;"
	"ports only under channel labels|allow domU_t unlabeled_t:event send;"
	"bind only from channels|allow domU_t dom0_t:event bind;"
	"policy changes stay in the TCB|allow nic_dev_t security_t:security load_policy;"
	"no grant transfer|allow dom0_t domU_t:grant transfer;"
)

status=0
run() {
	printf '%s\n' "$1" > "$tmp/policy/modules/zz_probe.te"
	"$tmp/policy/build-with-checkpolicy.sh" -o "$tmp/probe.bin" > "$tmp/log" 2>&1
}

if run "allow dom0_t domU_t:mmu map_read;"; then
	echo "ok    control probe builds"
else
	echo "FAIL  control probe does not build:"; cat "$tmp/log"; status=1
fi

for p in "${probes[@]}"; do
	what=${p%%|*}
	rule=${p#*|}
	if run "$rule"; then
		echo "FAIL  $what: not caught: $rule"
		status=1
	else
		where=$(grep -o 'neverallow on line [0-9]* of [^ ]*' "$tmp/log" | head -n 1 || true)
		echo "ok    $what (${where:-build failed})"
	fi
done
exit $status
