import XSMDiagnostics

/// Who may issue an op: the privileged/logical classification of the catalog.
public enum PrivilegeClass: String, Sendable, Codable, CaseIterable, Comparable {
  /// Acts on another domain's resources or on the platform; a kernel or toolstack must mediate.
  case privileged
  /// A guest or userspace may issue it about itself; a kernel only audits buffers.
  case logical
  /// Logical on the caller itself, privileged on another domain.
  case mixed

  public static func < (a: PrivilegeClass, b: PrivilegeClass) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// The default rule of an XSM hook as `dummy.h` states it.
public enum DummyAction: String, Sendable, Codable, CaseIterable {
  case hook = "XSM_HOOK"
  case target = "XSM_TARGET"
  case xsPriv = "XSM_XS_PRIV"
  case dmPriv = "XSM_DM_PRIV"
  case priv = "XSM_PRIV"
  /// No hook on the path: nothing to decide.
  case none
  /// `xsm_op` under dummy: not implemented.
  case enosys = "ENOSYS"
  /// A hook without a default action (Argo): always allowed.
  case allow = "ALLOW"
}

/// A situation of one call that switches a check or dummy step on or off
/// (`if writable`, `unless revoke`).
public struct Condition: Hashable, Sendable, Codable, CustomStringConvertible {
  public var name: String
  /// True for `unless`: the line applies when the situation does not hold.
  public var negated: Bool

  public init(name: String, negated: Bool) {
    self.name = name
    self.negated = negated
  }

  /// Whether the line applies, given the situations that hold for a call.
  public func holds(in situations: Set<String>) -> Bool {
    situations.contains(name) != negated
  }
  public var description: String { (negated ? "unless " : "if ") + name }
}

/// One side of a check or dummy step: a domain of the call, a fixed initial
/// SID, or a label Xen computes or looks up.
public struct Endpoint: Hashable, Sendable, Codable, CustomStringConvertible {
  /// How Xen finds the SID.
  public enum Kind: String, Sendable, Codable {
    /// A domain taking part in the call; as an object its SID is derived
    /// (self SID, device-model target SID) unless `raw`.
    case domain
    /// An initial SID: `xen_t`, `domxen_t`, `domio_t`, `security_t`.
    case fixed
    /// A computed or looked-up label: event channels, device labels, new domain labels.
    case label
  }

  public var name: String
  public var raw: Bool

  public init(_ name: String, raw: Bool = false) {
    self.name = name
    self.raw = raw
  }

  public static let domainNames: [String] = [
    "current", "target", "dm", "source", "client", "child", "parent", "granter", "recipient", "dest", "owner",
    "remote", "pg_owner", "pt_owner", "real_owner", "foreign", "partner", "new", "old",
  ]
  public static let fixedNames: [String] = ["xen_t", "domxen_t", "domio_t", "security_t"]
  public static let labelNames: [String] = [
    "channel", "remote_channel", "new_label", "irq_label", "pci_label", "dt_label", "iomem_label", "ioport_label",
  ]
  public static let allNames: [String] = domainNames + fixedNames + labelNames
  static let kinds: [String: Kind] = Dictionary(
    uniqueKeysWithValues: domainNames.map { ($0, Kind.domain) } + fixedNames.map { ($0, .fixed) }
      + labelNames.map { ($0, .label) })

  public var kind: Kind { Endpoint.kinds[name] ?? .domain }
  public var isCaller: Bool { name == "current" }
  public var description: String { raw ? "\(name)(raw)" : name }
}

/// One Flask check a hook makes: a class, the permissions that must all be
/// granted, subject and object, and the situation it applies in.
public struct FlaskCheck: Hashable, Sendable, Codable {
  public var securityClass: String
  /// All must be granted. `use_*` stands for the IOMMU-dependent resource permission.
  public var permissions: [String]
  public var subject: Endpoint
  public var object: Endpoint
  public var condition: Condition?
  /// The permission the code meant to check, when it checks another by mistake.
  public var intended: Permission?
  public var span: SourceSpan

  public init(
    securityClass: String, permissions: [String], subject: Endpoint, object: Endpoint,
    condition: Condition? = nil, intended: Permission? = nil, span: SourceSpan
  ) {
    self.securityClass = securityClass
    self.permissions = permissions
    self.subject = subject
    self.object = object
    self.condition = condition
    self.intended = intended
    self.span = span
  }

  /// The permissions with `use_*` expanded to its three concrete forms.
  public var concretePermissions: [String] {
    permissions.flatMap { $0 == "use_*" ? Permission.useVariants : [$0] }
  }
  /// `class:perm+perm subject -> object [if cond]`, as the catalog writes it.
  public var text: String {
    var s = "\(securityClass):\(permissions.joined(separator: "+")) \(subject) -> \(object)"
    if let condition { s += " \(condition)" }
    if let intended { s += " intended \(intended)" }
    return s
  }
  public static func == (a: FlaskCheck, b: FlaskCheck) -> Bool { a.text == b.text }
  public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

/// A class and one permission, `domain:pause`.
public struct Permission: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
  public var securityClass: String
  public var name: String
  public init(_ securityClass: String, _ name: String) {
    self.securityClass = securityClass
    self.name = name
  }
  /// Parses `class:perm`.
  public init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
    self.init(String(parts[0]), String(parts[1]))
  }
  public static let useVariants = ["use_iommu", "use_iommu_nointremap", "use_noiommu"]
  public var description: String { "\(securityClass):\(name)" }
  public static func < (a: Permission, b: Permission) -> Bool { a.description < b.description }
}

/// One step of the dummy module's decision.
public struct DummyStep: Hashable, Sendable, Codable, CustomStringConvertible {
  public var action: DummyAction
  /// True when the hook is `XSM_OTHER` and `action` is the rule it applies here.
  public var other: Bool
  public var subject: Endpoint
  public var object: Endpoint
  public var condition: Condition?

  public init(action: DummyAction, other: Bool = false, subject: Endpoint = Endpoint("current"),
    object: Endpoint = Endpoint("target"), condition: Condition? = nil)
  {
    self.action = action
    self.other = other
    self.subject = subject
    self.object = object
    self.condition = condition
  }

  public var description: String {
    var s = other ? "XSM_OTHER=\(action.rawValue)" : action.rawValue
    if subject.name != "current" || object.name != "target" { s += " \(subject) -> \(object)" }
    if let condition { s += " \(condition)" }
    return s
  }
}

/// A hypercall and its number (`__HYPERVISOR_domctl` 36).
public struct Hypercall: Hashable, Sendable, Codable {
  public var name: String
  public var number: Int
  /// `domctl` for `__HYPERVISOR_domctl`.
  public var shortName: String {
    name.hasPrefix("__HYPERVISOR_") ? String(name.dropFirst("__HYPERVISOR_".count)) : name
  }
}

/// A sub-op constant and its number, or a range of numbers. Several with
/// the same `level` are alternatives (`A 0 | B 2`); levels nest.
public struct SubOp: Hashable, Sendable, Codable {
  public var constant: String
  public var low: Int
  public var high: Int
  public var level: Int
  public var numberText: String { low == high ? "\(low)" : "\(low)..\(high)" }
}

/// Silo's extra rule for the event channel, grant and Argo hooks: the two
/// domains whose relation it checks.
public struct SiloRule: Hashable, Sendable, Codable {
  public var left: Endpoint
  public var right: Endpoint
}

/// What Flask does when an op has no `check` line.
public enum FlaskMarker: String, Sendable, Codable {
  /// The hook makes no permission check (`flask none`).
  case unchecked = "none"
  /// Flask has no case for the op: `avc_unknown_permission` decides.
  case unclassified
}

/// Whether an entry is one of today's ops or one of the proposed ABI's.
public enum OpKind: String, Sendable, Codable {
  case legacy
  case split
}

/// One operation of the catalog, legacy or split, with everything the
/// tools know about it.
public struct Op: Sendable, Codable, Identifiable {
  public var name: String
  public var kind: OpKind
  public var aliases: [String] = []
  public var hypercall: Hypercall?
  public var subops: [SubOp] = []
  public var hooks: [String] = []
  public var dummy: [DummyStep] = []
  public var targets: [String] = []
  public var checks: [FlaskCheck] = []
  public var flask: FlaskMarker?
  public var silo: SiloRule?
  public var refusesSelf = false
  public var privilege: PrivilegeClass = .privileged
  public var summary = ""
  public var notes: [String] = []
  /// Split ops: the legacy ops this one takes over.
  public var replaces: [String] = []
  /// Split ops: the legacy op whose facts this one starts from.
  public var inherits: String?
  public var group: String?
  public var number: Int?
  /// Where the entry starts.
  public var span: SourceSpan

  public var id: String { name }
  /// `domctl` for `domctl.pausedomain`.
  public var family: String { String(name.split(separator: ".").first ?? Substring(name)) }
  /// Every permission the checks name, `use_*` expanded.
  public var permissions: Set<Permission> {
    Set(checks.flatMap { check in check.concretePermissions.map { Permission(check.securityClass, $0) } })
  }
  /// The checks that apply when the given situations hold.
  public func checks(in situations: Set<String>) -> [FlaskCheck] {
    checks.filter { $0.condition?.holds(in: situations) ?? true }
  }
  /// The dummy steps that apply when the given situations hold.
  public func dummySteps(in situations: Set<String>) -> [DummyStep] {
    dummy.filter { $0.condition?.holds(in: situations) ?? true }
  }
  /// True when the op passes through an XSM hook.
  public var isHooked: Bool { !hooks.isEmpty }

  public init(name: String, kind: OpKind, span: SourceSpan) {
    self.name = name
    self.kind = kind
    self.span = span
  }
}

/// A statement that legacy ops stay as they are (`unsplit`) or go away
/// (`retire`) in the proposed ABI.
public struct CoverageRule: Sendable, Codable {
  public enum Kind: String, Sendable, Codable {
    case unsplit, retire
  }
  public var kind: Kind
  /// An op name, or `family.*`.
  public var pattern: String
  public var reason: String
  public var span: SourceSpan

  public func matches(_ opName: String) -> Bool {
    if pattern.hasSuffix(".*") { return opName.hasPrefix(String(pattern.dropLast())) }
    return opName == pattern
  }
}

extension Op {
  /// The sub-op numbers level by level, alternatives joined by `|`: `10/0`, `0|2|3`.
  public var subopPath: String {
    let levels = Dictionary(grouping: subops, by: \.level).sorted { $0.key < $1.key }
    return levels.map { $0.value.map(\.numberText).joined(separator: "|") }.joined(separator: "/")
  }
  /// The sub-op constants level by level, as the catalog writes them.
  public var subopText: String {
    let levels = Dictionary(grouping: subops, by: \.level).sorted { $0.key < $1.key }
    return levels.map { $0.value.map { "\($0.constant)=\($0.numberText)" }.joined(separator: " | ") }
      .joined(separator: " / ")
  }
}

extension Endpoint {
  /// The initial SID Xen uses for a fixed object (`xen_t` → `xen`,
  /// `security_t` → `security`); nil for domains and labels. The one place
  /// that maps the catalog's fixed objects to the policy's `sid` names.
  public var initialSIDName: String? {
    guard kind == .fixed else { return nil }
    return Self.initialSIDNames[name]
  }

  static let initialSIDNames = ["xen_t": "xen", "domxen_t": "domxen", "domio_t": "domio", "security_t": "security"]
}
