import Foundation

// xsmd's wire contract, version 1: XSM questions (`/v1/can`, `/v1/can/batch`),
// the decisions that answer them, and which module is in place.

/// An XSM module Xen can be booted with (`xsm=`).
public enum ModuleV1: String, Codable, Sendable, CaseIterable {
  case dummy, silo, flask
}

/// The outcome of one (caller, op, target) question under one module.
public enum VerdictV1: String, Codable, Sendable, Hashable, CaseIterable {
  case allowed
  case denied
  /// Xen refuses the call whatever the module says.
  case invalid
}

/// One line of a decision's trace: what was checked and how it came out.
public struct TraceStepV1: Codable, Sendable, Hashable {
  /// How a step came out.
  public enum Outcome: String, Codable, Sendable, Hashable, CaseIterable {
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
  /// For a granted flask check, when the policy came from source: the source rules that grant it.
  public var origins: [RuleCitationV1]?
  /// For a refused check: the allow rules for the same source, target and class.
  public var closest: [RuleCitationV1]?
  /// For a refused check: allow rules that grant it under a boolean branch that is off.
  public var switchedOff: [RuleCitationV1]?
  /// Neverallow rules that forbid the permission.
  public var forbiddenBy: [RuleCitationV1]?
  /// Why the step names no source rules.
  public var originNote: String?

  public init(outcome: Outcome, layer: String, text: String, subject: String? = nil, object: String? = nil,
    rules: [String] = [], source: String? = nil)
  {
    self.outcome = outcome
    self.layer = layer
    self.text = text
    self.subject = subject
    self.object = object
    self.rules = rules
    self.source = source
  }
}

/// A policy rule named by where it is written: file and line, the rule after
/// m4, the `if` condition it sits under and the macro calls that produced it.
public struct RuleCitationV1: Codable, Sendable, Hashable {
  /// `allow`, `auditallow`, `dontaudit`, `neverallow`.
  public var kind: String
  public var file: String
  public var line: Int
  /// 0 when only the line is known.
  public var column: Int
  public var rule: String
  /// Outermost first; empty when the rule is written as it is.
  public var macroCalls: [MacroCallV1]
  public var condition: String?

  public init(kind: String, file: String, line: Int, column: Int, rule: String, macroCalls: [MacroCallV1],
    condition: String?)
  {
    self.kind = kind
    self.file = file
    self.line = line
    self.column = column
    self.rule = rule
    self.macroCalls = macroCalls
    self.condition = condition
  }
}

/// One macro call on the way from a policy file to a rule.
public struct MacroCallV1: Codable, Sendable, Hashable {
  public var name: String
  /// The call as written (`toolstack_manages(dom0_t, domU_t)`).
  public var call: String
  public var file: String
  public var line: Int

  public init(name: String, call: String, file: String, line: Int) {
    self.name = name
    self.call = call
    self.file = file
    self.line = line
  }
}

/// How a refusal reaches the caller when it is not the hypercall's errno.
public enum DeliveryV1: String, Codable, Sendable, Hashable, CaseIterable {
  /// A different errno than the module's.
  case errno
  /// A status field of the op (`GNTST_permission_denied`); the hypercall itself returns 0.
  case status
  /// The per-entry error slot of a batched op; the hypercall itself returns 0.
  case entry
  /// The call succeeds with a placeholder result (`<denied>`, an empty string, 0).
  case value
}

/// One module's decision on a question, with its trace.
public struct DecisionV1: Codable, Sendable, Hashable {
  public var module: ModuleV1
  public var verdict: VerdictV1
  /// The error Xen returns when not allowed (`-EPERM`, `-EACCES`, `-ENOSYS`, `-EINVAL`).
  public var error: String?
  public var trace: [TraceStepV1]
  /// Under permissive flask: the checks enforcing mode would have denied.
  public var wouldDeny: [String]
  /// What the caller sees when that is not `error`: a status or a placeholder result.
  public var returned: String?
  /// How a refusal reaches the caller, when not as the hypercall's errno.
  public var delivery: DeliveryV1?

  public init(module: ModuleV1, verdict: VerdictV1, error: String? = nil, trace: [TraceStepV1],
    wouldDeny: [String] = [], returned: String? = nil, delivery: DeliveryV1? = nil)
  {
    self.module = module
    self.verdict = verdict
    self.error = error
    self.trace = trace
    self.wouldDeny = wouldDeny
    self.returned = returned
    self.delivery = delivery
  }
}

/// `POST /v1/can` request: may a domain invoke an op on another?
public struct CanRequestV1: Codable, Sendable {
  /// Defaults to the calling domain.
  public var caller: String?
  public var op: String
  public var target: String?
  public var module: ModuleV1?
  public var allModules: Bool?
  /// Include each decision's trace (hook, dummy rule, Flask checks with contexts and rules); off by default.
  public var why: Bool?
  /// The op's other arguments as `NAME=VALUE` (`remote=dom0`, `vcpu=current`), as `xsmq can --arg` takes them.
  public var arguments: [String]?
  /// Situations of the call (`writable`, `self`), as `xsmq can --situation` takes them.
  public var situations: [String]?
  /// The op's second domain argument, as `xsmq can --object` takes it.
  public var object: String?
  /// The device the op names, as `xsmq can --irq/--pci/--iomem/--ioport/--dt` take it.
  public var irq: UInt32?
  /// A PCI device as `SEG:BUS:DEV.FN` or a 32-bit SBDF number.
  public var pci: String?
  /// An I/O memory frame number (`0x` for hex).
  public var iomem: String?
  /// An I/O port (`0x` for hex).
  public var ioport: String?
  /// A device-tree path.
  public var dt: String?
  public init(caller: String? = nil, op: String, target: String? = nil, module: ModuleV1? = nil,
    allModules: Bool? = nil, why: Bool? = nil, arguments: [String]? = nil, situations: [String]? = nil,
    object: String? = nil, irq: UInt32? = nil, pci: String? = nil, iomem: String? = nil, ioport: String? = nil,
    dt: String? = nil)
  {
    self.caller = caller
    self.op = op
    self.target = target
    self.module = module
    self.allModules = allModules
    self.why = why
    self.arguments = arguments
    self.situations = situations
    self.object = object
    self.irq = irq
    self.pci = pci
    self.iomem = iomem
    self.ioport = ioport
    self.dt = dt
  }
}

/// `POST /v1/can` reply: the verdict under the module asked for, and each module's decision.
public struct CanReplyV1: Codable, Sendable {
  public var caller: String
  public var op: String
  public var target: String
  public var verdict: VerdictV1
  public var decisions: [DecisionV1]
  public var sequence: UInt64?
  /// The op's arguments as bound, defaults included.
  public var arguments: [String]?
  public init(caller: String, op: String, target: String, verdict: VerdictV1, decisions: [DecisionV1],
    sequence: UInt64? = nil, arguments: [String]? = nil)
  {
    self.caller = caller
    self.op = op
    self.target = target
    self.verdict = verdict
    self.decisions = decisions
    self.sequence = sequence
    self.arguments = arguments
  }
}

/// `POST /v1/can/batch` request: many questions in one request; verdicts only.
public struct BatchRequestV1: Codable, Sendable {
  /// One question of a batch.
  public struct Query: Codable, Sendable {
    public var caller: String
    public var op: String
    public var target: String?
    /// The op's other arguments as `NAME=VALUE`, as `/v1/can` takes them.
    public var arguments: [String]?
    /// Situations of the call, as `/v1/can` takes them.
    public var situations: [String]?
    /// The second domain and the device, as `/v1/can` takes them.
    public var object: String?
    public var irq: UInt32?
    public var pci: String?
    public var iomem: String?
    public var ioport: String?
    public var dt: String?
    public init(caller: String, op: String, target: String?, arguments: [String]? = nil, situations: [String]? = nil,
      object: String? = nil, irq: UInt32? = nil, pci: String? = nil, iomem: String? = nil, ioport: String? = nil,
      dt: String? = nil)
    {
      self.caller = caller
      self.op = op
      self.target = target
      self.arguments = arguments
      self.situations = situations
      self.object = object
      self.irq = irq
      self.pci = pci
      self.iomem = iomem
      self.ioport = ioport
      self.dt = dt
    }
  }
  public var module: ModuleV1?
  public var queries: [Query]
  public init(module: ModuleV1?, queries: [Query]) {
    self.module = module
    self.queries = queries
  }
}

/// `POST /v1/can/batch` reply: one verdict per query, in order.
public struct BatchReplyV1: Codable, Sendable {
  public var verdicts: [VerdictV1]
  public var sequence: UInt64?
  public init(verdicts: [VerdictV1], sequence: UInt64? = nil) {
    self.verdicts = verdicts
    self.sequence = sequence
  }
}

/// `GET /v1/xsm/identity` reply: which XSM module is in place and with what policy.
public struct IdentityV1: Codable, Sendable, Hashable {
  public var system: String
  public var module: ModuleV1
  public var enforcing: Bool?
  public var policySource: String
  public var policyVersion: Int?
  public var policyDigest: String?
  public var policyBytes: Int?
  public var mls: Bool?
  public var handleUnknown: String?
  /// Boolean values in force, by name.
  public var booleans: [String: Bool]
  /// The security server's sequence number (moves on every load, commit and switch to enforcing).
  public var sequence: UInt64?
  public var domains: Int

  public init(system: String, module: ModuleV1, enforcing: Bool?, policySource: String, policyVersion: Int?,
    policyDigest: String?, policyBytes: Int?, mls: Bool?, handleUnknown: String?, booleans: [String: Bool],
    sequence: UInt64?, domains: Int)
  {
    self.system = system
    self.module = module
    self.enforcing = enforcing
    self.policySource = policySource
    self.policyVersion = policyVersion
    self.policyDigest = policyDigest
    self.policyBytes = policyBytes
    self.mls = mls
    self.handleUnknown = handleUnknown
    self.booleans = booleans
    self.sequence = sequence
    self.domains = domains
  }
}

/// One entry of the decision log: a `/v1/can` question and its verdict.
public struct DecisionLogEntryV1: Codable, Sendable, Hashable {
  /// Increases by one per logged decision; the cursor of `GET /v1/decisions` (`after`).
  public var id: Int64
  /// Seconds since 1970-01-01 UTC.
  public var time: Double
  public var caller: String
  public var op: String
  public var target: String
  public var module: ModuleV1
  public var verdict: VerdictV1
  /// The security server's sequence number the decision was made under.
  public var sequence: UInt64

  public init(id: Int64, time: Double, caller: String, op: String, target: String, module: ModuleV1,
    verdict: VerdictV1, sequence: UInt64)
  {
    self.id = id
    self.time = time
    self.caller = caller
    self.op = op
    self.target = target
    self.module = module
    self.verdict = verdict
    self.sequence = sequence
  }
}

/// `GET /v1/decisions` reply: one page of the decision log, oldest first.
public struct DecisionPageV1: Codable, Sendable, Hashable {
  public var decisions: [DecisionLogEntryV1]
  /// Pass as `after` for the next page; absent when this page is the last one so far.
  public var next: Int64?

  public init(decisions: [DecisionLogEntryV1], next: Int64?) {
    self.decisions = decisions
    self.next = next
  }
}

/// Which entries `GET /v1/decisions` returns (its query parameters).
public struct DecisionQueryV1: Sendable, Hashable {
  /// Entries with an id above this one (the previous page's `next`); 0 starts at the oldest.
  public var after: Int64
  /// At most this many entries (1 to `maximumLimit`).
  public var limit: Int
  public var caller: String?
  public var op: String?
  public var verdict: VerdictV1?
  /// Seconds since 1970: entries at or after `since` and before `until`.
  public var since: Double?
  public var until: Double?

  public static let defaultLimit = 100
  public static let maximumLimit = 1000

  public init(after: Int64 = 0, limit: Int = DecisionQueryV1.defaultLimit, caller: String? = nil, op: String? = nil,
    verdict: VerdictV1? = nil, since: Double? = nil, until: Double? = nil)
  {
    self.after = after
    self.limit = limit
    self.caller = caller
    self.op = op
    self.verdict = verdict
    self.since = since
    self.until = until
  }
}
