import Foundation

// xsmd's wire contract, version 1: the simulated host's domain table (`/v1/domains`).

/// A domain as `/v1/domains` lists it.
public struct DomainRecordV1: Codable, Sendable, Equatable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]
  public var target: Int?
  public var iommu: String
  /// `pv`, `hvm` or `pvh`.
  public var kind: String
  public var sid: UInt32?
  public init(
    domid: Int, name: String, context: String, flags: [String], target: Int? = nil, iommu: String, kind: String,
    sid: UInt32? = nil
  ) {
    self.domid = domid
    self.name = name
    self.context = context
    self.flags = flags
    self.target = target
    self.iommu = iommu
    self.kind = kind
    self.sid = sid
  }
}

/// `POST /v1/domains` request: a new domain.
public struct AddDomainRequestV1: Codable, Sendable {
  public var domid: Int
  public var name: String
  public var context: String
  public var flags: [String]?
  public var target: String?
  public var iommu: String?
  /// `pv` (the default), `hvm` or `pvh`, as the system file's `kind`.
  public var kind: String?
  public init(
    domid: Int, name: String, context: String, flags: [String]? = nil, target: String? = nil, iommu: String? = nil,
    kind: String? = nil
  ) {
    self.domid = domid
    self.name = name
    self.context = context
    self.flags = flags
    self.target = target
    self.iommu = iommu
    self.kind = kind
  }
}

/// `POST /v1/domains/{domid}/relabel` request: the domain's new security context.
public struct RelabelRequestV1: Codable, Sendable {
  public var context: String
  public init(context: String) { self.context = context }
}
