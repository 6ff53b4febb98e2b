import XSMCatalog
import XSMDiagnostics

extension XenHost {
  /// Warnings for device-model relations the host's policy would not have
  /// let the toolstack make: `XEN_DOMCTL_set_target` asked by the first
  /// control domain, decided under flask (xen/xsm/flask/hooks.c
  /// flask_set_target: domain2:make_priv_for, domain2:set_as_target,
  /// domain:set_target). The relation stays; the answers about it may
  /// describe a host Xen could not have built.
  func targetRelationWarnings() -> [Diagnostic] {
    guard server != nil, let toolstack = domains.first(where: \.isControl),
      let op = catalog.op(named: "domctl.set_target")
        ?? EmbeddedCatalog.loadSubset(names: ["domctl.set_target"])?.op(named: "domctl.set_target")
    else { return [] }
    var warnings: [Diagnostic] = []
    for dm in domains {
      guard let targetDomid = dm.targetDomid, let target = domain(domid: targetDomid) else { continue }
      // Asked as the toolstack asked it, before the relation existed.
      var before = dm
      before.targetDomid = nil
      before.targetSID = nil
      let unlinked = updated(domains: domains.map { $0.domid == dm.domid ? before : $0 })
      let objects = QueryObjects(parties: ["dm": dm.domid, "target": target.domid])
      let decision = DecisionEngine(host: unlinked).decide(caller: toolstack, op: op, target: before, module: .flask,
        objects: objects)
      // Only the policy's refusals: Xen's own (a PV target) have their warning from the system file.
      guard decision.verdict == .denied else { continue }
      let refused = decision.trace.filter { $0.outcome == .fail }.map(\.text).joined(separator: "; ")
      let span = spec.domains.first { $0.domid == dm.domid }?.spans["target"]
      warnings.append(Diagnostic(.system.targetRefused, .warning,
        "the policy would not let \(toolstack.label) make \(dm.label) the device model of \(target.label): \(refused)",
        span: span, help: "XEN_DOMCTL_set_target fails with \(decision.error ?? "an error") under flask; answers about this pair describe a host Xen could not build"))
    }
    return warnings
  }
}
