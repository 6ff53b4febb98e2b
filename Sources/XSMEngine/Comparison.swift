import XSMCatalog

/// Where dummy, silo and flask disagree on a host, grouped by op. Expected
/// differences — silo's event channel/grant/Argo rule, and flask_op existing
/// only under flask — are kept apart from unexpected ones, where the policy
/// and the dummy rule disagree.
public struct ModuleComparison: Sendable, Codable {
  /// One disagreement: a class of (caller, target) pairs and the three verdicts.
  public struct Difference: Sendable, Codable {
    /// An example pair, by domain label.
    public var caller: String
    public var target: String
    /// The example's question as `xsmq can CALLER OP` takes it (`target=web owner=dom3`); empty for ops without arguments.
    public var arguments: [String]
    public var relation: AccessMatrix.Relation
    public var pairs: Int
    public var dummy: Verdict
    public var silo: Verdict
    public var flask: Verdict
    public var reason: String
  }

  /// The differences of one op.
  public struct OpDifferences: Sendable, Codable {
    public var op: String
    public var expected: [Difference]
    public var unexpected: [Difference]
  }

  public var ops: [OpDifferences]
  public var expectedPairs: Int
  public var unexpectedPairs: Int

  /// Compares the three modules over every op of `ops` on the host, for
  /// pairs of `domains` (every domain of the host by default).
  public init(engine: DecisionEngine, ops: [Op], domains: [HostDomain]? = nil, progress: ((Int, Int) -> Void)? = nil) {
    let matrix = AccessMatrix(
      engine: engine, ops: ops, modules: [.dummy, .silo, .flask], callers: domains, targets: domains, progress: progress)
    let byName = Dictionary(ops.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var result: [OpDifferences] = []
    var expectedPairs = 0
    var unexpectedPairs = 0
    for row in matrix.rows {
      guard let op = byName[row.op] else { continue }
      var entry = OpDifferences(op: row.op, expected: [], unexpected: [])
      for cell in row.cells {
        let (dummy, silo, flask) = (cell.verdicts[0], cell.verdicts[1], cell.verdicts[2])
        guard !(dummy == silo && silo == flask) else { continue }
        let caller = matrix.classes[cell.callerClass]
        let target = matrix.classes[cell.targetClass]
        // The pair the cell was decided on, so that `xsmq can` on it gives the same verdicts.
        let callerDomid = cell.example.first ?? caller.representative
        let callerLabel = engine.host.domain(domid: callerDomid)?.label ?? "dom\(callerDomid)"
        let targetDomid = cell.example.count > 1 ? cell.example[1] : target.representative
        let targetLabel = engine.host.domain(domid: targetDomid)?.label ?? "dom\(targetDomid)"
        var arguments: [String] = []
        if let callerDomain = engine.host.domain(domid: callerDomid),
          let targetDomain = engine.host.domain(domid: targetDomid)
        {
          arguments = OpQuestion.matrixArguments(caller: callerDomain, op: op, target: targetDomain)
        }
        var difference = Difference(caller: callerLabel, target: targetLabel, arguments: arguments, relation: cell.relation,
          pairs: cell.pairs, dummy: dummy, silo: silo, flask: flask, reason: "")
        if dummy == flask && silo != dummy && op.silo != nil {
          difference.reason = "silo's rule: neither end is the control domain and they are different domains"
          entry.expected.append(difference)
          expectedPairs += cell.pairs
        } else if dummy == .invalid && silo == .invalid && op.dummy.contains(where: { $0.action == .enosys }) {
          difference.reason = "xsm_op exists only under flask (dummy and silo return -ENOSYS)"
          entry.expected.append(difference)
          expectedPairs += cell.pairs
        } else {
          difference.reason =
            flask == .allowed
            ? "the policy grants what the dummy rule refuses"
            : "the policy refuses what the dummy rule allows"
          if silo != dummy && op.silo != nil { difference.reason += "; silo's rule also applies" }
          entry.unexpected.append(difference)
          unexpectedPairs += cell.pairs
        }
      }
      if !entry.expected.isEmpty || !entry.unexpected.isEmpty { result.append(entry) }
    }
    self.ops = result
    self.expectedPairs = expectedPairs
    self.unexpectedPairs = unexpectedPairs
  }
}
