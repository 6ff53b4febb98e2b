import XSMCatalog

/// Who may invoke which op on whom, under one or more modules.
///
/// Domains that Xen cannot tell apart for a decision — same SIDs (plain,
/// self, target), flags and IOMMU mode — form one class; a pair of domains
/// is decided once per (caller class, target class, relation), where the
/// relation is whether they are the same domain, the caller is the target's
/// device model, the target is the caller's, or none of these. A 1000-domain
/// host of a few dozen labels then needs thousands of decisions per op, not
/// a million.
public struct AccessMatrix: Sendable, Codable {
  /// How two domains of a pair relate, as far as any module cares.
  public enum Relation: Int, Sendable, Codable, CaseIterable {
    case same, callerServesTarget, targetServesCaller, unrelated
  }

  /// One class of interchangeable domains.
  public struct DomainClass: Sendable, Codable {
    public var domids: [Int]
    public var representative: Int
    public var context: String
    public var flags: [String]
  }

  /// The verdicts of one op for one (caller class, target class, relation).
  public struct Cell: Sendable, Codable {
    public var callerClass: Int
    public var targetClass: Int
    public var relation: Relation
    /// How many (caller, target) pairs share this cell.
    public var pairs: Int
    /// Verdict by module, in the order of `modules`.
    public var verdicts: [Verdict]
    /// One (caller, target) pair of the cell, by domid: the pair the verdicts were decided on.
    public var example: [Int]
  }

  /// One op's cells and totals.
  public struct OpRow: Sendable, Codable {
    public var op: String
    public var cells: [Cell]
    /// Allowed pairs by module, in the order of `modules`.
    public var allowed: [Int]
    public var denied: [Int]
    public var invalid: [Int]
  }

  public var modules: [XSMModule]
  public var domains: [HostDomain]
  public var classes: [DomainClass]
  /// Class index of each domain, in `domains` order.
  public var classOf: [Int]
  public var rows: [OpRow]
  /// Distinct decisions made (cells × modules), for the benchmark.
  public var decisions: Int

  /// Computes the matrix for `ops` over `callers` × `targets` (all domains by
  /// default). `progress` is called with (ops done, ops total).
  public init(engine: DecisionEngine, ops: [Op], modules: [XSMModule], callers: [HostDomain]? = nil,
    targets: [HostDomain]? = nil, progress: ((Int, Int) -> Void)? = nil)
  {
    let host = engine.host
    let callers = callers ?? host.domains
    let targets = targets ?? host.domains
    self.modules = modules
    var all = callers
    for t in targets where !all.contains(where: { $0.domid == t.domid }) { all.append(t) }
    domains = all

    // Classes of interchangeable domains.
    struct Key: Hashable {
      var sid: UInt32?, selfSID: UInt32?, targetSID: UInt32?, flags: [String], iommu: IOMMUMode, context: String
      /// Xen's own gates read the kind (HVM targets, translated physmaps).
      var kind: DomainKind
      /// `set_target` refuses a device model that already serves a domain.
      var servesADomain: Bool
    }
    var classIndex: [Key: Int] = [:]
    var classes: [DomainClass] = []
    var classOf: [Int] = []
    for d in all {
      let key = Key(sid: d.sid, selfSID: d.selfSID, targetSID: d.targetSID, flags: d.flags.map(\.rawValue).sorted(),
        iommu: d.iommu, context: d.contextText, kind: d.kind, servesADomain: d.targetDomid != nil)
      if let i = classIndex[key] {
        classes[i].domids.append(d.domid)
        classOf.append(i)
      } else {
        classIndex[key] = classes.count
        classOf.append(classes.count)
        classes.append(DomainClass(domids: [d.domid], representative: d.domid, context: d.contextText, flags: key.flags))
      }
    }
    self.classes = classes
    self.classOf = classOf
    let position = Dictionary(all.enumerated().map { ($1.domid, $0) }, uniquingKeysWith: { a, _ in a })

    // Histogram of (caller class, target class, relation) with one
    // representative pair each: a flat table indexed by the three, so the
    // N² walk over pairs hashes nothing and copies no domain.
    struct Combo: Hashable {
      var caller: Int, target: Int, relation: Relation
    }
    let relationCount = Relation.allCases.count
    let classCount = classes.count
    var slot = [Int](repeating: -1, count: classCount * classCount * relationCount)
    var order: [Combo] = []
    var counts: [Int] = []
    var pairs: [(caller: Int, target: Int)] = []
    let targetClasses = targets.map { classOf[position[$0.domid]!] }
    for (ci, c) in callers.enumerated() {
      let cc = classOf[position[c.domid]!]
      for (ti, t) in targets.enumerated() {
        let relation = AccessMatrix.relation(c, t)
        let key = (cc * classCount + targetClasses[ti]) * relationCount + relation.rawValue
        if slot[key] >= 0 {
          counts[slot[key]] += 1
        } else {
          slot[key] = order.count
          order.append(Combo(caller: cc, target: targetClasses[ti], relation: relation))
          counts.append(1)
          pairs.append((ci, ti))
        }
      }
    }
    let entries = pairs.indices.map { i in (count: counts[i], caller: callers[pairs[i].caller], target: targets[pairs[i].target]) }

    var rows: [OpRow] = []
    var decisions = 0
    for (index, op) in ops.enumerated() {
      var row = OpRow(op: op.name, cells: [], allowed: Array(repeating: 0, count: modules.count),
        denied: Array(repeating: 0, count: modules.count), invalid: Array(repeating: 0, count: modules.count))
      // An op without a domain argument is one question per caller, not per pair.
      let targetless = op.positionalArgument == nil
      for (combo, entry) in zip(order, entries) {
        if targetless && combo.relation != .same { continue }
        let (target, objects) = OpQuestion.matrixCell(caller: entry.caller, op: op, target: entry.target)
        let verdicts = modules.map { module in
          engine.verdict(caller: entry.caller, op: op, target: target, module: module, objects: objects)
        }
        decisions += modules.count
        for (m, verdict) in verdicts.enumerated() {
          switch verdict {
          case .allowed: row.allowed[m] += entry.count
          case .denied: row.denied[m] += entry.count
          case .invalid: row.invalid[m] += entry.count
          }
        }
        row.cells.append(Cell(callerClass: combo.caller, targetClass: combo.target, relation: combo.relation,
          pairs: entry.count, verdicts: verdicts, example: [entry.caller.domid, entry.target.domid]))
      }
      rows.append(row)
      progress?(index + 1, ops.count)
    }
    self.rows = rows
    self.decisions = decisions
  }

  /// How two domains relate.
  public static func relation(_ caller: HostDomain, _ target: HostDomain) -> Relation {
    caller.domid == target.domid ? .same
      : caller.targetDomid == target.domid ? .callerServesTarget
      : target.targetDomid == caller.domid ? .targetServesCaller : .unrelated
  }

  /// A fast reader of one op's verdicts by domain position (indices into `domains`).
  public func reader(row: Int) -> (Int, Int, Int) -> Verdict? {
    var index: [Int: Int] = [:]
    let relations = Relation.allCases.count
    let classCount = classes.count
    for (i, cell) in rows[row].cells.enumerated() {
      index[(cell.callerClass * classCount + cell.targetClass) * relations + cell.relation.rawValue] = i
    }
    let cells = rows[row].cells
    let domains = self.domains
    let classOf = self.classOf
    return { caller, target, module in
      let relation = AccessMatrix.relation(domains[caller], domains[target])
      let key = (classOf[caller] * classCount + classOf[target]) * relations + relation.rawValue
      return index[key].map { cells[$0].verdicts[module] }
    }
  }

  /// The verdict of one pair for one op and module, read back from its cell.
  public func verdict(op: String, caller: HostDomain, target: HostDomain, module: XSMModule) -> Verdict? {
    guard let row = rows.first(where: { $0.op == op }), let m = modules.firstIndex(of: module),
      let ci = domains.firstIndex(where: { $0.domid == caller.domid }),
      let ti = domains.firstIndex(where: { $0.domid == target.domid })
    else { return nil }
    let relation = AccessMatrix.relation(caller, target)
    return row.cells.first {
      $0.callerClass == classOf[ci] && $0.targetClass == classOf[ti] && $0.relation == relation
    }?.verdicts[m]
  }
}
