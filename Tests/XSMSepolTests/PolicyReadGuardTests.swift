import Testing
import XSMDiagnostics
import XSMTestSupport

@testable import XSMSepol

/// The loader guard of issue 14: the layout check before libsepol, and the
/// child process that reads untrusted bytes within a budget. The wide sweep
/// through xsmd is `Scripts/loader-fuzz.sh`.
@Suite("Policy read guard")
struct PolicyReadGuardTests {
  @Test("the project's binary passes the layout check, which finds its eight symbol tables")
  func projectLayout() async throws {
    let binary = try await TestPolicies.projectBinary()
    let header = try BinaryPolicyLayout.check(binary)
    #expect(header.target == "XenFlask")
    #expect(header.version == 30)
    #expect(header.symbolTableOffsets.count == 8)
  }

  /// libsepol 3.4 spun for minutes on a class table whose `nprim` had a
  /// corrupted third byte (`create_gap_ebitmap`); the layout check refuses it.
  @Test("a class count corrupted in its third byte is refused, naming the table and the offset")
  @SepolActor func classCountSpinner() async throws {
    var binary = try await TestPolicies.projectBinary()
    let classes = try BinaryPolicyLayout.check(binary).symbolTableOffsets[1]
    binary[classes + 2] ^= 0x01
    let error = #expect(throws: SepolError.self) { _ = try BinaryPolicy(binary: binary) }
    #expect(error?.id == .sepol.policyReadFailed)
    #expect(error?.message.contains("the classes table's value count is 65") == true, "\(String(describing: error))")
    #expect(error?.message.contains("at byte \(classes) of") == true)
  }

  /// Every byte of the header region (magic through the class table's two
  /// counts) flipped two ways: each read ends with a policy or an error.
  /// A read that spun would hang this test instead of finishing in well under a second.
  @Test("every header byte flipped: each read ends, with a policy or an error")
  @SepolActor func headerBytes() async throws {
    let original = try await TestPolicies.projectBinary()
    let end = try BinaryPolicyLayout.check(original).symbolTableOffsets[1] + 8
    var refused = 0
    var read = 0
    for index in 0..<end {
      for flip: UInt8 in [0xff, 0x01] {
        var bytes = original
        bytes[index] ^= flip
        do {
          _ = try BinaryPolicy(binary: bytes)
          read += 1
        } catch {
          #expect(error.id == .sepol.policyReadFailed)
          refused += 1
        }
      }
    }
    #expect(refused + read == end * 2)
    #expect(refused > read)
  }

  @Test("a sample of body bytes through the child process: each ends within a one-second budget")
  func bodySample() async throws {
    try #require(PolicyReadGuard.helperPath != nil, "xsm-policy-check is built next to the tests")
    let original = try await TestPolicies.projectBinary()
    var random = TestEnvironment.random(seed: 14)
    for _ in 0..<8 {
      var bytes = original
      let index = Int(random.next() % UInt64(bytes.count))
      bytes[index] ^= 0xff
      do {
        try await PolicyReadGuard.check(bytes, budget: .init(seconds: 1))
      } catch {
        #expect(error.id == .sepol.policyReadFailed, "byte \(index): \(error)")
      }
    }
    try await PolicyReadGuard.check(original, budget: .init(seconds: 5))
  }

  @Test("a reader past its time budget is stopped, and one past its memory budget fails")
  func budgets() async throws {
    try #require(PolicyReadGuard.helperPath != nil, "xsm-policy-check is built next to the tests")
    let binary = try await TestPolicies.projectBinary()
    let late = await #expect(throws: SepolError.self) { try await PolicyReadGuard.check(binary, budget: .init(seconds: 0)) }
    #expect(late?.id == .sepol.policyReadBudget)
    #expect(late?.message.contains("longer than") == true, "\(String(describing: late))")
    let small = await #expect(throws: SepolError.self) {
      try await PolicyReadGuard.check(binary, budget: .init(seconds: 10, memoryBytes: 1 << 20))
    }
    #expect(small?.id == .sepol.policyReadBudget, "\(String(describing: small))")
  }

  @Test("the helper's reason for garbage is the layout check's")
  func helperReason() async throws {
    try #require(PolicyReadGuard.helperPath != nil, "xsm-policy-check is built next to the tests")
    var bytes = try await TestPolicies.projectBinary()
    bytes[0] = 0
    let error = await #expect(throws: SepolError.self) { try await PolicyReadGuard.check(bytes) }
    #expect(error?.id == .sepol.policyReadFailed)
    #expect(error?.message.contains("magic number") == true, "\(String(describing: error))")
  }
}
