import Foundation

// xsmd's wire contract, version 1: the access matrix (`/v1/matrix`).

/// `POST /v1/matrix` request: which ops (by name or family) under which modules; all legacy ops by default.
public struct MatrixRequestV1: Codable, Sendable {
  public var families: [String]?
  public var ops: [String]?
  public var modules: [ModuleV1]?
  public init(families: [String]? = nil, ops: [String]? = nil, modules: [ModuleV1]? = nil) {
    self.families = families
    self.ops = ops
    self.modules = modules
  }
}

/// `POST /v1/matrix` reply: who may invoke which op on whom. Domains Xen
/// cannot tell apart form one class, and each op's verdicts are given per
/// (caller class, target class, relation) cell.
public struct MatrixV1: Codable, Sendable {
  /// A domain of the host, with the SIDs Xen keeps for it.
  public struct Domain: Codable, Sendable, Hashable {
    /// A capability a domain holds.
    public enum Flag: String, Codable, Sendable, Hashable, CaseIterable { case control, hardware, xenstore }
    /// How the domain's IOMMU is set up.
    public enum IOMMU: String, Codable, Sendable, Hashable, CaseIterable { case intremap, nointremap, none }
    /// How the domain is virtualised.
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable { case pv, hvm, pvh }

    public var domid: Int
    public var name: String
    public var flags: [Flag]
    /// The domain this one is the device model of (`set_target`).
    public var targetDomid: Int?
    public var iommu: IOMMU
    public var kind: Kind
    /// A domid no domain of the host has.
    public var missing: Bool
    public var contextText: String
    /// The domain's SID, self SID and (for a device model) target SID; absent without a policy.
    public var sid: UInt32?
    public var selfSID: UInt32?
    public var targetSID: UInt32?

    public init(domid: Int, name: String, flags: [Flag], targetDomid: Int?, iommu: IOMMU, kind: Kind, missing: Bool,
      contextText: String, sid: UInt32?, selfSID: UInt32?, targetSID: UInt32?)
    {
      self.domid = domid
      self.name = name
      self.flags = flags
      self.targetDomid = targetDomid
      self.iommu = iommu
      self.kind = kind
      self.missing = missing
      self.contextText = contextText
      self.sid = sid
      self.selfSID = selfSID
      self.targetSID = targetSID
    }
  }

  /// One class of interchangeable domains.
  public struct DomainClass: Codable, Sendable {
    public var domids: [Int]
    public var representative: Int
    public var context: String
    public var flags: [String]
    public init(domids: [Int], representative: Int, context: String, flags: [String]) {
      self.domids = domids
      self.representative = representative
      self.context = context
      self.flags = flags
    }
  }

  /// How the two domains of a pair relate (a JSON integer).
  public enum Relation: Int, Codable, Sendable, CaseIterable {
    case same, callerServesTarget, targetServesCaller, unrelated
  }

  /// The verdicts of one op for one (caller class, target class, relation).
  public struct Cell: Codable, Sendable {
    public var callerClass: Int
    public var targetClass: Int
    public var relation: Relation
    /// How many (caller, target) pairs share this cell.
    public var pairs: Int
    /// Verdict by module, in the order of `modules`.
    public var verdicts: [VerdictV1]
    /// One (caller, target) pair of the cell, by domid: the pair the verdicts were decided on.
    public var example: [Int]
    public init(callerClass: Int, targetClass: Int, relation: Relation, pairs: Int, verdicts: [VerdictV1],
      example: [Int])
    {
      self.callerClass = callerClass
      self.targetClass = targetClass
      self.relation = relation
      self.pairs = pairs
      self.verdicts = verdicts
      self.example = example
    }
  }

  /// One op's cells and totals.
  public struct OpRow: Codable, Sendable {
    public var op: String
    public var cells: [Cell]
    /// Allowed pairs by module, in the order of `modules`.
    public var allowed: [Int]
    public var denied: [Int]
    public var invalid: [Int]
    public init(op: String, cells: [Cell], allowed: [Int], denied: [Int], invalid: [Int]) {
      self.op = op
      self.cells = cells
      self.allowed = allowed
      self.denied = denied
      self.invalid = invalid
    }
  }

  public var modules: [ModuleV1]
  public var domains: [Domain]
  public var classes: [DomainClass]
  /// Class index of each domain, in `domains` order.
  public var classOf: [Int]
  public var rows: [OpRow]
  /// Distinct decisions made (cells × modules).
  public var decisions: Int

  public init(modules: [ModuleV1], domains: [Domain], classes: [DomainClass], classOf: [Int], rows: [OpRow],
    decisions: Int)
  {
    self.modules = modules
    self.domains = domains
    self.classes = classes
    self.classOf = classOf
    self.rows = rows
    self.decisions = decisions
  }
}
