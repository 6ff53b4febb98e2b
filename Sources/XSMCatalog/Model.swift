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

  public var name: String {
    didSet { kind = Endpoint.kinds[name] ?? .domain }
  }
  public var raw: Bool
  /// How Xen finds the SID, looked up once from the name (decisions read it millions of times).
  public private(set) var kind: Kind

  public init(_ name: String, raw: Bool = false) {
    self.name = name
    self.raw = raw
    self.kind = Endpoint.kinds[name] ?? .domain
  }

  enum CodingKeys: String, CodingKey { case name, raw }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(try container.decode(String.self, forKey: .name), raw: try container.decode(Bool.self, forKey: .raw))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(raw, forKey: .raw)
  }

  public static func == (a: Endpoint, b: Endpoint) -> Bool { a.name == b.name && a.raw == b.raw }
  public func hash(into hasher: inout Hasher) {
    hasher.combine(name)
    hasher.combine(raw)
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
  /// The hypercall's arguments in Xen's terms (written with `arg`, or derived from the checks).
  public var arguments: [OpArgument] = []
  /// Xen's refusals outside XSM, before and after the hook, in the order Xen makes them.
  public var gates: [OpGate] = []
  /// How a refusal reaches the caller when it is not the module's errno.
  public var denial: [OpDenial] = []
  /// The domain arguments in order, with whether each defaults to `DOMID_SELF`,
  /// and whether the op has the `self` flag: what every decision binds,
  /// kept apart from `arguments` so binding copies no strings. Set by the loader.
  public var binding = ArgumentBinding()
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
  public var family: String { String(name[..<(name.firstIndex(of: ".") ?? name.endIndex)]) }
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

// MARK: Arguments, gates and how a refusal reaches the caller

/// One argument of an op's hypercall, in Xen's own terms: a domain id, a
/// vCPU, a label, a device, or a flag of the call. Domain arguments carry
/// the party name the op's checks use (`target`, `remote`, `foreign`, ...).
public struct OpArgument: Hashable, Sendable, Codable, CustomStringConvertible {
  /// What an argument holds.
  public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
    /// A domain id; `self` stands for `DOMID_SELF`, the caller.
    case domain
    /// A vCPU number, or `current` for the vCPU making the call.
    case vcpu
    /// A security context (`user:role:type`) the call asks for.
    case label
    /// A physical IRQ number.
    case irq
    /// A PCI device, `SEG:BUS:DEV.FN`.
    case pci
    /// An I/O memory frame number.
    case iomem
    /// An x86 I/O port.
    case ioport
    /// A device-tree path.
    case dt
    /// A situation of the call that switches checks on (`writable`); absent means false.
    case flag
    /// A plain number of the call (an HVM parameter index, a CPU).
    case number
  }

  public var name: String
  public var kind: Kind
  /// The field of Xen's argument structure (`xen_domctl.domain`), when known.
  public var field: String?
  /// The value when the caller gives none; `self` is the caller. Nil: required (flags: absent).
  public var defaultValue: String?
  /// True when the loader derived the argument from the op's checks rather than an `arg` line.
  public var inferred: Bool

  public init(name: String, kind: Kind, field: String? = nil, defaultValue: String? = nil, inferred: Bool = false) {
    self.name = name
    self.kind = kind
    self.field = field
    self.defaultValue = defaultValue
    self.inferred = inferred
  }

  /// Whether a question must give this argument.
  public var isRequired: Bool { kind != .flag && defaultValue == nil }
  /// The default `none`: the argument may be left out and then stands for nothing.
  public var isOptional: Bool { defaultValue == "none" }

  /// `owner (domain, evtchn_status.dom, default self)`.
  public var description: String {
    var parts = [kind.rawValue]
    if let field { parts.append(field) }
    if let defaultValue { parts.append("default \(defaultValue)") } else if kind != .flag { parts.append("required") }
    return "\(name) (\(parts.joined(separator: ", ")))"
  }

  /// The argument a device label endpoint reads (`irq_label` -> irq).
  public static func deviceKind(ofLabel label: String) -> Kind? {
    switch label {
    case "irq_label": .irq
    case "pci_label": .pci
    case "iomem_label": .iomem
    case "ioport_label": .ioport
    case "dt_label": .dt
    default: nil
    }
  }
}

/// A refusal Xen makes outside XSM, before or after the hook, under every module.
public struct OpGate: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Where the gate sits relative to the XSM hook.
  public enum Stage: String, Hashable, Sendable, Codable {
    case before, after
  }

  /// What must hold for the call to go on.
  public enum Requirement: String, Hashable, Sendable, Codable, CaseIterable {
    /// The domain is not the caller (`rcu_lock_remote_domain_by_id`, `d != current->domain`).
    case notCaller = "not-caller"
    /// The domain is the caller itself (an op a domain may only make on itself).
    case caller
    /// The two domains differ.
    case distinct
    /// The domain is HVM or PVH (`is_hvm_domain`).
    case hvm
    /// The domain is PV (`is_pv_domain`).
    case pv
    /// The domain's physmap is translated (`paging_mode_translate`): HVM, PVH.
    case translated
    /// The domain has no device-model target yet (`d->target == NULL`).
    case noTarget = "no-target"
    /// The vCPU argument is not the vCPU making the call.
    case otherVCPU = "other-vcpu"
    /// The caller is the hardware domain.
    case hardware
    /// The caller is the control domain.
    case control
    /// `rcu_lock_domain_by_id` finds the domain: it exists and was named by its
    /// number (`DOMID_SELF` is not resolved by this lookup).
    case lookup
    /// `rcu_lock_domain_by_any_id` finds the domain: it exists (`DOMID_SELF` is the caller).
    case lookupAny = "lookup-any"
    /// `get_pg_owner`: a foreign domain, or the caller passed as `DOMID_SELF`; the caller's own number is refused.
    case foreign
    /// The caller is PV or the hardware domain (`hvm_physdev_op`'s hardware-domain sub-ops).
    case pvOrHardware = "pv-or-hardware"
    /// Xen has no implementation here (a removed command, an op of another architecture).
    case unsupported
    /// `hvm_allow_get_param`: the parameter `index` may be read (a guest reads only the whitelisted ones of itself).
    case hvmParamGet = "hvm-param-get"
    /// `hvm_allow_set_param`: the parameter `index` may be written.
    case hvmParamSet = "hvm-param-set"

    /// How many domain arguments the requirement names.
    public var domainCount: Int {
      switch self {
      case .notCaller, .caller, .hvm, .pv, .translated, .noTarget, .lookup, .lookupAny, .foreign, .pvOrHardware,
        .hvmParamGet, .hvmParamSet:
        1
      case .distinct: 2
      case .otherVCPU, .hardware, .control, .unsupported: 0
      }
    }
  }

  public var stage: Stage
  public var requirement: Requirement
  /// The domain arguments it reads, by name.
  public var domains: [String]
  /// The error Xen returns when the requirement does not hold (`-EINVAL`);
  /// `-ESRCH|-EPERM` gives the control domain the first and anyone else the second.
  public var error: String
  /// The situation the gate applies in, when not every call.
  public var condition: Condition?
  /// The modules the gate belongs to (a check a module makes outside the access decision); empty for every module.
  public var modules: [String] = []
  /// Xen's file and function that make the check (`xen/common/domctl.c do_domctl`).
  public var source: String
  public var span: SourceSpan

  public init(stage: Stage, requirement: Requirement, domains: [String], error: String, condition: Condition? = nil,
    source: String, span: SourceSpan)
  {
    self.condition = condition
    self.stage = stage
    self.requirement = requirement
    self.domains = domains
    self.error = error
    self.source = source
    self.span = span
  }

  /// `after not-caller target -EINVAL`, as the catalog writes it (without the source).
  public var description: String {
    ([stage.rawValue, requirement.rawValue] + domains + [error] + (condition.map { [$0.description] } ?? [])
      + (modules.isEmpty ? [] : ["under", modules.joined(separator: ",")])).joined(separator: " ")
  }
  public static func == (a: OpGate, b: OpGate) -> Bool { a.description == b.description && a.source == b.source }
  public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// How a refusal reaches the caller when it is not a plain negative errno.
public struct OpDenial: Hashable, Sendable, Codable, CustomStringConvertible {
  /// The channel the refusal travels by.
  public enum Channel: String, Hashable, Sendable, Codable, CaseIterable {
    /// A different errno than the module's (`xen_version` build_id: -EPERM under flask too).
    case errno
    /// A status field of the op (`GNTST_permission_denied`); the hypercall itself returns 0.
    case status
    /// The per-entry error slot of a batched op; the hypercall itself returns 0.
    case entry
    /// The call succeeds with a placeholder result (`<denied>`, an empty string, 0).
    case value
  }

  public var channel: Channel
  /// The errno, status name or placeholder value (for `entry`, the slot's name).
  public var value: String
  /// Limits the line to refusals by a step that names this party (`naming foreign`).
  public var party: String?
  /// Where Xen maps the refusal.
  public var source: String
  public var span: SourceSpan

  public init(channel: Channel, value: String, source: String, span: SourceSpan) {
    self.channel = channel
    self.value = value
    self.source = source
    self.span = span
  }

  public var description: String { "\(channel.rawValue) \(value)" + (party.map { " naming \($0)" } ?? "") }
  public static func == (a: OpDenial, b: OpDenial) -> Bool { a.description == b.description && a.source == b.source }
  public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

extension Op {
  /// The domain arguments, in the order the op takes them.
  public var domainArguments: [OpArgument] { arguments.filter { $0.kind == .domain } }
  /// The argument a question's positional TARGET fills: the op's first domain argument.
  public var positionalArgument: OpArgument? { domainArguments.first }
  /// The argument with this name.
  public func argument(named name: String) -> OpArgument? { arguments.first { $0.name == name } }
  /// Every situation (`if`/`unless` word) of the op's checks and dummy steps.
  public var situationNames: [String] {
    var seen: [String] = []
    for name in checks.compactMap(\.condition?.name) + dummy.compactMap(\.condition?.name) where !seen.contains(name) {
      seen.append(name)
    }
    return seen
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

/// What a decision needs of an op's arguments, in a form cheap to walk.
public struct ArgumentBinding: Sendable, Codable, Hashable {
  /// Domain argument names in order (short: stored inline, no reference counting).
  public var domains: [String] = []
  /// Per domain argument: whether it defaults to `self` (DOMID_SELF).
  public var defaultsToSelf: [Bool] = []
  /// Whether the op has a `self` flag (`relabel_domain`: the domid passed was DOMID_SELF).
  public var takesSelfFlag = false

  public init() {}

  public init(_ arguments: [OpArgument]) {
    for argument in arguments {
      if argument.kind == .domain {
        domains.append(argument.name)
        defaultsToSelf.append(argument.defaultValue == "self")
      } else if argument.kind == .flag && argument.name == "self" {
        takesSelfFlag = true
      }
    }
  }
}
