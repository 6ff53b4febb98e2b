import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMSepol
import XSMTestSupport

/// `xsmc fmt`: golden files for fixtures written to hold every construct,
/// idempotence, and — the point — no decision changes: each tree or policy
/// is built before and after formatting and the two binaries are compared
/// decision by decision through libsepol (the differential harness).
@Suite("xsmc fmt: formatting changes no decision", .serialized)
struct FormatTests {
  let fm = FileManager.default
  static let fixtures = ["messy.te", "messy.if", "messy.conf"]

  func fixture(_ name: String) throws -> String {
    try String(contentsOfFile: Snapshot.directory + "/fmt/" + name, encoding: .utf8)
  }

  func format(_ text: String, file: String) -> PolicyFormatter.Result {
    PolicyFormatter().format(text, file: file)
  }

  /// Copies `source` (a directory) to a new temporary directory.
  func copyTree(_ source: String) throws -> String {
    let root = try temporaryDirectory()
    let copy = root + "/" + (source as NSString).lastPathComponent
    try fm.copyItem(atPath: source, toPath: copy)
    return copy
  }

  /// Builds `source` with xsmc's pipeline; fails the test on errors.
  func build(_ source: PolicySource, options: BuildOptions = BuildOptions(),
    sourceLocation: SourceLocation = #_sourceLocation) async throws -> [UInt8]
  {
    let outcome = await PolicyBuilder.build(source, options: options)
    let errors = outcome.diagnostics.items.filter { $0.severity == .error }
    #expect(errors.isEmpty, "\(errors.map { "\($0.span?.description ?? "-"): \($0.id): \($0.message)" })",
      sourceLocation: sourceLocation)
    return try #require(outcome.binary, sourceLocation: sourceLocation)
  }

  /// Builds both sources and compares every decision; returns the number of triples compared.
  @discardableResult
  func assertSameDecisions(_ before: PolicySource, _ after: PolicySource, options: BuildOptions = BuildOptions(),
    typeSample: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int
  {
    let old = try await build(before, options: options, sourceLocation: sourceLocation)
    let new = try await build(after, options: options, sourceLocation: sourceLocation)
    let triples = try await compareDecisions(ours: new, theirs: old, typeSample: typeSample, sourceLocation: sourceLocation)
    // Stronger than decisions: sets are bitmaps and rules keep their order, so the bytes agree too.
    #expect(old == new, "the binaries differ in bytes", sourceLocation: sourceLocation)
    return triples
  }

  /// Formats a tree in place with the command line, then checks it again (idempotence on disk).
  func formatTreeWithCLI(_ tree: String, sourceLocation: SourceLocation = #_sourceLocation) async -> Int {
    let result = await xsmc(["fmt", tree, "--json"])
    #expect(result.status == 0, "\(result.err)", sourceLocation: sourceLocation)
    let report = try? JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
    let again = await xsmc(["fmt", "--check", tree])
    #expect(again.status == 0, "formatting twice changes: \(again.out)\(again.err)", sourceLocation: sourceLocation)
    return report?["changed"] as? Int ?? -1
  }

  // MARK: Golden files and idempotence

  @Test(arguments: fixtures)
  func goldenFile(_ name: String) throws {
    let result = format(try fixture(name), file: name)
    #expect(!result.diagnostics.contains { $0.severity == .error }, "\(result.diagnostics)")
    let formatted = try #require(result.formatted)
    let difference = Snapshot.difference(formatted, named: "fmt/" + name + ".formatted")
    #expect(difference == nil, "\(difference ?? "")")
    #expect(format(formatted, file: name).formatted == formatted, "formatting the formatted text changes it")
  }

  @Test func projectTreeIsIdempotent() throws {
    let files = FormatInputs.files(for: projectPolicyDir)
    #expect(files.count > 30 && !files.contains { $0.hasSuffix("modules.conf") })
    for file in files {
      let once = try #require(format(try String(contentsOfFile: file, encoding: .utf8), file: file).formatted)
      #expect(format(once, file: file).formatted == once, "\(file)")
    }
  }

  @Test func generatedPolicyIsIdempotent() throws {
    let text = try TestPolicies.generatedText(guests: 100, seed: 11)
    let once = try #require(format(text, file: "generated.conf").formatted)
    #expect(format(once, file: "generated.conf").formatted == once)
  }

  // MARK: No decision changes

  @Test func projectTreeKeepsEveryDecision() async throws {
    let copy = try copyTree(projectPolicyDir)
    defer { try? fm.removeItem(atPath: (copy as NSString).deletingLastPathComponent) }
    let changed = await formatTreeWithCLI(copy)
    #expect(changed > 10, "the project's tree has files to reformat")
    let triples = try await assertSameDecisions(.tree(projectPolicyDir), .tree(copy))
    #expect(triples > 10_000)
    try await assertSameDecisions(.tree(projectPolicyDir), .tree(copy), options: BuildOptions(mls: true))
  }

  @Test func generatedPolicyKeepsEveryDecision() async throws {
    let text = try TestPolicies.generatedText(guests: 100, seed: 11)
    let result = format(text, file: "generated.conf")
    #expect(result.changed)
    let formatted = try #require(result.formatted)
    // Decisions of a sample of the types (the whole table takes minutes); the bytes compare all of it.
    try await assertSameDecisions(.text(name: "generated.conf", text: text), .text(name: "generated.conf", text: formatted),
      typeSample: 80)
  }

  @Test func messyPolicyKeepsEveryDecision() async throws {
    let flask = projectPolicyDir + "/flask/"
    let preamble = try ["security_classes", "initial_sids", "access_vectors"]
      .map { try String(contentsOfFile: flask + $0, encoding: .utf8) }.joined(separator: "\n")
    let messy = try fixture("messy.conf")
    let formatted = try #require(format(messy, file: "messy.conf").formatted)
    try await assertSameDecisions(.text(name: "messy.conf", text: preamble + messy),
      .text(name: "messy.conf", text: preamble + formatted))
  }

  @Test func xenLayoutTreeKeepsEveryDecision() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let original = try TreeLayoutTests().makeXenCheckout(root + "/before")
    let copy = try TreeLayoutTests().makeXenCheckout(root + "/after")
    let changed = await formatTreeWithCLI(copy)
    #expect(changed > 10)
    // The hypervisor's classes belong to the checkout, not to the tree: fmt leaves them alone.
    #expect(try String(contentsOfFile: root + "/after/xen/xsm/flask/policy/access_vectors", encoding: .utf8)
      == String(contentsOfFile: projectPolicyDir + "/flask/access_vectors", encoding: .utf8))
    try await assertSameDecisions(.tree(original), .tree(copy))
  }

  @Test func refpolicyTreeKeepsEveryDecision() async throws {
    guard hasTool("m4") else { return }
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let original = try TreeLayoutTests().makeRefpolicyTree(root + "/before")
    let copy = try TreeLayoutTests().makeRefpolicyTree(root + "/after")
    let changed = await formatTreeWithCLI(copy)
    #expect(changed > 0)
    try await assertSameDecisions(.tree(original), .tree(copy))
  }

  /// refpolicy's Makefile hoists `type` lines of `.te` files by their line
  /// start: such a line keeps it, and no statement is moved to or off it.
  @Test func lineStartsRefpolicyFindsAreKept() throws {
    let text = "ifdef(`x', `\ntype a_t; allow a_t self:domain { unpause pause };\n')\n  type b_t;\n"
    let te = try #require(format(text, file: "m.te").formatted)
    #expect(te == "ifdef(`x', `\ntype a_t; allow a_t self:domain { pause unpause };\n')\n  type b_t;\n")
    let other = try #require(format(text, file: "m.if").formatted)
    #expect(other == "ifdef(`x', `\n\ttype a_t;\n\tallow a_t self:domain { pause unpause };\n')\ntype b_t;\n")
  }

  @Test func m4SignificantWhitespaceIsKept() throws {
    let text = "define(`glue', `short_name(`$1')_`'short_name(`$2')_chan')\nfoo( a , b )\nbar(x, `s$1 ')\n"
    #expect(format(text, file: "m.spt").formatted == "define(`glue', `short_name(`$1')_`'short_name(`$2')_chan')\nfoo(a , b )\nbar(x, `s$1 ')\n")
    // No new line inside unquoted arguments; inside quoted ones, statements get their lines.
    let nested = "ifdef(`x', allow a b:c d; allow e f:g h; one(a) two(b))\nifdef(`x', `one(a) two(b)')\n"
    #expect(format(nested, file: "m.spt").formatted == "ifdef(`x', allow a b:c d; allow e f:g h; one(a) two(b))\nifdef(`x', `one(a)\n\ttwo(b)')\n")
  }

  @Test func classPermissionDeclarationsKeepTheirOrder() throws {
    let text = "class xen\n{\n    settime\n    readconsole\n}\ncommon file { write read }\nclass dir inherits file { search add }\n"
    let formatted = try #require(format(text, file: "access_vectors").formatted)
    #expect(formatted == "class xen\n{\n\tsettime\n\treadconsole\n}\ncommon file { write read }\nclass dir inherits file { search add }\n")
  }

  // MARK: Command line

  @Test func checkListsFilesAndDiffShowsTheChange() async throws {
    let dir = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: dir) }
    let file = dir + "/a.te"
    let text = "allow a b:c { q p };   \n\n\n\nallow a b:c d;allow e f:g h;\n"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    try fm.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file)
    let check = await xsmc(["fmt", "--check", dir])
    #expect(check.status == 1)
    #expect(check.out == file + "\n")
    #expect(check.err.contains("1 of 1 file would be reformatted"))
    let diff = await xsmc(["fmt", "--check", "--diff", file])
    #expect(diff.status == 1)
    #expect(diff.out.hasPrefix("--- a/\(file)\n+++ b/\(file)\n@@ -1,5 +1,4 @@\n"), "\(diff.out)")
    #expect(diff.out.contains("\n-allow a b:c { q p };   \n") && diff.out.contains("\n+allow a b:c { p q };\n"))
    #expect(try String(contentsOfFile: file, encoding: .utf8) == text, "--check writes nothing")
    let printed = await xsmc(["fmt", "--stdout", file])
    #expect(printed.out == "allow a b:c { p q };\n\nallow a b:c d;\nallow e f:g h;\n")
    let written = await xsmc(["fmt", file])
    #expect(written.status == 0)
    #expect(try String(contentsOfFile: file, encoding: .utf8) == printed.out)
    let mode = try fm.attributesOfItem(atPath: file)[.posixPermissions] as? Int
    #expect(mode == 0o640, "the file keeps its permissions")
    #expect(try fm.contentsOfDirectory(atPath: dir) == ["a.te"], "no temporary file is left")
    #expect(await xsmc(["fmt", "--check", file]).status == 0)
  }

  @Test func standardInputToStandardOutput() throws {
    guard let executable = TestEnvironment.executable("xsmc") else { return }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["fmt", "-"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = Pipe()
    try process.run()
    input.fileHandleForWriting.write(Data("if (b) { allow a b:c { y x }; }\n".utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(String(decoding: data, as: UTF8.self) == "if (b) {\n\tallow a b:c { x y };\n}\n")
  }

  // MARK: Bad input

  @Test func unbalancedInputIsLeftUntouchedAndLocated() async throws {
    let cases: [(text: String, where: String, message: String)] = [
      ("allow a b:c d;\nallow a b:c { d e;\n", "2:13", "`{` is never closed"),
      ("allow a b:c d; }\n", "1:16", "`}` closes nothing"),
      ("define(`x', `allow a b:c d;\n", "1:13", "`` ` `` is never closed"),
      ("allow a b:c d;' \n", "1:15", "`'` closes no m4 quote"),
      ("allow a b:c { d );\n", "1:13", "`{` is not closed before `)` at 1:17"),
      ("devicetreecon \"/soc/eth sec_ctx(a)\n", "1:15", "unterminated string"),
    ]
    let dir = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: dir) }
    for (n, bad) in cases.enumerated() {
      let file = dir + "/bad\(n).te"
      try bad.text.write(toFile: file, atomically: true, encoding: .utf8)
      let result = await xsmc(["fmt", file])
      #expect(result.status == 1, "\(bad.text)")
      #expect(result.err.contains("\(file):\(bad.where): error[fmt.unbalanced]: \(bad.message)"), "\(result.err)")
      #expect(try String(contentsOfFile: file, encoding: .utf8) == bad.text, "the file is left untouched")
      let formatted = format(bad.text, file: "bad.te")
      #expect(formatted.formatted == nil && formatted.diagnostics.first?.id == .fmt.unbalanced)
      #expect(formatted.diagnostics.first?.span?.description == "bad.te:\(bad.where)")
    }
  }

  @Test func quoteCharactersInABodyCommentLeaveTheRegionAsItIs() throws {
    let text = "define(`x', `\nallow a b:c { e d };\n# see `foo' here\n')\nallow a b:c { e d };\n"
    let result = format(text, file: "x.spt")
    let warning = try #require(result.diagnostics.first)
    #expect(warning.id == .fmt.leftAsIs && warning.severity == .warning)
    #expect(warning.span?.description == "x.spt:3:7")
    #expect(result.formatted == "define(`x', `\nallow a b:c { e d };\n# see `foo' here\n')\nallow a b:c { d e };\n")
  }

  @Test func changequoteLeavesTheFileAsItIs() throws {
    let text = "changequote([,])\nallow a b:c { e d };\n"
    let result = format(text, file: "x.spt")
    #expect(result.formatted == text && !result.changed)
    #expect(result.diagnostics.map(\.id) == [.fmt.leftAsIs])
  }

  @Test func nonUTF8AndUnreadableFilesExitTwo() async throws {
    let dir = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: dir) }
    let binary = dir + "/binary.te"
    let bytes: [UInt8] = [0x61, 0x0a, 0x62, 0xff, 0x0a]
    try Data(bytes).write(to: URL(fileURLWithPath: binary))
    let result = await xsmc(["fmt", binary])
    #expect(result.status == 2)
    #expect(result.err.contains("\(binary):2:2: error[io.not-utf8]"), "\(result.err)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: binary)) == Data(bytes))
    let missing = await xsmc(["fmt", dir + "/missing.te"])
    #expect(missing.status == 2 && missing.err.contains("error[io.not-found]"))
    // Root reads any file, so the unreadable file is one whose read fails for everyone.
    let unreadable = getuid() == 0 ? "/proc/self/mem" : dir + "/secret.te"
    if getuid() != 0 {
      try "allow a b:c d;\n".write(toFile: unreadable, atomically: true, encoding: .utf8)
      try fm.setAttributes([.posixPermissions: 0], ofItemAtPath: unreadable)
    }
    let denied = await xsmc(["fmt", unreadable])
    #expect(denied.status == 2 && denied.err.contains("error[io.unreadable]"), "\(denied.err)")
  }

  @Test func usageErrors() async {
    #expect(await xsmc(["fmt"]).status == 2)
    #expect(await xsmc(["fmt", "--diff", "x.te"]).status == 2)
    #expect(await xsmc(["fmt", "--indent", "banana", "x.te"]).status == 2)
  }
}
