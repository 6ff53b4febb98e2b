import Foundation
import Testing
import XSMTestSupport
import XSMBuild
import XSMPolicy
import XSMPolicyGen
import XSMSepol

/// The backbone: xsmc's binary and checkpolicy's binary, built from the same
/// expanded source, must give the same decision for every (source type,
/// target type, class) — allowed, auditallow and auditdeny vectors through
/// `sepol_compute_av`, and the `sepol_transition_sid` result.
@Suite("Differential: xsmc vs checkpolicy", .serialized)
struct DifferentialTests {
  init() throws {
    if !hasTool("checkpolicy") {
      try #require(!isCI, "checkpolicy is required in CI")
    }
  }

  @Test func projectPolicy() async throws {
    guard hasTool("checkpolicy") else { return }
    let triples = try await assertDecisionEqual(.tree(projectPolicyDir))
    #expect(triples > 10_000)
  }

  @Test func projectPolicyVersion24() async throws {
    guard hasTool("checkpolicy") else { return }
    // Version 24 has no device tree labels: both compilers drop them (xsmc warns).
    try await assertDecisionEqual(.tree(projectPolicyDir), options: BuildOptions(policyVersion: 24))
  }

  @Test func projectPolicyMLS() async throws {
    guard hasTool("checkpolicy") else { return }
    try await assertDecisionEqual(.tree(projectPolicyDir), options: BuildOptions(mls: true))
  }

  /// Every triple of a generated policy; 100 guests only with XSM_SLOW_TESTS=1.
  @Test(.enabled(if: Checkpolicy.shouldRun, "needs checkpolicy"), arguments: TestEnvironment.sweep([10], slow: [100]))
  func generatedPolicy(guests: Int) async throws {
    let text = try generatedPolicyText(guests: guests, seed: UInt64(guests) * 7 + 1)
    try await assertDecisionEqual(.text(name: "generated-\(guests).conf", text: text))
  }

  /// A random sample of the types of a larger generated policy: 200 guests
  /// (64 types), and 1000 guests (160 types) only with XSM_SLOW_TESTS=1.
  @Test(.enabled(if: Checkpolicy.shouldRun, "needs checkpolicy"), arguments: TestEnvironment.sweep([200], slow: [1000]))
  func generatedPolicySampled(guests: Int) async throws {
    let text = try generatedPolicyText(guests: guests, seed: 99)
    try await assertDecisionEqual(
      .text(name: "generated-\(guests).conf", text: text), typeSample: guests >= 1000 ? 160 : 64)
  }

  @Test func handleUnknownIsRecorded() async throws {
    for mode in HandleUnknown.allCases {
      let outcome = await PolicyBuilder.build(.tree(projectPolicyDir), options: BuildOptions(handleUnknown: mode))
      #expect(outcome.summary?.handleUnknown == mode, "\(mode)")
    }
  }
}

/// The generator's policy for `guests` guest types, with the project's hypervisor declarations as preamble.
func generatedPolicyText(guests: Int, seed: UInt64) throws -> String {
  try TestPolicies.generatedText(guests: guests, seed: seed)
}
