import XSMCatalog
import XSMDiagnostics

/// The domains of a typical host, by Flask type, on which the dummy module
/// is compared with a policy.
public struct ReferenceHost: Sendable, Codable {
  public var control: String
  public var xenstore: String
  public var deviceModel: String
  public var guest: String
  /// Whether the policy allows ops Flask does not classify (handle_unknown allow).
  public var allowUnknown: Bool

  public init(control: String = "dom0_t", xenstore: String = "xenstore_t", deviceModel: String = "dm_dom_t",
    guest: String = "domU_t", allowUnknown: Bool = false)
  {
    self.control = control
    self.xenstore = xenstore
    self.deviceModel = deviceModel
    self.guest = guest
    self.allowUnknown = allowUnknown
  }

  /// The four types, in the order `--host` takes them.
  public var types: [String] { [control, xenstore, deviceModel, guest] }
}

/// A caller and a target on the reference host.
public enum Scenario: String, Sendable, Codable, CaseIterable {
  case controlOnGuest = "control domain -> guest"
  case xenstoreOnGuest = "xenstore domain -> guest"
  case deviceModelOnTarget = "device model -> its guest"
  case guestOnItself = "guest -> itself"
  case guestOnOtherGuest = "guest -> another guest"
  case guestOnControl = "guest -> control domain"
}

/// Why a reference host cannot be set up on a policy.
public enum ReferenceHostError: Error, Sendable, Equatable {
  /// The policy binary does not load.
  case badPolicy(String)
  /// A type of the reference host is not in the policy; with the closest name.
  case unknownType(String, suggestion: String?)
  /// The host does not load on the policy (contexts the policy rejects).
  case unloadable([String])
}

/// Where the dummy module and a Flask policy disagree on who may call an
/// op, scenario by scenario on a reference host. Both answers are the
/// engine's decisions on a host loaded from the policy: the control domain,
/// the xenstore domain, a device model serving a guest, that guest and a
/// second guest, each labelled with the reference host's types.
public struct DummyVsFlaskReport: Sendable, Codable {
  /// One disagreement.
  public struct Finding: Sendable, Codable {
    public var op: String
    public var scenario: String
    public var dummyAllows: Bool
    public var flaskAllows: Bool
    /// The dummy rule that decided.
    public var dummyRule: String
    /// The checks that failed, or why Flask allowed.
    public var flaskReason: String
    public var why: String
  }

  public var host: ReferenceHost
  public var findings: [Finding]
  /// Ops compared (legacy ops with a hook).
  public var opsCompared: Int

  /// Loads the reference host from `policyBinary` and compares every hooked
  /// legacy op of `catalog` under dummy and flask. `host.allowUnknown` is
  /// taken from the policy.
  public static func compare(catalog: OpCatalog, host: ReferenceHost, policyBinary: [UInt8]) async
    throws(ReferenceHostError) -> DummyVsFlaskReport
  {
    let engine = try await referenceEngine(catalog: catalog, host: host, policyBinary: policyBinary)
    var reference = host
    reference.allowUnknown = engine.host.server?.policy.handleUnknownAllow ?? false
    return DummyVsFlaskReport(catalog: catalog, host: reference, engine: engine)
  }

  /// Domids of the reference host.
  enum Domid {
    static let control = 0
    static let xenstore = 1
    static let guest = 2
    static let deviceModel = 3
    static let otherGuest = 4
  }

  /// A flask host whose domains carry the reference types.
  static func referenceEngine(catalog: OpCatalog, host: ReferenceHost, policyBinary: [UInt8]) async
    throws(ReferenceHostError) -> DecisionEngine
  {
    let policy: FlaskPolicy
    do {
      policy = try await FlaskPolicy.reading(policyBinary)
    } catch {
      throw .badPolicy("\(error)")
    }
    for type in host.types where policy.typeValue(type) == nil {
      throw .unknownType(type, suggestion: Suggestion.closest(to: type, in: policy.typeNames))
    }
    // `object_r` goes with every type; an MLS policy needs a level.
    func context(_ type: String) -> String { "system_u:object_r:\(type)" + (policy.isMLS ? ":s0" : "") }
    let spec = SystemSpec(
      name: "reference host", module: .flask, policy: "reference", enforcing: true, mls: policy.isMLS,
      domains: [
        DomainSpec(domid: Domid.control, name: "control", context: context(host.control), flags: [.control]),
        DomainSpec(domid: Domid.xenstore, name: "xenstore", context: context(host.xenstore), flags: [.xenstore]),
        DomainSpec(domid: Domid.guest, name: "guest", context: context(host.guest), kind: .hvm),
        DomainSpec(domid: Domid.deviceModel, name: "device-model", context: context(host.deviceModel), target: "guest"),
        DomainSpec(domid: Domid.otherGuest, name: "other-guest", context: context(host.guest), kind: .hvm),
      ], file: "")
    let (loaded, diagnostics) = await XenHost.load(spec, catalog: catalog, policyBinary: policyBinary)
    guard let loaded else {
      throw .unloadable(diagnostics.filter { $0.severity == .error }.map(\.message))
    }
    return DecisionEngine(host: loaded)
  }

  init(catalog: OpCatalog, host: ReferenceHost, engine: DecisionEngine) {
    self.host = host
    let domains = engine.host
    func domain(_ domid: Int) -> HostDomain { domains.domain(domid: domid)! }
    func parties(_ scenario: Scenario) -> (caller: HostDomain, target: HostDomain) {
      switch scenario {
      case .controlOnGuest: (domain(Domid.control), domain(Domid.guest))
      case .xenstoreOnGuest: (domain(Domid.xenstore), domain(Domid.guest))
      case .deviceModelOnTarget: (domain(Domid.deviceModel), domain(Domid.guest))
      case .guestOnItself: (domain(Domid.guest), domain(Domid.guest))
      case .guestOnOtherGuest: (domain(Domid.guest), domain(Domid.otherGuest))
      case .guestOnControl: (domain(Domid.guest), domain(Domid.control))
      }
    }
    // The reference device model is the `dm` party of the ops that name one
    // (`domctl.set_target`, whose first argument it is); other third parties
    // are the caller (DOMID_SELF).
    let withDeviceModel = QueryObjects(parties: ["dm": Domid.deviceModel])
    var findings: [Finding] = []
    var compared = 0
    for op in catalog.legacyOps where op.isHooked {
      compared += 1
      // An op that only ever acts on its caller is judged on the caller itself.
      let selfOnly = op.targets == ["self"]
      let namesDeviceModel =
        op.checks.contains { $0.subject.name == "dm" || $0.object.name == "dm" }
        || op.dummy.contains { $0.subject.name == "dm" || $0.object.name == "dm" }
      let objects = namesDeviceModel ? withDeviceModel : QueryObjects()
      for scenario in Scenario.allCases {
        let onItself = scenario == .guestOnItself
        if onItself && op.refusesSelf { continue }
        if selfOnly && !onItself { continue }
        let (caller, target) = parties(scenario)
        var objects = objects
        if namesDeviceModel { objects.parties["target"] = target.domid }
        let dummy = engine.decide(caller: caller, op: op, target: target, module: .dummy, objects: objects)
        let flask = engine.decide(caller: caller, op: op, target: target, module: .flask, objects: objects)
        let dummyAllows = dummy.verdict == .allowed
        let flaskAllows = flask.verdict == .allowed
        guard dummyAllows != flaskAllows else { continue }
        let dummyRule = Self.rule(of: dummy)
        let flaskReason = Self.reason(of: flask)
        let why =
          dummyAllows
          ? "dummy lets this caller in (\(dummyRule)) but the policy does not grant \(flaskReason); "
            + "moving this host from dummy to flask breaks the call"
          : "the policy grants it (\(flaskReason)) although dummy refuses it (\(dummyRule)); flask is wider here"
        findings.append(Finding(op: op.name, scenario: scenario.rawValue, dummyAllows: dummyAllows,
          flaskAllows: flaskAllows, dummyRule: dummyRule, flaskReason: flaskReason, why: why))
      }
    }
    self.findings = findings
    self.opsCompared = compared
  }

  /// The dummy steps of a decision: the one that refused, or all that passed.
  static func rule(of decision: Decision) -> String {
    let steps = decision.trace.filter { $0.layer == "dummy" }
    if decision.verdict != .allowed, let failed = steps.last(where: { $0.outcome == .fail }) { return failed.text }
    return steps.isEmpty ? "no dummy rule applies to this call" : steps.map(\.text).joined(separator: ", ")
  }

  /// The flask checks of a decision: those that failed (with the contexts
  /// they met), or those that granted it.
  static func reason(of decision: Decision) -> String {
    let steps = decision.trace.filter { $0.layer == "flask" }
    func describe(_ step: TraceStep) -> String {
      guard let subject = step.subject, let object = step.object else { return step.text }
      return "\(step.text) (\(subject) -> \(object))"
    }
    if decision.verdict != .allowed {
      return steps.filter { $0.outcome == .fail }.map(describe).joined(separator: "; ")
    }
    return steps.isEmpty ? "no Flask check applies to this call" : steps.map(\.text).joined(separator: ", ")
  }
}
