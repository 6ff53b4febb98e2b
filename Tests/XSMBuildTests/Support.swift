import Foundation
import Testing
import XSMBuild
import XSMPolicy
import XSMSepol
import XSMTestSupport

let packageRoot = TestEnvironment.packageRoot
let projectPolicyDir = TestEnvironment.projectPolicyTree
let isCI = TestEnvironment.isCI

/// Runs a program and returns its exit status, stdout and stderr.
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: String? = nil) throws -> (status: Int32, out: String, err: String) {
  try TestEnvironment.run(executable, arguments, in: cwd)
}

/// True when `tool` is on the PATH. Oracles missing locally skip with a reason; in CI they are required.
func hasTool(_ tool: String) -> Bool { TestEnvironment.toolPath(tool) != nil }

/// A fresh temporary directory.
func temporaryDirectory() throws -> String { try TestEnvironment.temporaryDirectory() }

/// Builds `source` with xsmc's pipeline and checkpolicy from the same
/// expanded text, then compares every decision for every (source type,
/// target type, class) through libsepol. Returns the number of triples compared.
@discardableResult
func assertDecisionEqual(
  _ source: PolicySource, options: BuildOptions = BuildOptions(), typeSample: Int? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) async throws -> Int {
  let outcome = await PolicyBuilder.build(source, options: options)
  let errors = outcome.diagnostics.items.filter { $0.severity == .error }
  #expect(errors.isEmpty, "xsmc diagnostics: \(errors.map { "\($0.id) \($0.span?.description ?? "") \($0.message)" })", sourceLocation: sourceLocation)
  guard let ours = outcome.binary, let conf = outcome.frontend.expandedText else {
    Issue.record("xsmc produced no binary", sourceLocation: sourceLocation)
    return 0
  }
  let theirs = try Checkpolicy.compile(conf, version: options.policyVersion, mls: options.mls)
  try #require(!theirs.isEmpty, sourceLocation: sourceLocation)
  return try await compareDecisions(ours: ours, theirs: theirs, typeSample: typeSample, sourceLocation: sourceLocation)
}

@SepolActor
func compareDecisions(ours: [UInt8], theirs: [UInt8], typeSample: Int?, sourceLocation: SourceLocation) throws -> Int {
  let ourPolicy = try BinaryPolicy(binary: ours)
  let theirPolicy = try BinaryPolicy(binary: theirs)
  #expect(Set(ourPolicy.typeNames) == Set(theirPolicy.typeNames), "type sets differ", sourceLocation: sourceLocation)
  #expect(ourPolicy.classes.map(\.name) == theirPolicy.classes.map(\.name), "class order differs", sourceLocation: sourceLocation)
  for (a, b) in zip(ourPolicy.classes, theirPolicy.classes) {
    #expect(a.permissions == b.permissions, "permission bits of \(a.name) differ", sourceLocation: sourceLocation)
  }
  #expect(ourPolicy.initialSIDNames == theirPolicy.initialSIDNames, sourceLocation: sourceLocation)
  #expect(ourPolicy.summary.version == theirPolicy.summary.version, sourceLocation: sourceLocation)
  #expect(ourPolicy.summary.mls == theirPolicy.summary.mls, sourceLocation: sourceLocation)
  var types = theirPolicy.typeNames.sorted()
  if let typeSample, types.count > typeSample {
    var rng = TestEnvironment.random(seed: 0x5EED_7E57)
    types = Array(types.shuffled(using: &rng).prefix(typeSample)).sorted()
  }
  let classes = theirPolicy.classes.map(\.name)
  let theirTable = try OracleTables.table(theirs, types: types, classes: classes)
  let ourTable = try OracleTables.table(ours, types: types, classes: classes)
  // checkpolicy turns `*` and `~{...}` into all 32 bits of a class, defined
  // or not; CIL sets only defined permissions. Xen checks defined bits only,
  // so the comparison covers exactly those.
  let difference = definedBitsOnly(ourTable).firstDifference(from: definedBitsOnly(theirTable))
  #expect(difference == nil, "first differing triple: \(difference ?? "")", sourceLocation: sourceLocation)
  return types.count * types.count * classes.count
}

/// The table with every access vector masked to the class's defined permission bits.
func definedBitsOnly(_ table: DecisionTable) -> DecisionTable {
  var copy = table
  let masks = table.permissions.map { $0.count >= 32 ? UInt32.max : (UInt32(1) << UInt32($0.count)) - 1 }
  for i in copy.vectors.indices {
    let mask = masks[i % table.classes.count]
    copy.vectors[i].allowed &= mask
    copy.vectors[i].auditAllow &= mask
    copy.vectors[i].auditDeny &= mask
  }
  return copy
}

@Test func undefinedBitsAreMaskedButDefinedOnesAreNot() {
  let vector = SepolOracle.AccessVector(allowed: 0xC000_0001, auditAllow: 0x8000_0000, auditDeny: 0xFFFF_FFFF)
  let table = DecisionTable(types: ["a"], classes: ["c"], permissions: [["p", "q"]], vectors: [vector], transitions: ["a"])
  let masked = definedBitsOnly(table)
  #expect(masked.vectors[0] == SepolOracle.AccessVector(allowed: 1, auditAllow: 0, auditDeny: 3))
}
