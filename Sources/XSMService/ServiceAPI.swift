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

  public init(_ status: Int, _ code: String, _ message: String, errno: String? = nil) {
    self.status = status
    self.code = code
    self.message = message
    self.errno = errno
  }
  public var description: String { "\(code): \(message)" }
}

/// Who is asking: the calling domain, by `domN` or name.
public struct Caller: Sendable, Hashable {
  public var domain: String
  public init(_ domain: String) { self.domain = domain }
}

// MARK: flask_op requests and replies (xen-xsm-facts §d)

public struct EnforceReply: Codable, Sendable, Equatable { public var enforcing: Bool }
public struct SetEnforceRequest: Codable, Sendable { public var enforcing: Bool }
public struct ContextRequest: Codable, Sendable { public var context: String }
public struct SIDReply: Codable, Sendable, Equatable { public var sid: UInt32 }
public struct SIDRequest: Codable, Sendable { public var sid: UInt32 }
public struct ContextReply: Codable, Sendable, Equatable { public var context: String }
/// `FLASK_ACCESS`: classes and permissions by number (as Xen) or by name.
public struct AccessRequest: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRef
  /// Requested permission bits (default all).
  public var requested: UInt32?
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
}
public struct ComputeRequest: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRef
}
public struct PolicyVersionReply: Codable, Sendable, Equatable { public var version: Int }
/// `FLASK_GETBOOL`: by id (position) or by name.
public struct BooleanRef: Codable, Sendable {
  public var id: Int?
  public var name: String?
}
public struct BooleanReply: Codable, Sendable, Equatable {
  public var id: Int
  public var name: String
  /// The value in force.
  public var enforcing: Bool
  /// The value waiting for a commit (equal to `enforcing` when none is pending).
  public var pending: Bool
}
public struct SetBooleanRequest: Codable, Sendable {
  public var id: Int?
  public var name: String?
  public var value: Bool
  public var commit: Bool
}
public struct MLSReply: Codable, Sendable, Equatable { public var mls: Bool }
public struct ThresholdReply: Codable, Sendable, Equatable { public var threshold: Int }
public struct ThresholdRequest: Codable, Sendable { public var threshold: Int }
public struct HashStatsReply: Codable, Sendable, Equatable {
  public var entries: Int
  public var bucketsUsed: Int
  public var bucketsTotal: Int
  public var maxChainLength: Int
}
public struct CacheStatsReply: Codable, Sendable, Equatable {
  public var cpu: Int
  public var lookups: Int
  public var hits: Int
  public var misses: Int
  public var allocations: Int
  public var reclaims: Int
  public var frees: Int
}
/// `FLASK_ADD_OCONTEXT` / `FLASK_DEL_OCONTEXT`: kind `pirq`, `ioport`, `iomem` or `pcidevice`.
public struct OcontextRequest: Codable, Sendable {
  public var kind: String
  public var sid: UInt32?
  public var low: UInt64
  public var high: UInt64?
}
public struct PeerSIDRequest: Codable, Sendable {
  /// The caller's own interdomain port; ports are simulated as `remote domain → port` pairs.
  public var port: Int
}
public struct RelabelDomainRequest: Codable, Sendable {
  /// A domid; leave it out for DOMID_SELF (the caller relabels itself).
  public var domid: Int?
  public var sid: UInt32
}
public struct DeviceTreeLabelRequest: Codable, Sendable {
  /// 0 removes the label.
  public var sid: UInt32
  public var path: String
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
}
public struct CanReply: Codable, Sendable {
  public var caller: String
  public var op: String
  public var target: String
  public var verdict: Verdict
  public var decisions: [Decision]
  public var sequence: UInt64?
}
/// Many questions in one request; verdicts only.
public struct BatchRequest: Codable, Sendable {
  public struct Query: Codable, Sendable {
    public var caller: String
    public var op: String
    public var target: String?
    public init(caller: String, op: String, target: String?) {
      self.caller = caller
      self.op = op
      self.target = target
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
}
public struct MatrixRequest: Codable, Sendable {
  public var families: [String]?
  public var ops: [String]?
  public var modules: [XSMModule]?
}
public struct DomainRecord: Codable, Sendable, Equatable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]
  public var target: Int?
  public var iommu: String
  public var sid: UInt32?
}
public struct AddDomainRequest: Codable, Sendable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]?
  public var target: String?
  public var iommu: String?
}
public struct RelabelRequest: Codable, Sendable { public var context: String }

/// What `/metrics` reports beyond per-route counters (kept by the HTTP layer).
public struct ServiceGauges: Sendable {
  public var sequence: UInt64
  public var cache: AVCStatistics
  public var cacheEntries: Int
  public var domains: Int
  public var decisionsLogged: Int
}
