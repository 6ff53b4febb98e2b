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

  /// The decision under `module` (the host's own when nil). `target` fills
  /// the op's first domain argument; `objects` carries the others by name.
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

  /// The decision, with its trace only when `explain` is set. Xen's order:
  /// the gates before the hook, the hook under the module, the gates after
  /// it; then the refusal is delivered as the op delivers it.
  public func decide(caller: HostDomain, op: Op, target: HostDomain?, module: XSMModule?, objects: QueryObjects,
    explain: Bool) -> Decision
  {
    let module = module ?? host.module
    let call = Call(op: op, caller: caller, target: target, objects: objects, host: host, explain: explain)

    if let missing = Self.unlookedUpMissingParty(op, call) {
      // A domid no domain has, with no gate of the op saying how Xen looks it up: its lookup fails first.
      var refusal = Decision(module: module, verdict: .invalid, error: "-ESRCH",
        trace: explain
          ? [TraceStep(.fail, "xen", "before the hook: no domain dom\(missing.domain.domid) (`\(missing.name)`) -> -ESRCH",
            source: "xen/common/domain.c rcu_lock_domain_by_any_id")] : [])
      refusal.refusedBy = [missing.name]
      return deliver(op, refusal, call)
    }
    let (refusedBefore, passedBefore) = gates(op, .before, call, module: module)
    if let refusal = refusedBefore { return deliver(op, refusal, call) }
    var decision: Decision
    if !op.isHooked {
      decision = Decision(module: module, verdict: .allowed,
        trace: explain ? [TraceStep(.info, "xen", "no XSM hook guards `\(op.name)`; only Xen's own checks apply")] : [])
    } else {
      switch module {
      case .dummy: decision = dummy(op, call, module: .dummy, trace: [])
      case .silo: decision = silo(op, call)
      case .flask: decision = flask(op, call)
      }
    }
    decision.trace = passedBefore + decision.trace
    guard decision.verdict == .allowed else { return deliver(op, decision, call) }
    let (refusedAfter, passedAfter) = gates(op, .after, call, module: module)
    if let refusal = refusedAfter {
      var after = refusal
      after.trace = decision.trace + refusal.trace
      after.wouldDeny = decision.wouldDeny
      return deliver(op, after, call)
    }
    decision.trace += passedAfter
    return deliver(op, decision, call)
  }

  /// The first gate of `stage` that does not hold, as a decision (nil when
  /// all hold), and the trace of the gates that held.
  func gates(_ op: Op, _ stage: OpGate.Stage, _ call: Call, module: XSMModule) -> (Decision?, [TraceStep]) {
    var trace: [TraceStep] = []
    for gate in op.gates where gate.stage == stage {
      if let condition = gate.condition, !condition.holds(in: call.situations) { continue }
      if !gate.modules.isEmpty && !gate.modules.contains(module.rawValue) { continue }
      let (holds, specific) = Self.gateHolds(gate, call)
      if holds && !call.explain { continue }
      var error = specific ?? gate.error
      if let bar = error.firstIndex(of: "|") {
        error = call.caller.isControl ? String(error[..<bar]) : String(error[error.index(after: bar)...])
      }
      if call.explain {
        let why = Self.gateText(gate, call, holds: holds)
        trace.append(TraceStep(holds ? .pass : .fail, "xen", "\(stage == .before ? "before" : "after") the hook: \(why)"
          + (holds ? "" : " -> \(error)"), source: gate.source))
      }
      if !holds && error == "0" {
        // Xen gives up on the call and returns success without asking the hook.
        if call.explain {
          trace.append(TraceStep(.info, "xen", "Xen returns 0 at once; no hook is asked", source: gate.source))
        }
        return (Decision(module: module, verdict: .allowed, trace: trace), [])
      }
      if !holds {
        var refusal = Decision(module: module, verdict: .invalid, error: error, trace: trace)
        refusal.refusedBy = Set(gate.domains)
        return (refusal, [])
      }
    }
    return (nil, trace)
  }

  /// A bound party naming a domid no domain has, when no lookup gate of the
  /// op (under any module) names it: Xen's `rcu_lock_domain_by_any_id` fails
  /// on it with -ESRCH before the hook.
  static func unlookedUpMissingParty(_ op: Op, _ call: Call) -> (name: String, domain: HostDomain)? {
    guard !call.objects.missing.isEmpty else { return nil }
    for party in call.parties where party.domain.missing {
      let looked = op.gates.contains { gate in
        (gate.requirement == .lookup || gate.requirement == .lookupAny) && gate.domains.contains(party.name)
      }
      if !looked { return party }
    }
    return nil
  }

  /// Whether a gate holds for a call, and the error when the gate decides it itself. Builds no text.
  static func gateHolds(_ gate: OpGate, _ call: Call) -> (Bool, String?) {
    let first = gate.domains.first.map { call.party($0) } ?? call.caller
    let name = gate.domains.first ?? "current"
    let passedSelf = !call.objects.domidSelf.isEmpty && call.objects.domidSelf.contains(name)
    switch gate.requirement {
    case .lookup: return (!first.missing && !passedSelf, nil)
    case .lookupAny: return (!first.missing, nil)
    case .foreign: return (first.domid != call.caller.domid || passedSelf, nil)
    case .pvOrHardware: return (!call.caller.kind.isHVM || call.caller.isHardware, nil)
    case .unsupported: return (false, nil)
    case .hvmParamGet, .hvmParamSet:
      let error = hvmParamError(get: gate.requirement == .hvmParamGet, call)
      return (error == nil, error)
    case .notCaller: return (first.domid != call.caller.domid, nil)
    case .caller: return (first.domid == call.caller.domid, nil)
    case .distinct: return (first.domid != call.party(gate.domains[1]).domid, nil)
    case .hvm: return (first.kind.isHVM, nil)
    case .pv: return (!first.kind.isHVM, nil)
    case .translated: return (first.kind.isTranslated, nil)
    case .noTarget: return (first.targetDomid == nil, nil)
    case .otherVCPU: return (call.objects.vcpu != .current, nil)
    case .hardware: return (call.caller.isHardware, nil)
    case .control: return (call.caller.isControl, nil)
    }
  }

  /// Why a gate held or did not, in words, for traces.
  static func gateText(_ gate: OpGate, _ call: Call, holds: Bool) -> String {
    let first = gate.domains.first.map { call.party($0) } ?? call.caller
    let name = gate.domains.first ?? "current"
    let caller = call.caller.label
    switch gate.requirement {
    case .lookup, .lookupAny:
      if first.missing { return "no domain dom\(first.domid) (`\(name)`)" }
      if !holds { return "`\(name)` was passed as DOMID_SELF, which rcu_lock_domain_by_id does not resolve" }
      return "`\(name)` is \(first.label)"
    case .foreign:
      return holds
        ? "`\(name)` is \(call.objects.domidSelf.contains(name) ? "DOMID_SELF" : "another domain")"
        : "`\(name)` names the caller by its own domid instead of DOMID_SELF"
    case .pvOrHardware:
      return holds
        ? "\(caller) is PV or the hardware domain"
        : "\(caller) is \(call.caller.kind.rawValue.uppercased()) and not the hardware domain"
    case .unsupported:
      return "Xen has no implementation of this op here"
    case .hvmParamGet, .hvmParamSet:
      let index = call.objects.numbers["index"].map(String.init) ?? "?"
      let verb = gate.requirement == .hvmParamGet ? "read" : "written"
      return holds
        ? "HVM parameter \(index) may be \(verb) here"
        : "HVM parameter \(index) may not be \(verb) by \(caller) on \(first.label)"
    case .notCaller:
      return holds ? "`\(name)` is not the caller" : "`\(name)` is the caller itself"
    case .caller:
      return holds ? "`\(name)` is the caller itself" : "`\(name)` is \(first.label), not the caller"
    case .distinct:
      return holds
        ? "`\(name)` and `\(gate.domains[1])` differ" : "`\(name)` and `\(gate.domains[1])` are the same domain"
    case .hvm:
      return holds ? "\(first.label) is \(first.kind.rawValue.uppercased())" : "\(first.label) is PV, not HVM or PVH"
    case .pv:
      return holds ? "\(first.label) is PV" : "\(first.label) is \(first.kind.rawValue.uppercased()), not PV"
    case .translated:
      return holds ? "\(first.label) has a translated physmap" : "\(first.label) is PV: its physmap is not translated"
    case .noTarget:
      return holds
        ? "\(first.label) has no device-model target yet"
        : "\(first.label) is already the device model of dom\(first.targetDomid ?? -1)"
    case .otherVCPU:
      return holds ? "the vCPU asked for is not the one making the call" : "the vCPU asked for is the one making the call"
    case .hardware:
      return holds ? "\(caller) is the hardware domain" : "\(caller) is not the hardware domain"
    case .control:
      return holds ? "\(caller) is the control domain" : "\(caller) is not the control domain"
    }
  }

  /// `hvm_allow_get_param` / `hvm_allow_set_param` (xen/arch/x86/hvm/hvm.c)
  /// after the hook: deprecated parameters are -EINVAL for everyone, ALTP2M
  /// is read-only (-EEXIST), and a guest reads or writes only the whitelisted
  /// parameters of itself (-EPERM). Nil when allowed.
  static func hvmParamError(get: Bool, _ call: Call) -> String? {
    guard let index = call.objects.numbers["index"] else { return nil }
    let deprecated: Set<UInt64> = [4, 13, 20, 21, 22, 23, 24, 25, 26, 30]
    let readable: Set<UInt64> = [0, 15, 37, 19, 34, 1, 2, 17, 18, 35, 36]
    let writable: Set<UInt64> = [0, 15, 37, 19, 34, 2, 18, 36]
    if deprecated.contains(index) { return "-EINVAL" }
    if !get && index == 35 { return "-EEXIST" }
    let onItself = call.target.domid == call.caller.domid
    if onItself && !(get ? readable : writable).contains(index) { return "-EPERM" }
    return nil
  }

  /// What the caller sees: a refusal through the op's status field, entry
  /// slot or a placeholder result instead of the module's errno.
  func deliver(_ op: Op, _ decision: Decision, _ call: Call) -> Decision {
    guard decision.verdict != .allowed, !op.denial.isEmpty else { return decision }
    // The first denial line that covers this refusal: one limited to a party
    // applies when the refusing step names it, and to refusals outside the
    // hook too (a lookup of that party); the others only to the hook's denials.
    guard
      let denial = op.denial.first(where: { d in
        d.party.map { decision.refusedBy.contains($0) } ?? (decision.verdict == .denied)
      })
    else { return decision }
    var delivered = decision
    delivered.delivery = denial.channel
    switch denial.channel {
    case .errno: delivered.error = denial.value
    case .entry: break
    case .status, .value: delivered.returned = denial.value
    }
    if call.explain {
      let text: String
      switch denial.channel {
      case .errno: text = "the refusal reaches the caller as \(denial.value)"
      case .status: text = "the hypercall returns 0; the op's status field says \(denial.value)"
      case .entry: text = "the hypercall goes on; the entry's error slot says \(decision.error ?? denial.value)"
      case .value: text = "the call succeeds with the placeholder result \(denial.value)"
      }
      delivered.trace.append(TraceStep(.info, "xen", text, source: denial.source))
    }
    return delivered
  }

  /// One question with its domains bound to the op's arguments. Built for
  /// every decision (matrices make hundreds of thousands), so it keeps the
  /// few parties in a small array and allocates only what a call changes.
  struct Call {
    var caller: HostDomain
    /// Domains by argument (party) name, in binding order.
    var parties: [(name: String, domain: HostDomain)]
    /// The op's first domain argument, or the caller for ops without one.
    var target: HostDomain
    var objects: QueryObjects
    /// The situations of the call, with `self` added when a domain argument was passed as DOMID_SELF.
    var situations: Set<String>
    /// Build the trace (text, contexts, rules); off for matrices.
    var explain: Bool

    init(op: Op, caller: HostDomain, target: HostDomain?, objects given: QueryObjects, host: XenHost, explain: Bool) {
      var objects = given
      self.caller = caller
      self.explain = explain
      var parties: [(name: String, domain: HostDomain)] = []
      parties.reserveCapacity(4)
      for (name, domid) in objects.parties {
        if let d = host.domain(domid: domid) ?? objects.missing[domid] { parties.append((name, d)) }
      }
      let binding = op.binding
      var situations = objects.situations
      var other = objects.domain.flatMap { host.domain(domid: $0) }
      for (index, name) in binding.domains.enumerated() {
        var isBound = false
        for p in parties where p.name == name { isBound = true }
        if index == 0 {
          if let target, !isBound {
            parties.append((name, target))
            isBound = true
          }
        } else if let o = other, !isBound {
          // `objects.domain` (--object) fills the first domain argument still open after the positional one.
          parties.append((name, o))
          other = nil
          isBound = true
        }
        guard !isBound else { continue }
        // Unbound: the default (`self`, DOMID_SELF: the caller), or the caller for questions built without one.
        parties.append((name, caller))
        if binding.defaultsToSelf[index] {
          objects.domidSelf.insert(name)
          if binding.takesSelfFlag { situations.insert("self") }
        }
      }
      if binding.takesSelfFlag && !objects.domidSelf.isEmpty && !situations.contains("self") {
        for name in objects.domidSelf where parties.contains(where: { $0.name == name }) { situations.insert("self") }
      }
      let firstName = binding.domains.first
      self.objects = objects
      self.parties = parties
      self.target = firstName.flatMap { name in parties.first { $0.name == name }?.domain } ?? target ?? caller
      self.situations = situations
    }

    /// The domain a party names; the caller for `current`, the target for parties the op does not take.
    func party(_ name: String) -> HostDomain {
      if name == "current" { return caller }
      return parties.first { $0.name == name }?.domain ?? target
    }

    /// The domain bound to an argument, if the op takes it.
    func bound(_ name: String) -> HostDomain? { parties.first { $0.name == name }?.domain }
  }

  /// The domain an endpoint names in a call; nil for fixed objects and labels.
  func domain(_ endpoint: Endpoint, _ call: Call) -> HostDomain? {
    guard endpoint.kind == .domain else { return nil }
    return call.party(endpoint.name)
  }

  // MARK: Dummy

  func dummy(_ op: Op, _ call: Call, module: XSMModule, trace initial: [TraceStep]) -> Decision {
    var trace = initial
    for step in op.dummySteps(in: call.situations) {
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
      if !allowed {
        var refusal = Decision(module: module, verdict: .denied, error: "-EPERM", trace: trace)
        refusal.refusedBy = [step.subject.name, step.object.name]
        return refusal
      }
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
    case .deviceModel?: return (true, "\(name) is the device model of \(target?.label ?? "its target")")
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
    var refusedBy: Set<String> = []
    var denials: [FlaskDenial] = []
    // The note on a missing source map is given once, at the first check.
    var cited = false
    if call.explain {
      for check in op.checks {
        guard let condition = check.condition, !condition.holds(in: call.situations) else { continue }
        trace.append(TraceStep(.info, "flask", "\(check.text): not made on this call (\(condition.negated ? "" : "not ")\(condition.name))"))
      }
    }
    for check in op.checks(in: call.situations) {
      let deniedBefore = denied
      defer { if denied && !deniedBefore { refusedBy.formUnion([check.subject.name, check.object.name]) } }
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
      // The permissions of this check the policy refuses and audits, for Xen's avc line.
      var audited: [(bit: Int, name: String)] = []
      defer {
        if !audited.isEmpty {
          denials.append(FlaskDenial(securityClass: check.securityClass,
            permissions: audited.sorted { $0.bit < $1.bit }.map(\.name), ssid: subject, tsid: object,
            sourceDomid: check.subject.kind == .domain ? domain(check.subject, call)?.domid : nil,
            targetDomid: check.object.kind == .domain ? domain(check.object, call)?.domid : nil,
            device: check.object.kind == .label ? check.object.name : nil))
        }
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
          var step = TraceStep(.pass, "flask", "\(text) \(check.subject) -> \(check.object)",
            subject: subjectText, object: objectText, rules: rules)
          cite(into: &step, subject, object, check.securityClass, concrete, server, first: !cited)
          cited = true
          trace.append(step)
        } else {
          let constraints = policy.failingConstraints(
            source: server.context(of: subject)!, target: server.context(of: object)!, classValue: classValue,
            permissionBit: bit)
          let why = constraints.isEmpty ? ["no allow rule grants it"] : constraints.map { "removed by \($0)" }
          let permissive = !enforcing || decision.permissive
          if decision.auditDeny & (1 << UInt32(bit)) != 0 { audited.append((bit, concrete)) }
          if permissive {
            wouldDeny.append("\(text) \(subjectText) -> \(objectText)")
          } else {
            denied = true
          }
          var step = TraceStep(permissive ? .permissive : .fail, "flask", "\(text) \(check.subject) -> \(check.object)",
            subject: subjectText, object: objectText, rules: why)
          cite(into: &step, subject, object, check.securityClass, concrete, server, first: !cited)
          cited = true
          trace.append(step)
        }
      }
    }
    var decision = Decision(module: .flask, verdict: denied ? .denied : .allowed, error: denied ? "-EACCES" : nil,
      trace: trace, wouldDeny: wouldDeny)
    decision.refusedBy = refusedBy
    decision.denials = denials
    return decision
  }

  /// Adds the source rules behind a flask check to its step: those that
  /// grant it when it passed; when it did not, the allow rules for the same
  /// pair and class, the ones a boolean switches off and the neverallows.
  func cite(into step: inout TraceStep, _ subject: UInt32, _ object: UInt32, _ className: String,
    _ permission: String, _ server: SecurityServer, first: Bool)
  {
    let policy = server.policy
    guard let lookup = host.ruleSources.lookup else {
      if first { step.originNote = host.ruleSources.note }
      return
    }
    guard let source = server.context(of: subject), let target = server.context(of: object),
      policy.typeNames.indices.contains(source.type - 1), policy.typeNames.indices.contains(target.type - 1)
    else { return }
    let booleans = Dictionary(zip(policy.booleanNames, server.booleans), uniquingKeysWith: { a, _ in a })
    let found = lookup(policy.typeNames[source.type - 1], policy.typeNames[target.type - 1], className, permission,
      booleans)
    if first, let note = host.ruleSources.note { step.originNote = note }
    step.forbiddenBy = found.forbidding.isEmpty ? nil : found.forbidding
    if step.outcome == .pass {
      step.origins = found.granting
    } else {
      step.closest = found.closest
      step.switchedOff = found.switchedOff.isEmpty ? nil : found.switchedOff
    }
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
      let deriving: HostDomain =
        switch subjectEndpoint.name {
        case "channel": channelOwner(call)
        case "remote_channel": channelRemote(call)
        default: domain(subjectEndpoint, call) ?? call.caller
        }
      return Self.derivedSID(deriving, d)
    case .fixed:
      return endpoint.initialSIDName.flatMap { server.initialSID(named: $0) }
    case .label:
      switch endpoint.name {
      case "channel":
        // A new port: compute_sid(owner.sid, derived(owner -> remote), event).
        let owner = channelOwner(call)
        guard let ownerSID = owner.sid, let remote = Self.derivedSID(owner, channelRemote(call)) else { return nil }
        return server.computeSID(source: ownerSID, target: remote, classValue: event, kind: .transition)
      case "remote_channel":
        // The peer's port, labelled when the peer offered it to the caller.
        let peer = channelRemote(call)
        guard let peerSID = peer.sid, let local = Self.derivedSID(peer, call.caller) else { return nil }
        return server.computeSID(source: peerSID, target: local, classValue: event, kind: .transition)
      case "new_label":
        return call.objects.label ?? call.target.sid
      default:
        return deviceSID(endpoint.name, call.objects, server)
      }
    }
  }

  /// The domain whose port a channel check is about: `owner`, else the caller.
  private func channelOwner(_ call: Call) -> HostDomain { call.bound("owner") ?? call.caller }
  /// The far end of that port: `remote`, else the op's first domain argument.
  private func channelRemote(_ call: Call) -> HostDomain { call.bound("remote") ?? call.target }

  /// The SID Xen uses for `object` as `subject` sees it (`domain_has_perm`'s
  /// derivation): the subject's self SID when they are the same domain, its
  /// target SID when the subject is the object's device model, else the
  /// object's own SID.
  public static func derivedSID(_ subject: HostDomain, _ object: HostDomain) -> UInt32? {
    if subject.domid == object.domid { return subject.selfSID ?? object.sid }
    if subject.targetDomid == object.domid { return subject.targetSID ?? object.sid }
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
