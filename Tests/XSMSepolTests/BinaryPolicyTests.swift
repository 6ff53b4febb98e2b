import Testing
import Foundation

@testable import XSMSepol
import XSMTestSupport

@Suite("BinaryPolicy")
struct BinaryPolicyTests {
  @Test("types, classes and initial SIDs read back in value order")
  @SepolActor func symbols() throws {
    let policy = try BinaryPolicy(binary: TinyPolicy.compile().binary)
    #expect(policy.typeNames == TinyPolicy.types)
    #expect(policy.classes.map(\.name) == TinyPolicy.classes)
    #expect(
      policy.classes.map(\.permissions) == [
        ["settime", "tbufcontrol", "readconsole", "clearconsole"],
        ["setvcpucontext", "pause", "unpause", "create", "transition"],
        ["bind", "send", "status", "create", "reset"],
      ])
    #expect(policy.initialSIDNames == ["xenboot", "xen", "dom0", "domio", "domxen", "unlabeled"])
  }

  @Test("common permissions come first, at the bits libsepol gives them")
  @SepolActor func commonPermissions() throws {
    let cil = TinyPolicy.cil.replacingOccurrences(
      of: "(class event (bind send status create reset))",
      with: """
        (common evcommon (bind send))
        (class event (status create reset))
        (classcommon event evcommon)
        """)
    let policy = try BinaryPolicy(binary: TinyPolicy.compile(cil).binary)
    let event = try #require(policy.classes.first { $0.name == "event" })
    #expect(event.permissions == ["bind", "send", "status", "create", "reset"])
    #expect(policy.summary.permissions == 14)
  }

  @Test("a binary from disk reads like one from memory")
  @SepolActor func contentsOfPath() throws {
    let binary = try TinyPolicy.compile().binary
    let directory = try TestEnvironment.temporaryDirectory("xsmsepol")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/policy.bin"
    try Data(binary).write(to: URL(fileURLWithPath: path))
    #expect(try BinaryPolicy(contentsOf: path).summary == BinaryPolicy(binary: binary).summary)
  }

  @Test("a missing file is a typed error")
  @SepolActor func missingFile() {
    let error = #expect(throws: SepolError.self) {
      try BinaryPolicy(contentsOf: "/nonexistent/xsmsepol/policy.bin")
    }
    #expect(error?.id.rawValue == "sepol.file-read-failed")
  }

  @Test("every truncation of a valid binary is rejected without crashing")
  @SepolActor func truncated() throws {
    let binary = try TinyPolicy.compile().binary
    var offsets = Set([0, 1, 4, 8, 15, 16, 20, 24, 31, 32, 33, 40, 64, 100])
    offsets.formUnion(stride(from: 0, to: binary.count, by: 7))
    offsets.insert(binary.count - 1)
    for length in offsets.sorted() where length < binary.count {
      let error = #expect(throws: SepolError.self, "length \(length)") {
        try BinaryPolicy(binary: Array(binary.prefix(length)))
      }
      #expect(error?.id.rawValue == "sepol.policy-read-failed")
    }
  }

  /// The layout check (BinaryPolicyLayout) refuses garbage before libsepol sees it, with the same reason.
  @Test("garbage is rejected with the reason: the magic number")
  @SepolActor func garbage() {
    var rng = TestEnvironment.random(seed: 4096)
    let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let error = #expect(throws: SepolError.self) { try BinaryPolicy(binary: noise) }
    #expect(error?.id.rawValue == "sepol.policy-read-failed")
    #expect(error?.message.contains("the magic number is not 0xf97cff8c") == true, "\(String(describing: error))")
  }
}
