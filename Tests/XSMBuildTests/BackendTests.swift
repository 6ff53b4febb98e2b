import Foundation
import Testing
import XSMBuild
import XSMPolicy
import XSMSepol
import XSMTestSupport

/// The direct backend (policydb from the model) against the CIL route on the
/// same source: every decision equal, and sediff (when installed) sees no
/// rule differences.
@Suite("Backends: policydb vs CIL", .serialized)
struct BackendTests {
  /// Both backends' binaries for `source`.
  func binaries(_ source: PolicySource, options: BuildOptions = BuildOptions()) async throws -> (direct: [UInt8], cil: [UInt8]) {
    var direct = options
    direct.backend = .policydb
    var cil = options
    cil.backend = .cil
    let a = await PolicyBuilder.build(source, options: direct)
    let b = await PolicyBuilder.build(source, options: cil)
    #expect(!a.diagnostics.hasErrors, "\(a.diagnostics.items.map { "\($0.id) \($0.message)" })")
    #expect(!b.diagnostics.hasErrors, "\(b.diagnostics.items.map { "\($0.id) \($0.message)" })")
    #expect(a.frontend.cil == nil, "the policydb backend writes no CIL")
    #expect(a.timings.contains { $0.pass == .policydb } && !a.timings.contains { $0.pass == .libsepol })
    return (try #require(a.binary), try #require(b.binary))
  }

  func assertSameDecisions(_ source: PolicySource, options: BuildOptions = BuildOptions(), typeSample: Int? = nil)
    async throws
  {
    let (direct, cil) = try await binaries(source, options: options)
    let triples = try await compareDecisions(ours: direct, theirs: cil, typeSample: typeSample, sourceLocation: #_sourceLocation)
    #expect(triples > 0)
    try assertNoRuleDifferences(direct, cil)
  }

  /// sediff's rule sections all say "0 Added, 0 Removed" (and "0 Modified" where it counts that).
  /// Types and attributes are left out: the CIL route adds generated attributes for sets.
  func assertNoRuleDifferences(_ a: [UInt8], _ b: [UInt8]) throws {
    guard hasTool("sediff") else { return }
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data(a).write(to: URL(fileURLWithPath: dir + "/direct"))
    try Data(b).write(to: URL(fileURLWithPath: dir + "/cil"))
    let (_, out, err) = try run("/usr/bin/env", ["sediff", "--stats", "--allow", "--auditallow", "--dontaudit",
      "--type_trans", "--type_change", "--type_member", "--constrain", "--mlsconstrain", "--validatetrans",
      "--mlsvalidatetrans", "--role_allow", dir + "/direct", dir + "/cil"])
    let counts = out.split(separator: "\n").filter { $0.contains("Added") && $0.contains("Removed") }
    #expect(!counts.isEmpty, "sediff printed no rule sections: \(out) \(err)")
    for line in counts {
      #expect(line.contains("(0 Added, 0 Removed, 0 Modified)") || line.hasSuffix("(0 Added, 0 Removed)"), "sediff: \(line)")
    }
  }

  @Test func projectPolicy() async throws {
    try await assertSameDecisions(.tree(projectPolicyDir))
  }

  @Test func projectPolicyVersion24() async throws {
    try await assertSameDecisions(.tree(projectPolicyDir), options: BuildOptions(policyVersion: 24))
  }

  @Test func projectPolicyMLS() async throws {
    try await assertSameDecisions(.tree(projectPolicyDir), options: BuildOptions(mls: true))
  }

  @Test func generatedPolicy() async throws {
    let text = try generatedPolicyText(guests: 100, seed: 701)
    try await assertSameDecisions(.text(name: "generated-100.conf", text: text), typeSample: 120)
  }

  /// The summary comes from the policydb in memory: it agrees with reading the binary back.
  @Test func summaryMatchesTheBinary() async throws {
    let outcome = await PolicyBuilder.build(.tree(projectPolicyDir), options: BuildOptions(mls: true))
    let binary = try #require(outcome.binary)
    let summary = try #require(outcome.summary)
    let readBack = try await BinaryPolicy(binary: binary).summary
    #expect(summary == readBack)
  }
}
