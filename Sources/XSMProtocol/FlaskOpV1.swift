import Foundation

// xsmd's wire contract, version 1: the bodies of its flask_op routes (one
// route per FLASK_* command, xen-xsm-facts §d). JSON field names are these
// properties in snake_case (see `WireJSON`).

/// `FLASK_GETENFORCE` / `FLASK_SETENFORCE` reply: whether flask enforces.
public struct EnforceReplyV1: Codable, Sendable, Equatable {
  public var enforcing: Bool
  public init(enforcing: Bool) { self.enforcing = enforcing }
}

/// `FLASK_SETENFORCE` request: the enforcing mode wanted.
public struct SetEnforceRequestV1: Codable, Sendable {
  public var enforcing: Bool
  public init(enforcing: Bool) { self.enforcing = enforcing }
}

/// `FLASK_CONTEXT_TO_SID` request: a security context.
public struct ContextRequestV1: Codable, Sendable {
  public var context: String
  public init(context: String) { self.context = context }
}

/// A reply carrying one SID (context-to-sid, create, relabel, member, get-peer-sid).
public struct SIDReplyV1: Codable, Sendable, Equatable {
  public var sid: UInt32
  public init(sid: UInt32) { self.sid = sid }
}

/// `FLASK_SID_TO_CONTEXT` request: a SID.
public struct SIDRequestV1: Codable, Sendable {
  public var sid: UInt32
  public init(sid: UInt32) { self.sid = sid }
}

/// `FLASK_SID_TO_CONTEXT` reply: the SID's security context.
public struct ContextReplyV1: Codable, Sendable, Equatable {
  public var context: String
  public init(context: String) { self.context = context }
}

/// `FLASK_ACCESS` request: classes and permissions by number (as Xen) or by name.
public struct AccessRequestV1: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRefV1
  /// Requested permission bits (default all).
  public var requested: UInt32?
  public init(ssid: UInt32, tsid: UInt32, tclass: ClassRefV1, requested: UInt32? = nil) {
    self.ssid = ssid
    self.tsid = tsid
    self.tclass = tclass
    self.requested = requested
  }
}

/// A security class given by number or by name (a JSON integer or string).
public enum ClassRefV1: Codable, Sendable, Equatable {
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

/// `FLASK_ACCESS` reply: the access vectors for (ssid, tsid, class).
public struct AccessReplyV1: Codable, Sendable, Equatable {
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

/// `FLASK_CREATE` / `FLASK_RELABEL` / `FLASK_MEMBER` request: (ssid, tsid, class).
public struct ComputeRequestV1: Codable, Sendable {
  public var ssid: UInt32
  public var tsid: UInt32
  public var tclass: ClassRefV1
  public init(ssid: UInt32, tsid: UInt32, tclass: ClassRefV1) {
    self.ssid = ssid
    self.tsid = tsid
    self.tclass = tclass
  }
}

/// `FLASK_POLICYVERS` reply: the policy version the hypervisor speaks.
public struct PolicyVersionReplyV1: Codable, Sendable, Equatable {
  public var version: Int
  public init(version: Int) { self.version = version }
}

/// `FLASK_GETBOOL` request: a boolean by id (position) or by name.
public struct BooleanRefV1: Codable, Sendable {
  public var id: Int?
  public var name: String?
  public init(id: Int? = nil, name: String? = nil) {
    self.id = id
    self.name = name
  }
}

/// `FLASK_GETBOOL` / `FLASK_SETBOOL` reply: a boolean's value in force and pending.
public struct BooleanReplyV1: Codable, Sendable, Equatable {
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

/// `FLASK_SETBOOL` request: a boolean by id or name, its new value, and whether to commit it.
public struct SetBooleanRequestV1: Codable, Sendable {
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

/// `FLASK_MLS` reply: whether the policy is MLS.
public struct MLSReplyV1: Codable, Sendable, Equatable {
  public var mls: Bool
  public init(mls: Bool) { self.mls = mls }
}

/// `FLASK_GETAVC_THRESHOLD` / `FLASK_SETAVC_THRESHOLD` reply: the AVC cache threshold.
public struct ThresholdReplyV1: Codable, Sendable, Equatable {
  public var threshold: Int
  public init(threshold: Int) { self.threshold = threshold }
}

/// `FLASK_SETAVC_THRESHOLD` request: the new AVC cache threshold.
public struct ThresholdRequestV1: Codable, Sendable {
  public var threshold: Int
  public init(threshold: Int) { self.threshold = threshold }
}

/// `FLASK_AVC_HASHSTATS` reply: entries and chain lengths of the AVC.
public struct HashStatsReplyV1: Codable, Sendable, Equatable {
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

/// `FLASK_AVC_CACHESTATS` reply: the AVC counters of one CPU.
public struct CacheStatsReplyV1: Codable, Sendable, Equatable {
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

/// `FLASK_ADD_OCONTEXT` / `FLASK_DEL_OCONTEXT` request: kind `pirq`, `ioport`, `iomem` or `pcidevice`.
public struct OcontextRequestV1: Codable, Sendable {
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

/// `FLASK_GET_PEER_SID` request: one of the caller's interdomain ports.
public struct PeerSIDRequestV1: Codable, Sendable {
  /// The caller's own interdomain port; ports are simulated as `remote domain → port` pairs.
  public var port: Int
  public init(port: Int) {
    self.port = port
  }
}

/// `FLASK_RELABEL_DOMAIN` request: a domain and the SID it is to get.
public struct RelabelDomainRequestV1: Codable, Sendable {
  /// A domid; leave it out for DOMID_SELF (the caller relabels itself).
  public var domid: Int?
  public var sid: UInt32
  public init(domid: Int? = nil, sid: UInt32) {
    self.domid = domid
    self.sid = sid
  }
}

/// `FLASK_DEVICETREE_LABEL` request: a device-tree path and its label.
public struct DeviceTreeLabelRequestV1: Codable, Sendable {
  /// 0 removes the label.
  public var sid: UInt32
  public var path: String
  public init(sid: UInt32, path: String) {
    self.sid = sid
    self.path = path
  }
}
