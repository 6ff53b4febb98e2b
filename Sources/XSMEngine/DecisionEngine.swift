import XSMCatalog

/// Decides (caller, op, target[, objects]) under dummy, silo and flask
/// exactly as Xen's modules do, from the op catalog and the host.
///
/// How the catalog's parties map to the question: `current` is the caller;
/// the op's other domain (`target`, `granter`, `remote`, `dest`, `client`,
/// `pg_owner`, ...) is the target; the third domain of two-domain ops
/// (`dm` of `domctl.set_target`, `owner` of `evtchn.alloc_unbound`,
/// `source` of `grant.copy`, `parent`) is `objects.domain`, else the caller
/// (Xen's `DOMID_SELF`). Device labels come from the policy's ocontexts for
/// the device named in `objects`, else the initial SID of unlabelled devices.
public struct DecisionEngine: Sendable {
  public let host: XenHost

  public init(host: XenHost) { self.host = host }

  /// Endpoints that stand for the third domain of a call.
  static let thirdParty: Set<String> = ["dm", "owner", "source", "parent"]

  /// The decision under `module` (the host's own when nil).
  public func decide(caller: HostDomain, op: Op, target: HostDomain?, module: XSMModule? = nil,
    objects: QueryObjects = QueryObjects()) -> Decision
  {
    decide(caller: caller, op: op, target: target, module: module, objects: objects, explain: true)
  }

  /// The verdict alone: the same decision without building its trace (for matrices).
  public func verdict(caller: HostDomain, op: Op, target: HostDomain?, module: XSMModule? = nil,
    objects: QueryObjects = QueryObjects()) -> Verdict
  {
    decide(caller: caller, op: op, target: target, module: module, objects: objects, explain: false).verdict
  }

  /// The decision, with its trace only when `explain` is set.
  public func decide(caller: HostDomain, op: Op, target: HostDomain?, module: XSMModule?, objects: QueryObjects,
    explain: Bool) -> Decision
  {
    let module = module ?? host.module
    let third = objects.domain.flatMap { host.domain(domid: $0) } ?? caller
    let call = Call(caller: caller, target: target ?? caller, third: third, objects: objects, explain: explain)

    // Gates Xen applies under every module.
    if op.refusesSelf, let target, target.domid == caller.domid {
      return Decision(module: module, verdict: .invalid, error: "-EPERM",
        trace: explain ? [TraceStep(.fail, "xen", "Xen refuses `\(op.name)` when the caller names itself as the target")] : [])
    }
    if !op.isHooked {
      return Decision(module: module, verdict: .allowed,
        trace: explain ? [TraceStep(.info, "xen", "no XSM hook guards `\(op.name)`; only Xen's own checks apply")] : [])
    }
    switch module {
    case .dummy: return dummy(op, call, module: .dummy, trace: [])
    case .silo: return silo(op, call)
    case .flask: return flask(op, call)
    }
  }

  struct Call {
    var caller: HostDomain
    var target: HostDomain
    var third: HostDomain
    var objects: QueryObjects
    /// Build the trace (text, contexts, rules); off for matrices.
    var explain: Bool
  }

  /// The domain an endpoint names in a call; nil for fixed objects and labels.
  func domain(_ endpoint: Endpoint, _ call: Call) -> HostDomain? {
    guard endpoint.kind == .domain else { return nil }
    if endpoint.isCaller { return call.caller }
    if Self.thirdParty.contains(endpoint.name) { return call.third }
    return call.target
  }

  // MARK: Dummy

  func dummy(_ op: Op, _ call: Call, module: XSMModule, trace initial: [TraceStep]) -> Decision {
    var trace = initial
    for step in op.dummySteps(in: call.objects.situations) {
      let source = domain(step.subject, call) ?? call.caller
      let target = domain(step.object, call)
      if step.action == .enosys {
        if call.explain {
          trace.append(TraceStep(.fail, "dummy", "\(step.description): \(module.rawValue) does not implement this hypercall"))
        }
        return Decision(module: module, verdict: .invalid, error: "-ENOSYS", trace: trace)
      }
      let allowed: Bool
      if call.explain {
        let (result, why) = Self.dummyRule(step.action, source: source, target: target)
        allowed = result
        trace.append(TraceStep(allowed ? .pass : .fail, "dummy", "\(step.description): \(why)"))
      } else {
        allowed = Self.dummyAllows(step.action, source: source, target: target)
      }
      if !allowed { return Decision(module: module, verdict: .denied, error: "-EPERM", trace: trace) }
    }
    return Decision(module: module, verdict: .allowed, trace: trace)
  }

  /// Which clause of dummy.h's `xsm_default_action` decided, in its
  /// fall-through order; nil when none let the caller in.
  enum DummyClause {
    case always, noHook, itself, deviceModel, xenstore, control
  }

  /// `xsm_default_action` of dummy.h. Builds no text: matrices call it millions of times.
  static func dummyClause(_ action: DummyAction, source: HostDomain, target: HostDomain?) -> DummyClause? {
    let isDeviceModel = target.map { source.targetDomid == $0.domid } ?? false
    switch action {
    case .hook, .allow: return .always
    case .none: return .noHook
    case .enosys: return nil
    case .target:
      if let target, target.domid == source.domid { return .itself }
      if isDeviceModel { return .deviceModel }
      return source.isControl ? .control : nil
    case .xsPriv:
      if source.isXenstore { return .xenstore }
      if isDeviceModel { return .deviceModel }
      return source.isControl ? .control : nil
    case .dmPriv:
      if isDeviceModel { return .deviceModel }
      return source.isControl ? .control : nil
    case .priv:
      return source.isControl ? .control : nil
    }
  }

  static func dummyAllows(_ action: DummyAction, source: HostDomain, target: HostDomain?) -> Bool {
    dummyClause(action, source: source, target: target) != nil
  }

  /// `xsm_default_action` with the reason, for traces.
  static func dummyRule(_ action: DummyAction, source: HostDomain, target: HostDomain?) -> (Bool, String) {
    let name = source.label
    switch dummyClause(action, source: source, target: target) {
    case .always?: return (true, "always allowed")
    case .noHook?: return (true, "no hook")
    case .itself?: return (true, "\(name) acts on itself")
    case .deviceModel?: return (true, "\(name) is the device model of \(target!.label)")
    case .xenstore?: return (true, "\(name) is the xenstore domain")
    case .control?: return (true, "\(name) is the control domain")
    case nil:
      switch action {
      case .enosys: return (false, "not implemented")
      case .target: return (false, "\(name) is not the target, its device model or the control domain")
      case .xsPriv:
        return (false, "\(name) is not the xenstore domain, the target's device model or the control domain")
      case .dmPriv: return (false, "\(name) is not the target's device model or the control domain")
      default:
        return (false, "\(name) is not the control domain"
          + (source.isHardware ? " (being the hardware domain does not count)" : ""))
      }
    }
  }

  // MARK: Silo

  func silo(_ op: Op, _ call: Call) -> Decision {
    guard let rule = op.silo else {
      return dummy(op, call, module: .silo,
        trace: call.explain ? [TraceStep(.info, "silo", "silo adds nothing to this hook")] : [])
    }
    let left = domain(rule.left, call) ?? call.caller
    let right = domain(rule.right, call) ?? call.target
    let ok = call.caller.isControl || left.isControl || right.isControl || left.domid == right.domid
    let text = call.explain
      ? "caller, \(rule.left.name) (\(left.label)) or \(rule.right.name) (\(right.label)) is the control domain, or they are the same"
      : ""
    guard ok else {
      return Decision(module: .silo, verdict: .denied, error: "-EPERM",
        trace: call.explain ? [TraceStep(.fail, "silo", "not so: \(text)")] : [])
    }
    return dummy(op, call, module: .silo, trace: call.explain ? [TraceStep(.pass, "silo", text)] : [])
  }

  // MARK: Flask

  func flask(_ op: Op, _ call: Call) -> Decision {
    guard let server = host.server else {
      return Decision(module: .flask, verdict: .invalid, error: "-ENOSYS",
        trace: [TraceStep(.fail, "flask", "the system has no policy")])
    }
    let policy = server.policy
    let enforcing = server.enforcing
    switch op.flask {
    case .unclassified?:
      let allow = !enforcing || policy.handleUnknownAllow
      let why = allow
        ? (enforcing ? "the policy allows unknown permissions" : "flask is permissive")
        : "enforcing, and the policy denies unknown permissions"
      return Decision(module: .flask, verdict: allow ? .allowed : .denied, error: allow ? nil : "-EPERM",
        trace: [TraceStep(allow ? .pass : .fail, "flask", "flask has no case for this op (avc_unknown_permission): \(why)")],
        wouldDeny: allow && !policy.handleUnknownAllow ? ["unclassified op"] : [])
    case .unchecked?:
      return Decision(module: .flask, verdict: .allowed,
        trace: [TraceStep(.info, "flask", "the hook makes no permission check")])
    case nil:
      break
    }
    var trace: [TraceStep] = []
    var wouldDeny: [String] = []
    var denied = false
    for check in op.checks(in: call.objects.situations) {
      guard let subject = sid(of: check.subject, asSubjectOf: nil, call, server),
        let object = sid(of: check.object, asSubjectOf: check.subject, call, server)
      else {
        trace.append(TraceStep(.fail, "flask", "\(check.text): a party has no label"))
        denied = true
        continue
      }
      guard let classValue = policy.classValue(check.securityClass) else {
        trace.append(TraceStep(.fail, "flask", "\(check.text): the policy has no class `\(check.securityClass)`"))
        denied = true
        continue
      }
      let decision = server.computeAV(source: subject, target: object, classValue: classValue)
      if !call.explain {
        for name in check.permissions {
          let concrete = name == "use_*" ? Self.usePermission(call.target.iommu) : name
          guard let bit = policy.permissionBit(classValue: classValue, permission: concrete) else {
            denied = true
            continue
          }
          if decision.allowed & (1 << UInt32(bit)) == 0 {
            if !enforcing || decision.permissive { wouldDeny.append(concrete) } else { denied = true }
          }
        }
        continue
      }
      for name in check.permissions {
        let concrete = name == "use_*" ? Self.usePermission(call.target.iommu) : name
        let text = "\(check.securityClass):\(concrete)"
        let subjectText = server.context(of: subject).map(policy.contextString) ?? "sid \(subject)"
        let objectText = server.context(of: object).map(policy.contextString) ?? "sid \(object)"
        guard let bit = policy.permissionBit(classValue: classValue, permission: concrete) else {
          trace.append(TraceStep(.fail, "flask", "\(text): the class has no such permission",
            subject: subjectText, object: objectText))
          denied = true
          continue
        }
        if decision.allowed & (1 << UInt32(bit)) != 0 {
          let rules = policy.grantingRules(
            source: server.context(of: subject)!, target: server.context(of: object)!, classValue: classValue,
            permissionBit: bit, booleans: server.booleans
          ).map(\.description)
          trace.append(TraceStep(.pass, "flask", "\(text) \(check.subject) -> \(check.object)",
            subject: subjectText, object: objectText, rules: rules))
        } else {
          let constraints = policy.failingConstraints(
            source: server.context(of: subject)!, target: server.context(of: object)!, classValue: classValue,
            permissionBit: bit)
          let why = constraints.isEmpty ? ["no allow rule grants it"] : constraints.map { "removed by \($0)" }
          if !enforcing || decision.permissive {
            wouldDeny.append("\(text) \(subjectText) -> \(objectText)")
            trace.append(TraceStep(.permissive, "flask", "\(text) \(check.subject) -> \(check.object)",
              subject: subjectText, object: objectText, rules: why))
          } else {
            denied = true
            trace.append(TraceStep(.fail, "flask", "\(text) \(check.subject) -> \(check.object)",
              subject: subjectText, object: objectText, rules: why))
          }
        }
      }
    }
    return Decision(module: .flask, verdict: denied ? .denied : .allowed, error: denied ? "-EACCES" : nil,
      trace: trace, wouldDeny: wouldDeny)
  }

  /// `resource:use_*` for the target domain's IOMMU.
  static func usePermission(_ mode: IOMMUMode) -> String {
    switch mode {
    case .intremap: "use_iommu"
    case .nointremap: "use_iommu_nointremap"
    case .none: "use_noiommu"
    }
  }

  /// The SID Xen uses for an endpoint. Objects that are domains are derived
  /// from the subject: its self SID when it names itself, its target SID
  /// when it is the object's device model.
  func sid(of endpoint: Endpoint, asSubjectOf subjectEndpoint: Endpoint?, _ call: Call, _ server: SecurityServer)
    -> UInt32?
  {
    let event = server.policy.classValue("event") ?? 9
    switch endpoint.kind {
    case .domain:
      guard let d = domain(endpoint, call), let plain = d.sid else { return nil }
      guard let subjectEndpoint, !endpoint.raw else { return plain }
      // A channel's checks derive the domain object from the channel's owner:
      // the new port's owner (`channel`), or the remote domain (`remote_channel`).
      let deriving: HostDomain? =
        switch subjectEndpoint.name {
        case "channel": call.third
        case "remote_channel": call.target
        default: domain(subjectEndpoint, call)
        }
      guard let subject = deriving else { return plain }
      if subject.domid == d.domid { return subject.selfSID ?? plain }
      if subject.targetDomid == d.domid { return subject.targetSID ?? plain }
      return plain
    case .fixed:
      let name = String(endpoint.name.dropLast(2))  // xen_t -> xen
      return server.initialSID(named: name)
    case .label:
      switch endpoint.name {
      case "channel":
        // A new port: compute_sid(owner.sid, derived(owner -> remote), event).
        let owner = call.third
        guard let ownerSID = owner.sid else { return nil }
        let remote = derived(from: owner, to: call.target) ?? ownerSID
        return server.computeSID(source: ownerSID, target: remote, classValue: event, kind: .transition)
      case "remote_channel":
        guard let remoteSID = call.target.sid else { return nil }
        let local = derived(from: call.target, to: call.caller) ?? remoteSID
        return server.computeSID(source: remoteSID, target: local, classValue: event, kind: .transition)
      case "new_label":
        return call.target.sid
      default:
        return deviceSID(endpoint.name, call.objects, server)
      }
    }
  }

  private func derived(from subject: HostDomain, to object: HostDomain) -> UInt32? {
    if subject.domid == object.domid { return subject.selfSID }
    if subject.targetDomid == object.domid { return subject.targetSID }
    return object.sid
  }

  /// Device labels from ocontexts, else the initial SID Xen falls back to.
  func deviceSID(_ label: String, _ objects: QueryObjects, _ server: SecurityServer) -> UInt32? {
    let o = server.policy.ocontexts
    let runtime: UInt32? =
      switch label {
      case "irq_label": objects.irq.flatMap { server.runtimeLabel(.pirq, key: UInt64($0)) }
      case "pci_label": objects.pciDevice.flatMap { server.runtimeLabel(.pcidevice, key: UInt64($0)) }
      case "dt_label": objects.deviceTreePath.flatMap { server.runtimeLabel(.devicetree, key: 0, path: $0) }
      case "iomem_label": objects.iomem.flatMap { server.runtimeLabel(.iomem, key: $0) }
      case "ioport_label": objects.ioport.flatMap { server.runtimeLabel(.ioport, key: UInt64($0)) }
      default: nil
      }
    if let runtime { return runtime }
    switch label {
    case "irq_label":
      if let irq = objects.irq, let c = o.pirq[irq] { return server.sid(for: c) }
      return server.initialSID(named: "irq")
    case "pci_label":
      if let sbdf = objects.pciDevice, let c = o.pciDevice[sbdf] { return server.sid(for: c) }
      return server.initialSID(named: "device")
    case "dt_label":
      if let path = objects.deviceTreePath, let c = o.deviceTree[path] { return server.sid(for: c) }
      return server.initialSID(named: "device")
    case "iomem_label":
      if let frame = objects.iomem, let r = o.iomem.first(where: { $0.low <= frame && frame <= $0.high }) {
        return server.sid(for: r.context)
      }
      return server.initialSID(named: "iomem")
    case "ioport_label":
      if let port = objects.ioport, let r = o.ioport.first(where: { $0.low <= port && port <= $0.high }) {
        return server.sid(for: r.context)
      }
      return server.initialSID(named: "ioport")
    default:
      return nil
    }
  }
}
