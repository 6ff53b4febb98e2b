import XSMCatalog
import XSMDiagnostics

/// The outcome of one (caller, op, target) question under one module.
public enum Verdict: String, Sendable, Codable, Hashable {
  case allowed
  case denied
  /// Xen refuses the call whatever the module says (pausing oneself, a
  /// remote-only op on oneself, a module without the hypercall).
  case invalid
}

/// One line of a decision's trace: what was checked and how it came out.
public struct TraceStep: Sendable, Codable, Hashable {
  public enum Outcome: String, Sendable, Codable, Hashable {
    case pass, fail, info
    /// Denied by the policy, but granted because flask is permissive (or the subject type is).
    case permissive
  }
  public var outcome: Outcome
  /// `dummy`, `silo`, `flask`, `xen` (a non-XSM gate).
  public var layer: String
  public var text: String
  /// For flask checks: the subject and object contexts and the rules that granted it.
  public var subject: String?
  public var object: String?
  public var rules: [String]
  /// Xen's file and function that make this step (`xen/common/domctl.c do_domctl`), where known.
  public var source: String?
  /// For a granted flask check, when the policy came from source: the source
  /// rules that grant it, at file:line with the macro calls that produced them.
  public var origins: [RuleCitation]?
  /// For a refused check: the source allow rules for the same source, target
  /// and class that grant other permissions (where the missing one belongs).
  public var closest: [RuleCitation]?
  /// For a refused check: allow rules that grant it under a boolean branch that is off.
  public var switchedOff: [RuleCitation]?
  /// Neverallow rules that forbid the permission.
  public var forbiddenBy: [RuleCitation]?
  /// Why the step names no source rules (the policy is a binary without a source map).
  public var originNote: String?

  public init(_ outcome: Outcome, _ layer: String, _ text: String, subject: String? = nil, object: String? = nil,
    rules: [String] = [], source: String? = nil)
  {
    self.source = source
    self.outcome = outcome
    self.layer = layer
    self.text = text
    self.subject = subject
    self.object = object
    self.rules = rules
  }
}

/// A decision with its trace.
public struct Decision: Sendable, Codable, Hashable {
  public var module: XSMModule
  public var verdict: Verdict
  /// The error Xen returns when not allowed (`-EPERM`, `-EACCES`, `-ENOSYS`, `-EINVAL`).
  public var error: String?
  public var trace: [TraceStep]
  /// Under permissive flask: the checks enforcing mode would have denied.
  public var wouldDeny: [String]
  /// What the caller sees when that is not `error`: a status (`GNTST_permission_denied`) or a placeholder result (`<denied>`).
  public var returned: String?
  /// How a refusal reaches the caller, when not as the hypercall's errno.
  public var delivery: OpDenial.Channel?

  /// The parties named by the step that refused (a dummy step, a check, a
  /// gate), which decides how the refusal reaches the caller; not encoded.
  public var refusedBy: Set<String> = []
  /// The flask checks the policy refused (enforcing or not) and audits, as
  /// Xen's avc_audit reports them; filled when the trace is; not encoded.
  public var denials: [FlaskDenial] = []

  enum CodingKeys: String, CodingKey {
    case module, verdict, error, trace, wouldDeny, returned, delivery
  }

  /// What the caller gets back: `ok`, the errno, the status or the placeholder.
  public var result: String {
    if let returned, verdict != .allowed { return returned }
    return verdict == .allowed ? "ok" : error ?? "denied"
  }

  public init(module: XSMModule, verdict: Verdict, error: String? = nil, trace: [TraceStep], wouldDeny: [String] = []) {
    self.module = module
    self.verdict = verdict
    self.error = error
    self.trace = trace
    self.wouldDeny = wouldDeny
  }
}

/// What a question is about beyond caller, op and target: the other
/// domains of the call by the catalog's party names (`remote`, `owner`,
/// `foreign`, `dm`, `source`, `dest`, ...), the device a device op names, the
/// label a relabel or create asks for, the vCPU, and the situations that
/// switch conditional checks on.
public struct QueryObjects: Sendable, Hashable, Codable {
  /// Legacy spelling of the op's second domain: the device model of
  /// `domctl.set_target`, the port owner of `evtchn.alloc_unbound`, the source
  /// of `grant.copy`. Used for a party `parties` does not name.
  public var domain: Int?
  /// Domains of the call by party name (the catalog's endpoint names).
  public var parties: [String: Int]
  public var irq: UInt32?
  public var pciDevice: UInt32?
  public var iomem: UInt64?
  public var ioport: UInt32?
  public var deviceTreePath: String?
  /// The SID of the label the call asks for (`new` of relabel_domain, a create label).
  public var label: UInt32?
  /// The vCPU the call names; nil when the op takes none.
  public var vcpu: VCPUArgument?
  /// Situations of the call (`writable`, `revoke`); none by default.
  public var situations: Set<String>
  /// Domain arguments passed as `DOMID_SELF` rather than by number.
  public var domidSelf: Set<String>
  /// Domids a question names that no domain of the host has.
  public var missing: [Int: HostDomain] = [:]
  /// Plain numbers of the call by argument name (`index` of an HVM parameter).
  public var numbers: [String: UInt64] = [:]

  public init(domain: Int? = nil, parties: [String: Int] = [:], irq: UInt32? = nil, pciDevice: UInt32? = nil,
    iomem: UInt64? = nil, ioport: UInt32? = nil, deviceTreePath: String? = nil, label: UInt32? = nil,
    vcpu: VCPUArgument? = nil, situations: Set<String> = [], domidSelf: Set<String> = [])
  {
    self.domidSelf = domidSelf
    self.domain = domain
    self.parties = parties
    self.irq = irq
    self.pciDevice = pciDevice
    self.iomem = iomem
    self.ioport = ioport
    self.deviceTreePath = deviceTreePath
    self.label = label
    self.vcpu = vcpu
    self.situations = situations
  }
}

/// A vCPU a call names: a number, or the vCPU making the call.
public enum VCPUArgument: Sendable, Hashable, Codable, CustomStringConvertible {
  /// The calling vCPU itself (`current`).
  case current
  case number(Int)

  public init?(_ text: String) {
    if text == "current" { self = .current } else if let n = Int(text), n >= 0 { self = .number(n) } else { return nil }
  }
  public var description: String {
    switch self {
    case .current: "current"
    case .number(let n): "\(n)"
    }
  }
}

/// A flask check the policy refused, with what xen/xsm/flask/avc.c
/// avc_audit prints about it: the class, the refused permissions it audits
/// (not those a `dontaudit` rule silences) in the class's bit order, the
/// subject and object SIDs, and the domains or device the hook names.
public struct FlaskDenial: Sendable, Hashable {
  public var securityClass: String
  public var permissions: [String]
  public var ssid: UInt32
  public var tsid: UInt32
  /// The subject's domain when the check's subject is a domain.
  public var sourceDomid: Int?
  /// The object's domain when the check's object is a domain (hooks.c
  /// domain_has_perm passes both as the audit data's sdom and tdom).
  public var targetDomid: Int?
  /// The label endpoint of a device check (`pci_label`, `irq_label`,
  /// `iomem_label`, `ioport_label`, `dt_label`), or of a channel or new label.
  public var device: String?

  public init(securityClass: String, permissions: [String], ssid: UInt32, tsid: UInt32, sourceDomid: Int?,
    targetDomid: Int?, device: String?)
  {
    self.securityClass = securityClass
    self.permissions = permissions
    self.ssid = ssid
    self.tsid = tsid
    self.sourceDomid = sourceDomid
    self.targetDomid = targetDomid
    self.device = device
  }
}
