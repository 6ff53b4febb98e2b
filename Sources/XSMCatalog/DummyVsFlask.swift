/// The Flask questions the dummy-vs-flask comparison asks of a compiled
/// policy. The tools answer them through libsepol; tests may too.
public protocol FlaskQuestions {
  /// Whether `source` has `permission` on `target` (types), booleans at their current values.
  func allows(source: String, target: String, permission: Permission) -> Bool
  /// The type of a label computed by type_transition for (source, target, class).
  func newType(source: String, target: String, securityClass: String) -> String
}

/// The domains of a typical host, by Flask type, that the comparison
/// places in each scenario.
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
}

/// A caller and a target on the reference host.
public enum Scenario: String, Sendable, Codable, CaseIterable {
  case controlOnGuest = "control domain -> guest"
  case xenstoreOnGuest = "xenstore domain -> guest"
  case deviceModelOnTarget = "device model -> its guest"
  case guestOnItself = "guest -> itself"
  case guestOnOtherGuest = "guest -> another guest"
  case guestOnControl = "guest -> control domain"

  var callerIsControl: Bool { self == .controlOnGuest }
  var callerIsXenstore: Bool { self == .xenstoreOnGuest }
  var callerIsDeviceModelOfTarget: Bool { self == .deviceModelOnTarget }
  var callerIsTarget: Bool { self == .guestOnItself }
}

/// Where the dummy module's rule and a Flask policy disagree on who may
/// call an op, scenario by scenario on a reference host.
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

  public init(catalog: OpCatalog, host: ReferenceHost, policy: some FlaskQuestions) {
    self.host = host
    var findings: [Finding] = []
    var compared = 0
    for op in catalog.legacyOps where op.isHooked {
      compared += 1
      // An op that only ever acts on its caller is judged on the caller itself.
      let selfOnly = op.targets == ["self"]
      for scenario in Scenario.allCases {
        if scenario.callerIsTarget && op.refusesSelf { continue }
        if selfOnly && !scenario.callerIsTarget { continue }
        let dummy = Self.dummyDecision(op, scenario)
        let flask = Self.flaskDecision(op, scenario, host: host, policy: policy)
        guard dummy.allowed != flask.allowed else { continue }
        let why =
          dummy.allowed
          ? "dummy lets this caller in (\(dummy.rule)) but the policy does not grant \(flask.reason); "
            + "moving this host from dummy to flask breaks the call"
          : "the policy grants it (\(flask.reason)) although dummy refuses it (\(dummy.rule)); flask is wider here"
        findings.append(Finding(op: op.name, scenario: scenario.rawValue, dummyAllows: dummy.allowed,
          flaskAllows: flask.allowed, dummyRule: dummy.rule, flaskReason: flask.reason, why: why))
      }
    }
    self.findings = findings
    self.opsCompared = compared
  }

  // MARK: Dummy

  static func dummyDecision(_ op: Op, _ scenario: Scenario) -> (allowed: Bool, rule: String) {
    for step in op.dummySteps(in: []) {
      let targetIsDomain = step.object.kind == .domain
      let allowed: Bool
      switch step.action {
      case .hook, .allow, .none: allowed = true
      case .enosys: allowed = false
      case .target:
        allowed = (targetIsDomain && (scenario.callerIsTarget || scenario.callerIsDeviceModelOfTarget))
          || scenario.callerIsControl
      case .xsPriv:
        allowed = scenario.callerIsXenstore || (targetIsDomain && scenario.callerIsDeviceModelOfTarget)
          || scenario.callerIsControl
      case .dmPriv:
        allowed = (targetIsDomain && scenario.callerIsDeviceModelOfTarget) || scenario.callerIsControl
      case .priv: allowed = scenario.callerIsControl
      }
      if !allowed { return (false, step.description) }
    }
    return (true, op.dummySteps(in: []).map(\.description).joined(separator: ", "))
  }

  // MARK: Flask

  static func flaskDecision(_ op: Op, _ scenario: Scenario, host: ReferenceHost, policy: some FlaskQuestions)
    -> (allowed: Bool, reason: String)
  {
    if op.flask == .unclassified {
      return (host.allowUnknown, "no Flask case (avc_unknown_permission, handle_unknown "
        + (host.allowUnknown ? "allow)" : "deny)"))
    }
    if op.flask == .unchecked { return (true, "no Flask check") }
    let types = ScenarioTypes(scenario, host: host, policy: policy)
    var failed: [String] = []
    for check in op.checks(in: []) {
      let subject = types.type(of: check.subject, asSubject: true, subjectIsCaller: true)
      let object = types.type(of: check.object, asSubject: false, subjectIsCaller: check.subject.isCaller)
      for name in check.permissions {
        let concrete = name == "use_*" ? "use_iommu" : name
        let permission = Permission(check.securityClass, concrete)
        if !policy.allows(source: subject, target: object, permission: permission) {
          failed.append("\(permission) \(subject) -> \(object)")
        }
      }
    }
    if failed.isEmpty {
      return (true, op.checks(in: []).map { check in
        "\(check.securityClass):\(check.permissions.joined(separator: "+"))"
      }.joined(separator: ", "))
    }
    return (false, failed.joined(separator: "; "))
  }
}

/// The Flask types of the parties of one scenario, with Xen's derivation of
/// target SIDs (self SID, device-model target SID).
struct ScenarioTypes {
  let caller: String
  let target: String
  let derivedTarget: String
  let host: ReferenceHost
  let policy: any FlaskQuestions

  init(_ scenario: Scenario, host: ReferenceHost, policy: some FlaskQuestions) {
    self.host = host
    self.policy = policy
    switch scenario {
    case .controlOnGuest: (caller, target) = (host.control, host.guest)
    case .xenstoreOnGuest: (caller, target) = (host.xenstore, host.guest)
    case .deviceModelOnTarget: (caller, target) = (host.deviceModel, host.guest)
    case .guestOnItself, .guestOnOtherGuest: (caller, target) = (host.guest, host.guest)
    case .guestOnControl: (caller, target) = (host.guest, host.control)
    }
    switch scenario {
    case .guestOnItself: derivedTarget = policy.newType(source: caller, target: caller, securityClass: "domain")
    case .deviceModelOnTarget: derivedTarget = policy.newType(source: target, target: caller, securityClass: "domain")
    default: derivedTarget = target
    }
  }

  func type(of endpoint: Endpoint, asSubject: Bool, subjectIsCaller: Bool) -> String {
    switch endpoint.kind {
    case .fixed: return endpoint.name
    case .label:
      switch endpoint.name {
      case "channel": return policy.newType(source: caller, target: derivedTarget, securityClass: "event")
      case "remote_channel": return policy.newType(source: target, target: caller, securityClass: "event")
      case "irq_label": return "irq_t"
      case "iomem_label": return "iomem_t"
      case "ioport_label": return "ioport_t"
      case "new_label": return target
      default: return "device_t"
      }
    case .domain:
      if endpoint.isCaller {
        if asSubject || endpoint.raw || !subjectIsCaller { return caller }
        return policy.newType(source: caller, target: caller, securityClass: "domain")
      }
      if endpoint.name == "dm" { return host.deviceModel }
      if asSubject || endpoint.raw || !subjectIsCaller { return target }
      return derivedTarget
    }
  }
}
