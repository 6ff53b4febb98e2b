import XSMCatalog

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

  public init(_ outcome: Outcome, _ layer: String, _ text: String, subject: String? = nil, object: String? = nil,
    rules: [String] = [])
  {
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

  public init(module: XSMModule, verdict: Verdict, error: String? = nil, trace: [TraceStep], wouldDeny: [String] = []) {
    self.module = module
    self.verdict = verdict
    self.error = error
    self.trace = trace
    self.wouldDeny = wouldDeny
  }
}

/// What a question is about beyond caller, op and target: the third domain
/// of two-domain ops and the device a device op names.
public struct QueryObjects: Sendable, Hashable, Codable {
  /// The third domain: the device model of `domctl.set_target`, the port
  /// owner of `evtchn.alloc_unbound`, the source of `grant.copy`. Defaults to the caller.
  public var domain: Int?
  public var irq: UInt32?
  public var pciDevice: UInt32?
  public var iomem: UInt64?
  public var ioport: UInt32?
  public var deviceTreePath: String?
  /// Situations of the call (`writable`, `revoke`); none by default.
  public var situations: Set<String>

  public init(domain: Int? = nil, irq: UInt32? = nil, pciDevice: UInt32? = nil, iomem: UInt64? = nil,
    ioport: UInt32? = nil, deviceTreePath: String? = nil, situations: Set<String> = [])
  {
    self.domain = domain
    self.irq = irq
    self.pciDevice = pciDevice
    self.iomem = iomem
    self.ioport = ioport
    self.deviceTreePath = deviceTreePath
    self.situations = situations
  }
}
