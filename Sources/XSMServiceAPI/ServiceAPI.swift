import Foundation
import XSMCatalog
import XSMEngine

// The contract between the service state (XSMService) and its HTTP layer
// (XSMServiceHTTP): every operation xsmd answers, its request and reply.
// JSON field names are these properties in snake_case.

/// A refusal or failure the HTTP layer turns into a 4xx/5xx with a JSON body.
public struct ServiceError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
  /// HTTP status: 400 malformed, 403 denied by Xen's guard, 404 unknown name/SID,
  /// 409 conflict (EEXIST), 413 too large, 422 rejected by the policy, 501 not under this module, 500 internal.
  public var status: Int
  /// A stable id: `request.malformed`, `guard.denied`, `flask.unknown-sid`, ...
  public var code: String
  /// The errno Xen would return (`-EACCES`, `-EPERM`, `-ENOSYS`, `-EINVAL`, `-ENOENT`, `-EEXIST`), when one applies.
  public var errno: String?
  public var message: String
  /// For a flask_op command Xen's guard denied: the decision's trace, in the
  /// shape `/v1/can` gives it (the guard is the decision of the command's
  /// `xsm.flask_op.*` op).
  public var trace: [TraceStep]?

  public init(_ status: Int, _ code: String, _ message: String, errno: String? = nil, trace: [TraceStep]? = nil) {
    self.status = status
    self.code = code
    self.message = message
    self.errno = errno
    self.trace = trace
  }
  public var description: String { "\(code): \(message)" }
}

/// Who is asking: the calling domain, by `domN` or name.
public struct Caller: Sendable, Hashable {
  public var domain: String
  public init(_ domain: String) { self.domain = domain }
}

// MARK: flask_op requests and replies (xen-xsm-facts §d)

public struct EnforceReply: Codable, Sendable, Equatable {
  public var enforcing: Bool
  public init(enforcing: Bool) { self.enforcing = enforcing }
}
public struct SetEnforceRequest: Codable, Sendable {
  public var enforcing: Bool
  public init(enforcing: Bool) { self.enforcing = enforcing }
}
public struct ContextRequest: Codable, Sendable {
  public var context: String
  public init(context: String) { self.context = context }
}
public struct SIDReply: Codable, Sendable, Equatable {
  public var sid: UInt32
  public init(sid: UInt32) { self.sid = sid }
}
public struct SIDRequest: Codable, Sendable {
  public var sid: UInt32
  public init(sid: UInt32) { self.sid = sid }
}
public struct ContextReply: Codable, Sendable, Equatable {
  public var context: String
  public init(context: String) { self.context = context }
}
/// `FLASK_ACCESS`: classes and permissions by number (as Xen) or by name.
public struct AccessRequest: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRef
  /// Requested permission bits (default all).
  public var requested: UInt32?
  public init(ssid: UInt32, tsid: UInt32, tclass: ClassRef, requested: UInt32? = nil) {
    self.ssid = ssid
    self.tsid = tsid
    self.tclass = tclass
    self.requested = requested
  }
}
/// A class given by number or by name.
public enum ClassRef: Codable, Sendable, Equatable {
  case number(Int)
  case name(String)
  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .name(try c.decode(String.self)) }
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .number(let n): try c.encode(n)
    case .name(let s): try c.encode(s)
    }
  }
}
public struct AccessReply: Codable, Sendable, Equatable {
  public var allowed: UInt32
  public var auditAllow: UInt32
  public var auditDeny: UInt32
  public var sequence: UInt64
  /// The allowed permissions by name, for people.
  public var allowedNames: [String]
  public init(allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32, sequence: UInt64, allowedNames: [String]) {
    self.allowed = allowed
    self.auditAllow = auditAllow
    self.auditDeny = auditDeny
    self.sequence = sequence
    self.allowedNames = allowedNames
  }
}
public struct ComputeRequest: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRef
  public init(ssid: UInt32, tsid: UInt32, tclass: ClassRef) {
    self.ssid = ssid
    self.tsid = tsid
    self.tclass = tclass
  }
}
public struct PolicyVersionReply: Codable, Sendable, Equatable {
  public var version: Int
  public init(version: Int) { self.version = version }
}
/// `FLASK_GETBOOL`: by id (position) or by name.
public struct BooleanRef: Codable, Sendable {
  public var id: Int?
  public var name: String?
  public init(id: Int? = nil, name: String? = nil) {
    self.id = id
    self.name = name
  }
}
public struct BooleanReply: Codable, Sendable, Equatable {
  public var id: Int
  public var name: String
  /// The value in force.
  public var enforcing: Bool
  /// The value waiting for a commit (equal to `enforcing` when none is pending).
  public var pending: Bool
  public init(id: Int, name: String, enforcing: Bool, pending: Bool) {
    self.id = id
    self.name = name
    self.enforcing = enforcing
    self.pending = pending
  }
}
public struct SetBooleanRequest: Codable, Sendable {
  public var id: Int?
  public var name: String?
  public var value: Bool
  public var commit: Bool
  public init(id: Int? = nil, name: String? = nil, value: Bool, commit: Bool) {
    self.id = id
    self.name = name
    self.value = value
    self.commit = commit
  }
}
public struct MLSReply: Codable, Sendable, Equatable {
  public var mls: Bool
  public init(mls: Bool) { self.mls = mls }
}
public struct ThresholdReply: Codable, Sendable, Equatable {
  public var threshold: Int
  public init(threshold: Int) { self.threshold = threshold }
}
public struct ThresholdRequest: Codable, Sendable {
  public var threshold: Int
  public init(threshold: Int) { self.threshold = threshold }
}
public struct HashStatsReply: Codable, Sendable, Equatable {
  public var entries: Int
  public var bucketsUsed: Int
  public var bucketsTotal: Int
  public var maxChainLength: Int
  public init(entries: Int, bucketsUsed: Int, bucketsTotal: Int, maxChainLength: Int) {
    self.entries = entries
    self.bucketsUsed = bucketsUsed
    self.bucketsTotal = bucketsTotal
    self.maxChainLength = maxChainLength
  }
}
public struct CacheStatsReply: Codable, Sendable, Equatable {
  public var cpu: Int
  public var lookups: Int
  public var hits: Int
  public var misses: Int
  public var allocations: Int
  public var reclaims: Int
  public var frees: Int
  public init(cpu: Int, lookups: Int, hits: Int, misses: Int, allocations: Int, reclaims: Int, frees: Int) {
    self.cpu = cpu
    self.lookups = lookups
    self.hits = hits
    self.misses = misses
    self.allocations = allocations
    self.reclaims = reclaims
    self.frees = frees
  }
}
/// `FLASK_ADD_OCONTEXT` / `FLASK_DEL_OCONTEXT`: kind `pirq`, `ioport`, `iomem` or `pcidevice`.
public struct OcontextRequest: Codable, Sendable {
  public var kind: String
  public var sid: UInt32?
  public var low: UInt64
  public var high: UInt64?
  public init(kind: String, sid: UInt32? = nil, low: UInt64, high: UInt64? = nil) {
    self.kind = kind
    self.sid = sid
    self.low = low
    self.high = high
  }
}
public struct PeerSIDRequest: Codable, Sendable {
  /// The caller's own interdomain port; ports are simulated as `remote domain → port` pairs.
  public var port: Int
  public init(port: Int) {
    self.port = port
  }
}
public struct RelabelDomainRequest: Codable, Sendable {
  /// A domid; leave it out for DOMID_SELF (the caller relabels itself).
  public var domid: Int?
  public var sid: UInt32
  public init(domid: Int? = nil, sid: UInt32) {
    self.domid = domid
    self.sid = sid
  }
}
public struct DeviceTreeLabelRequest: Codable, Sendable {
  /// 0 removes the label.
  public var sid: UInt32
  public var path: String
  public init(sid: UInt32, path: String) {
    self.sid = sid
    self.path = path
  }
}
public struct Empty: Codable, Sendable, Equatable { public init() {} }

// MARK: Decisions and domains

public struct CanRequest: Codable, Sendable {
  /// Defaults to the calling domain.
  public var caller: String?
  public var op: String
  public var target: String?
  public var module: XSMModule?
  public var allModules: Bool?
  /// Include each decision's trace (hook, dummy rule, Flask checks with contexts and rules); off by default.
  public var why: Bool?
  /// The op's other arguments as `NAME=VALUE` (`remote=dom0`, `vcpu=current`), as `xsmq can --arg` takes them.
  public var arguments: [String]?
  /// Situations of the call (`writable`, `self`), as `xsmq can --situation` takes them.
  public var situations: [String]?
  public init(caller: String? = nil, op: String, target: String? = nil, module: XSMModule? = nil,
    allModules: Bool? = nil, why: Bool? = nil, arguments: [String]? = nil, situations: [String]? = nil)
  {
    self.arguments = arguments
    self.situations = situations
    self.caller = caller
    self.op = op
    self.target = target
    self.module = module
    self.allModules = allModules
    self.why = why
  }
}
public struct CanReply: Codable, Sendable {
  public var caller: String
  public var op: String
  public var target: String
  public var verdict: Verdict
  public var decisions: [Decision]
  public var sequence: UInt64?
  /// The op's arguments as bound, defaults included.
  public var arguments: [String]?
  public init(caller: String, op: String, target: String, verdict: Verdict, decisions: [Decision], sequence: UInt64? = nil,
    arguments: [String]? = nil)
  {
    self.arguments = arguments
    self.caller = caller
    self.op = op
    self.target = target
    self.verdict = verdict
    self.decisions = decisions
    self.sequence = sequence
  }
}
/// Many questions in one request; verdicts only.
public struct BatchRequest: Codable, Sendable {
  public struct Query: Codable, Sendable {
    public var caller: String
    public var op: String
    public var target: String?
    /// The op's other arguments as `NAME=VALUE`, as `/v1/can` takes them.
    public var arguments: [String]?
    /// Situations of the call, as `/v1/can` takes them.
    public var situations: [String]?
    public init(caller: String, op: String, target: String?, arguments: [String]? = nil, situations: [String]? = nil) {
      self.caller = caller
      self.op = op
      self.target = target
      self.arguments = arguments
      self.situations = situations
    }
  }
  public var module: XSMModule?
  public var queries: [Query]
  public init(module: XSMModule?, queries: [Query]) {
    self.module = module
    self.queries = queries
  }
}
public struct BatchReply: Codable, Sendable {
  public var verdicts: [Verdict]
  public var sequence: UInt64?
  public init(verdicts: [Verdict], sequence: UInt64? = nil) {
    self.verdicts = verdicts
    self.sequence = sequence
  }
}
public struct MatrixRequest: Codable, Sendable {
  public var families: [String]?
  public var ops: [String]?
  public var modules: [XSMModule]?
  public init(families: [String]? = nil, ops: [String]? = nil, modules: [XSMModule]? = nil) {
    self.families = families
    self.ops = ops
    self.modules = modules
  }
}
public struct DomainRecord: Codable, Sendable, Equatable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]
  public var target: Int?
  public var iommu: String
  public var sid: UInt32?
  public init(domid: Int, name: String, context: String, flags: [String], target: Int? = nil, iommu: String, sid: UInt32? = nil) {
    self.domid = domid
    self.name = name
    self.context = context
    self.flags = flags
    self.target = target
    self.iommu = iommu
    self.sid = sid
  }
}
public struct AddDomainRequest: Codable, Sendable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]?
  public var target: String?
  public var iommu: String?
  public init(domid: Int, name: String, context: String, flags: [String]? = nil, target: String? = nil, iommu: String? = nil) {
    self.domid = domid
    self.name = name
    self.context = context
    self.flags = flags
    self.target = target
    self.iommu = iommu
  }
}
public struct RelabelRequest: Codable, Sendable {
  public var context: String
  public init(context: String) { self.context = context }
}

/// What `/metrics` reports beyond per-route counters (kept by the HTTP layer).
public struct ServiceGauges: Sendable {
  public var sequence: UInt64
  public var cache: AVCStatistics
  public var cacheEntries: Int
  public var domains: Int
  public var decisionsLogged: Int
  public init(sequence: UInt64, cache: AVCStatistics, cacheEntries: Int, domains: Int, decisionsLogged: Int) {
    self.sequence = sequence
    self.cache = cache
    self.cacheEntries = cacheEntries
    self.domains = domains
    self.decisionsLogged = decisionsLogged
  }
}
