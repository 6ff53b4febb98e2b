import Testing
import XSMDiagnostics

@testable import XSMSepol

@Suite("CILCompiler")
struct CILCompilerTests {
  @Test("the tiny policy compiles and its summary matches the source")
  @SepolActor func tinyPolicySummary() throws {
    let compiled = try TinyPolicy.compile()
    let policy = try BinaryPolicy(binary: compiled.binary)
    #expect(
      policy.summary
        == PolicySummary(
          target: "XenFlask", version: 30, mls: false, handleUnknown: .deny,
          classes: 3, permissions: 14, types: 5, attributes: 1, roles: 2, users: 1,
          booleans: 1, avRules: 6, typeRules: 2, conditionalRules: 2, constraints: 1,
          initialSIDs: 6,
          ocontexts: .init(pirq: 1, ioport: 1, iomem: 1, pciDevice: 1, deviceTree: 1)))
  }

  @Test("the header carries the requested version", arguments: [24, 30])
  @SepolActor func headerVersion(version: Int) throws {
    let compiled = try TinyPolicy.compile(options: .init(policyVersion: version))
    let header = try #require(PolicyHeader(compiled.binary))
    #expect(header.magic == 0xf97c_ff8c)
    #expect(header.target == "XenFlask")
    #expect(header.version == UInt32(version))
    #expect(try BinaryPolicy(binary: compiled.binary).summary.version == version)
  }

  @Test("device-tree labels exist only from version 30")
  @SepolActor func deviceTreeNeedsVersion30() throws {
    let v24 = try BinaryPolicy(binary: TinyPolicy.compile(options: .init(policyVersion: 24)).binary)
    #expect(v24.summary.ocontexts.deviceTree == 0)
    #expect(v24.summary.ocontexts.pirq == 1)
  }

  @Test("versions Xen cannot load are refused", arguments: [0, 23, 25, 29, 31, 33])
  @SepolActor func unsupportedVersion(version: Int) {
    let error = #expect(throws: SepolError.self) {
      try TinyPolicy.compile(options: .init(policyVersion: version))
    }
    #expect(error?.id.rawValue == "sepol.unsupported-policy-version")
  }

  @Test("MLS on and off", arguments: [false, true])
  @SepolActor func mls(enabled: Bool) throws {
    let compiled = try TinyPolicy.compile(options: .init(mls: enabled))
    let header = try #require(PolicyHeader(compiled.binary))
    #expect(header.config & 0x1 == (enabled ? 1 : 0))
    #expect(try BinaryPolicy(binary: compiled.binary).summary.mls == enabled)
  }

  @Test("handle_unknown round-trips", arguments: HandleUnknown.allCases)
  @SepolActor func handleUnknown(value: HandleUnknown) throws {
    let compiled = try TinyPolicy.compile(options: .init(handleUnknown: value))
    #expect(try BinaryPolicy(binary: compiled.binary).summary.handleUnknown == value)
    let header = try #require(PolicyHeader(compiled.binary))
    let expectedFlags: UInt32 =
      switch value {
      case .deny: 0
      case .reject: 2
      case .allow: 4
      }
    #expect(header.config & 0x6 == expectedFlags)
  }

  @Test("several sources compile as one policy")
  @SepolActor func multipleSources() throws {
    let lines = TinyPolicy.cil.split(separator: "\n", omittingEmptySubsequences: false)
    let half = lines.count / 2
    let first = lines[..<half].joined(separator: "\n")
    let second = lines[half...].joined(separator: "\n")
    let compiled = try CILCompiler.compile(
      [(name: "a.cil", text: first), (name: "b.cil", text: second)], options: .init())
    #expect(try BinaryPolicy(binary: compiled.binary).summary.types == 5)
  }

  @Test("a syntax error is a typed error whose captured messages name the line")
  @SepolActor func syntaxError() {
    let broken = TinyPolicy.cil.replacingOccurrences(
      of: "(type evchn_t)", with: "(type evchn_t))")
    let line = lineNumber(of: "(type evchn_t)", in: broken)
    let error = #expect(throws: SepolError.self) {
      try TinyPolicy.compile(broken, name: "broken.cil")
    }
    #expect(error?.id.rawValue == "sepol.cil-parse-failed")
    #expect(error?.message.contains("broken.cil") == true)
    #expect(error?.messages.isEmpty == false)
    #expect(error?.messages.allSatisfy { $0.level == .error } == true)
    #expect(
      error?.messages.contains { $0.text.contains("line \(line) of broken.cil") } == true,
      "messages: \(error?.messages ?? [])")
  }

  @Test("an unclosed parenthesis is a parse error")
  @SepolActor func unclosedParenthesis() {
    let broken = TinyPolicy.cil.replacingOccurrences(of: "(type evchn_t)", with: "(type evchn_t")
    let error = #expect(throws: SepolError.self) {
      try TinyPolicy.compile(broken, name: "open.cil")
    }
    #expect(error?.id.rawValue == "sepol.cil-parse-failed")
    #expect(
      error?.messages.contains { $0.text.contains("Open parenthesis without matching close") }
        == true)
  }

  @Test("libsepol warnings of a successful build are returned, once each")
  @SepolActor func warningsAreReturned() throws {
    // policydb_write warns when it writes a version-24 policy.
    let compiled = try TinyPolicy.compile(options: .init(policyVersion: 24))
    #expect(!compiled.messages.isEmpty, "libsepol 3.4 warns 'Discarding filename type transition rules'")
    #expect(compiled.messages.allSatisfy { $0.level != .error })
    #expect(Set(compiled.messages).count == compiled.messages.count)
  }

  @Test("an unknown type is a typed error whose captured messages name the line")
  @SepolActor func unknownType() {
    let broken = TinyPolicy.cil + "\n(allow dom0_t nosuch_t (domain (pause)))\n"
    let line = lineNumber(of: "nosuch_t", in: broken)
    let error = #expect(throws: SepolError.self) {
      try TinyPolicy.compile(broken, name: "semantic.cil")
    }
    #expect(error?.id.rawValue == "sepol.cil-compile-failed")
    #expect(
      error?.messages.contains { $0.text.contains("semantic.cil:\(line)") } == true,
      "messages: \(error?.messages ?? [])")
    #expect(error?.description.contains("sepol.cil-compile-failed") == true)
  }

  @Test("a neverallow violation fails the compile with CIL's explanation")
  @SepolActor func neverallow() {
    let broken = TinyPolicy.cil + "\n(neverallow domU_t xen_t (xen (readconsole)))\n"
    let error = #expect(throws: SepolError.self) { try TinyPolicy.compile(broken) }
    #expect(error?.id.rawValue.hasPrefix("sepol.cil-") == true)
    #expect(error?.messages.contains { $0.text.lowercased().contains("neverallow") } == true)
  }

  @Test("no sources is an error, not an empty policy")
  @SepolActor func emptySources() {
    let error = #expect(throws: SepolError.self) {
      try CILCompiler.compile([], options: .init())
    }
    #expect(error?.id.rawValue == "sepol.empty-sources")
  }

  /// Failures no input can cause (allocation, libsepol's internal errors, an
  /// option the enum cannot spell wrong) are tested through their factories.
  @Test("errors no input causes keep their ids and say what failed")
  func factoriesNameTheirIDs() {
    let cases: [(SepolError, DiagnosticID, String)] = [
      (.cilBuildFailed(), .sepol.cilBuildFailed, "CIL could not build a binary policy"),
      (.invalidOption("handle_unknown 'x' was rejected"), .sepol.invalidOption, "handle_unknown 'x' was rejected"),
      (.outOfMemory("cil_db_init"), .sepol.outOfMemory, "out of memory (cil_db_init)"),
      (.writeFailed(), .sepol.writeFailed, "could not write the binary policy"),
      (.computeAVFailed("a", "b", "c", rc: -1), .sepol.computeAvFailed, "sepol_compute_av failed for a -> b : c (rc -1)"),
      (.transitionFailed("a", "b", "c", rc: -2), .sepol.transitionFailed,
        "sepol_transition_sid failed for a -> b : c (rc -2)"),
    ]
    for (error, id, message) in cases {
      #expect(error.id == id && error.message == message, "\(error)")
      #expect(error.description == "\(id.rawValue): \(message)")
    }
  }

  private func lineNumber(of needle: String, in text: String) -> Int {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return (lines.firstIndex { $0.contains(needle) } ?? -1) + 1
  }
}
