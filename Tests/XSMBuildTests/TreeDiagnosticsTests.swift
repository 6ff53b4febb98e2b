import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// Negative cases that need a tree on disk or libsepol: each asserts the id and the exact location.
@Suite("Tree, I/O and libsepol diagnostics", .serialized)
struct TreeDiagnosticsTests {
  /// Builds a copy of the project policy after `edit` changed it; returns
  /// the outcome and the copy's path. Diagnostics carry their source lines,
  /// so the copy can be removed before the test inspects them.
  func buildEditedPolicy(_ edit: (String) throws -> Int?) async throws -> (outcome: BuildOutcome, tree: String, line: Int?) {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let tree = root + "/policy"
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: tree)
    let line = try edit(tree)
    return (await PolicyBuilder.build(.tree(tree), options: BuildOptions()), tree, line)
  }

  /// Appends `text` as a new line of `path`; returns that line's number.
  func append(_ text: String, to path: String) throws -> Int {
    var content = try String(contentsOfFile: path, encoding: .utf8)
    if !content.hasSuffix("\n") { content += "\n" }
    let line = content.count { $0 == "\n" } + 1
    try (content + text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return line
  }

  func first(_ id: String, in outcome: BuildOutcome) -> Diagnostic? {
    outcome.diagnostics.items.first { $0.id.rawValue == id }
  }

  @Test func neverallowViolationPointsAtTheRuleAndTheNeverallow() async throws {
    let (outcome, tree, line) = try await buildEditedPolicy {
      try append("allow dom0_t prot_domU_t:mmu map_read;", to: $0 + "/modules/dom0.te")
    }
    let diagnostic = try #require(first("sepol.neverallow", in: outcome), "\(outcome.diagnostics.items)")
    #expect(diagnostic.span?.file == tree + "/modules/dom0.te")
    #expect(diagnostic.span?.line == line && diagnostic.span?.column == 1)
    #expect(diagnostic.notes.first?.span?.file.hasSuffix("/modules/prot_domU.te") == true)
    #expect(diagnostic.notes.first?.sourceLine?.hasPrefix("neverallow") == true)
    #expect(outcome.binary == nil)
  }

  /// Two type transitions for one triple pass the front end; libsepol refuses
  /// the second, and its complaint points at that statement.
  @Test func libsepolComplaintPointsAtTheStatement() async throws {
    let (outcome, tree, line) = try await buildEditedPolicy {
      _ = try append("type_transition dom0_t xen_t:event dom0_t;", to: $0 + "/modules/dom0.te")
      return try append("type_transition dom0_t xen_t:event domU_t;", to: $0 + "/modules/dom0.te")
    }
    let diagnostic = try #require(first("sepol.compile", in: outcome), "\(outcome.diagnostics.items)")
    #expect(diagnostic.span?.file == tree + "/modules/dom0.te")
    #expect(diagnostic.span?.line == line && diagnostic.span?.column == 1)
    #expect(diagnostic.label == "from this statement" && outcome.binary == nil)
  }

  /// checkpolicy's grammar needs an MLS constraint in an MLS policy; xsmc
  /// builds one without but warns, at the last `level`, that checkpolicy will not.
  @Test func mlsPolicyWithoutMLSConstraintsWarnsAboutCheckpolicy() async throws {
    let full = await PolicyBuilder.build(.tree(projectPolicyDir), options: BuildOptions(mls: true), compile: false)
    let text = try #require(full.frontend.expandedText)
    let stripped = try NSRegularExpression(pattern: "(?ms)^mls(constrain|validatetrans)\\b.*?;")
      .stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
    let outcome = await PolicyBuilder.build(.text(name: "mls.conf", text: stripped), options: BuildOptions(mls: true))
    let warning = try #require(first("check.mls-without-constraints", in: outcome), "\(outcome.diagnostics.items)")
    #expect(warning.severity == .warning && outcome.binary != nil)
    // The project's levels come out of an m4 loop in policy/mls: the warning points there.
    #expect(warning.span?.file.hasSuffix("policy/mls") == true && warning.label?.contains("after the levels") == true,
      "\(warning.span?.description ?? "")")
    #expect(first("check.mls-without-constraints", in: full) == nil, "the project's MLS policy has its constraints")
    if Checkpolicy.shouldRun {
      #expect(throws: Checkpolicy.Failure.self) { try Checkpolicy.compile(stripped, mls: true) }
    }
  }

  /// A misspelt macro call is left unexpanded by m4; the parser's complaint
  /// names the tree's macro it resembles (the names come from the macro index).
  @Test func misspeltMacroNamesTheTreesMacro() async throws {
    let (outcome, _, line) = try await buildEditedPolicy {
      try append("toolstack_manage(dom0_t, domU_t)", to: $0 + "/modules/domU.te")
    }
    let diagnostic = try #require(first("parse.unknown-statement", in: outcome), "\(outcome.diagnostics.items)")
    #expect(diagnostic.message == "unknown statement or macro `toolstack_manage`")
    #expect(diagnostic.help == "did you mean the macro `toolstack_manages`?")
    #expect(diagnostic.span?.file.hasSuffix("/modules/domU.te") == true && diagnostic.span?.line == line)
  }

  @Test func badModulesLine() async throws {
    let (outcome, _, line) = try await buildEditedPolicy { try append("  nic_dev on", to: $0 + "/modules.conf") }
    let diagnostic = try #require(first("tree.bad-modules-line", in: outcome))
    #expect(diagnostic.span?.line == line && diagnostic.span?.column == 3)
  }

  @Test func unknownModuleHasDidYouMean() async throws {
    let (outcome, _, line) = try await buildEditedPolicy { try append("xenstor = on", to: $0 + "/modules.conf") }
    let diagnostic = try #require(first("tree.unknown-module", in: outcome))
    #expect(diagnostic.span?.line == line && diagnostic.span?.column == 1)
    #expect(diagnostic.help == "did you mean `xenstore`?")
  }

  @Test func missingTreeFileIsAnInputError() async throws {
    let (outcome, _, _) = try await buildEditedPolicy {
      try FileManager.default.removeItem(atPath: $0 + "/users")
      return nil
    }
    #expect(first("tree.missing-file", in: outcome)?.message.contains("users") == true)
    #expect(outcome.isInputError)
  }

  @Test func missingFileIsAnInputError() async {
    let outcome = await PolicyBuilder.build(.file("/nonexistent/policy.conf"), options: BuildOptions())
    #expect(first("io.not-found", in: outcome) != nil)
    #expect(outcome.isInputError)
  }

  /// A policy file that exists but cannot be read: a directory here (tests
  /// run as root, so a file without read permission would still be read).
  @Test func unreadableFileIsAnInputError() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let outcome = await PolicyBuilder.build(.file(dir), options: BuildOptions())
    let diagnostic = try #require(first("io.unreadable", in: outcome), "\(outcome.diagnostics.items)")
    #expect(diagnostic.message == "cannot read `\(dir)`: it is a directory" && diagnostic.span == nil)
    #expect(outcome.isInputError)
  }

  @Test func m4ThatCannotRunOrFailsSilently() throws {
    let (tree, problems) = PolicyTree.load(directory: projectPolicyDir)
    #expect(problems.isEmpty, "\(problems)")
    let (missingText, missing) = tree.expand(m4Path: "/nonexistent/m4")
    #expect(missingText == nil)
    let cannotRun = try #require(missing.first { $0.id.rawValue == "tree.m4-failed" }, "\(missing)")
    #expect(cannotRun.message.hasPrefix("cannot run `m4`") && cannotRun.help == "install it with `apt-get install m4`")
    let (_, silent) = tree.expand(m4Path: "/bin/false")
    #expect(silent.map(\.id.rawValue) == ["tree.m4-failed"])
    #expect(silent.first?.message == "m4 exited with status 1")
  }

  @Test func binaryInputIsNotText() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data([0x8c, 0xff, 0x7c, 0xf9, 0xff, 0xfe, 0x00, 0xc3]).write(to: URL(fileURLWithPath: dir + "/xenpolicy-30"))
    let outcome = await PolicyBuilder.build(.file(dir + "/xenpolicy-30"), options: BuildOptions())
    let diagnostic = try #require(first("io.not-utf8", in: outcome))
    #expect(diagnostic.message.hasSuffix("is not UTF-8 text: byte 0x8C at offset 0 (line 1, column 1)"), "\(diagnostic.message)")
  }

  /// A byte that is not UTF-8 further in: its offset, and its line and column (counted in characters).
  @Test func aByteThatIsNotUTF8IsLocated() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data(Array("type a_t;\ntype é".utf8) + [0xff] + Array("_t;\n".utf8)).write(to: URL(fileURLWithPath: dir + "/p.conf"))
    let outcome = await PolicyBuilder.build(.file(dir + "/p.conf"), options: BuildOptions())
    let diagnostic = try #require(first("io.not-utf8", in: outcome))
    #expect(diagnostic.message.hasSuffix("byte 0xFF at offset 17 (line 2, column 7)"), "\(diagnostic.message)")
    #expect(diagnostic.span?.line == 2 && diagnostic.span?.column == 7 && outcome.isInputError)
  }

  /// modules.conf that is not UTF-8 is located; one that is a directory is unreadable, not missing.
  @Test func modulesConfThatIsNotTextOrNotAFile() async throws {
    let (notText, _, _) = try await buildEditedPolicy {
      var bytes = try Data(contentsOf: URL(fileURLWithPath: $0 + "/modules.conf"))
      bytes.append(contentsOf: Array("xen = on\n".utf8) + [0xc3, 0x28])
      try bytes.write(to: URL(fileURLWithPath: $0 + "/modules.conf"))
      return nil
    }
    let located = try #require(first("io.not-utf8", in: notText), "\(notText.diagnostics.items)")
    #expect(located.span?.file.hasSuffix("modules.conf") == true && located.message.contains("byte 0xC3"), "\(located.message)")
    #expect(notText.isInputError)
    let (directory, _, _) = try await buildEditedPolicy {
      try FileManager.default.removeItem(atPath: $0 + "/modules.conf")
      try FileManager.default.createDirectory(atPath: $0 + "/modules.conf", withIntermediateDirectories: false)
      return nil
    }
    let unreadable = try #require(first("io.unreadable", in: directory), "\(directory.diagnostics.items)")
    #expect(unreadable.message.hasSuffix("modules.conf`: it is a directory") && first("tree.missing-file", in: directory) == nil)
  }

  @Test func m4ComplaintsAreLocated() async throws {
    let (outcome, _, line) = try await buildEditedPolicy {
      try append("include(`no-such-file.m4')", to: $0 + "/modules/domU.te")
    }
    let diagnostic = try #require(first("tree.m4", in: outcome), "\(outcome.diagnostics.items)")
    #expect(diagnostic.span?.line == line)
    #expect(diagnostic.span?.file.hasSuffix("modules/domU.te") == true)
  }
}
