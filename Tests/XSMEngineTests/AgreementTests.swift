import Testing
import XSMCatalog
import XSMEngine

/// `matrix` and `compare` answer from the same decisions `can` makes: every
/// pair of the default host, every op, every module.
@Suite("Matrix, compare and can agree")
struct AgreementTests {
  @Test func everyMatrixCellIsWhatCanSays() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let ops = host.catalog.legacyOps
    let modules = XSMModule.allCases
    let matrix = AccessMatrix(engine: engine, ops: ops, modules: modules)
    var disagreements: [String] = []
    for (row, op) in ops.enumerated() {
      let read = matrix.reader(row: row)
      for (ci, caller) in matrix.domains.enumerated() {
        for (ti, target) in matrix.domains.enumerated() {
          // An op without a domain argument is asked once per caller.
          if op.positionalArgument == nil && ci != ti { continue }
          let arguments = try OpQuestion.namedArguments(
            OpQuestion.matrixArguments(caller: caller, op: op, target: target), for: op)
          let question = try OpQuestion.bind(caller: caller, op: op, target: nil, arguments: arguments, on: host)
          for (m, module) in modules.enumerated() {
            let can = engine.decide(caller: caller, op: op, target: question.target, module: module,
              objects: question.objects).verdict
            let cell = read(ci, ti, m)
            if cell != can {
              disagreements.append("\(op.name) \(caller.name) -> \(target.name) \(module): matrix \(String(describing: cell)), can \(can)")
            }
          }
        }
      }
    }
    #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(10))")
  }

  @Test func compareExamplesAreWhatCanSays() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let comparison = ModuleComparison(engine: engine, ops: host.catalog.legacyOps)
    var checked = 0
    for entry in comparison.ops {
      let op = try #require(host.catalog.op(named: entry.op))
      for difference in entry.expected + entry.unexpected {
        let caller = try #require(host.domain(named: String(difference.caller.split(separator: " ")[0])))
        let arguments = try OpQuestion.namedArguments(difference.arguments, for: op)
        let question = try OpQuestion.bind(caller: caller, op: op, target: nil, arguments: arguments, on: host)
        let verdicts = XSMModule.allCases.map {
          engine.decide(caller: caller, op: op, target: question.target, module: $0, objects: question.objects).verdict
        }
        #expect(verdicts == [difference.dummy, difference.silo, difference.flask],
          "\(entry.op) \(difference.caller) \(difference.arguments): compare says \([difference.dummy, difference.silo, difference.flask]), can \(verdicts)")
        checked += 1
      }
    }
    #expect(checked > 0)
  }

  /// An op without a domain argument counts once per caller, not once per (caller, target) pair.
  @Test func targetlessOpsCountOncePerCaller() async throws {
    let host = try await defaultHost()
    let op = try #require(host.catalog.op(named: "sysctl.physinfo"))
    #expect(op.positionalArgument == nil)
    let matrix = AccessMatrix(engine: DecisionEngine(host: host), ops: [op], modules: [.dummy])
    let row = try #require(matrix.rows.first)
    #expect(row.allowed[0] + row.denied[0] + row.invalid[0] == host.domains.count)
  }
}
