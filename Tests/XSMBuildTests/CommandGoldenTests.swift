import Foundation
import Testing
import XSMCompilerCLI
import XSMTestSupport

/// Every xsmc command's human and JSON output against golden files
/// (`Tests/Snapshots/xsmc/<command>/<case>.txt`, CommandGolden's format and
/// normalisation rule; `XSM_UPDATE_SNAPSHOTS=1` re-records), run in this
/// process on the repository's examples. The commands are listed from xsmc's
/// own command tree, so a new command without cases fails
/// `everyCommandHasCases`. `$TMP` in a case is a scratch directory.
@Suite("xsmc output golden files")
struct CommandGoldenTests {
  static let conf = "examples/single-file/policy.conf"
  static let messy = "Tests/Snapshots/fmt/messy.te"

  static let cases: [CommandGolden.Case] = [
    .init("single-file", ["build", conf, "-o", "$TMP/policy"]),
    .init("single-file", ["build", conf, "-o", "$TMP/policy", "--json"]),
    .init("single-file", ["check", conf]),
    .init("single-file", ["check", conf, "--json"]),
    .init("unknown-type", ["check", "$TMP/broken.conf"]),
    .init("small", ["test", "examples/policy-tests/small.toml"]),
    .init("small", ["test", "examples/policy-tests/small.toml", "--json"]),
    .init("single-file", ["port", "--from", "4.10", "--to", "4.21", conf]),
    .init("single-file", ["port", "--from", "4.10", "--to", "4.21", conf, "--json"]),
    .init("messy", ["fmt", "--check", "--diff", messy]),
    .init("messy", ["fmt", "--check", messy, "--json"]),
    .init("pause", ["ops", "domctl.pause"]),
    .init("pause", ["ops", "domctl.pause", "--json"]),
    .init("check", ["docs", "--check"]),
    .init("check", ["docs", "--check", "--json"]),
  ]

  static let leaves = XSMC.leafCommands()

  @Test func everyCommandHasCases() {
    let missing = CommandGolden.uncovered(Self.leaves, by: Self.cases)
    #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")
  }

  @Test(arguments: cases) func outputMatchesItsGolden(_ golden: CommandGolden.Case) async throws {
    let scratch = try TestEnvironment.temporaryDirectory("xsmc-golden")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    // A policy.conf whose one mistake is a type no declaration names.
    let conf = try String(contentsOfFile: packageRoot + "/" + Self.conf, encoding: .utf8)
    try (conf + "\nallow dom0_t no_such_t:domain pause;\n").write(
      toFile: scratch + "/broken.conf", atomically: true, encoding: .utf8)
    let command = try #require(golden.command(in: Self.leaves.map(\.words)))
    let r = await xsmc(golden.words.map { $0.replacingOccurrences(of: "$TMP", with: scratch) })
    let text = CommandGolden.text(program: "xsmc", words: golden.words, status: r.status, output: r.out, error: r.err,
      temporary: [scratch])
    let name = CommandGolden.name(program: "xsmc", command: command, case: golden)
    if let difference = Snapshot.difference(text, named: name) { Issue.record("\(difference)") }
  }
}
