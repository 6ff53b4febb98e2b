import Foundation
import Testing
import XSMQueryCLI
import XSMTestSupport

/// Every xsmq command's human and JSON output against golden files
/// (`Tests/Snapshots/xsmq/<command>/<case>.txt`, CommandGolden's format and
/// normalisation rule; `XSM_UPDATE_SNAPSHOTS=1` re-records). The commands
/// are listed from xsmq's own command tree, so a new command without cases
/// fails `everyCommandHasCases`. Cases run in this process on the embedded
/// default host (or a system file of examples/); the flask commands run
/// against a built xsmd (`FlaskGoldenTests`).
@Suite("xsmq output golden files")
struct CommandGoldenTests {
  static let local: [CommandGolden.Case] = [
    .init("denied", ["can", "dom3", "domctl.pause", "dom5"]),
    .init("denied", ["can", "dom3", "domctl.pause", "dom5", "--json"]),
    .init("all-modules-why", ["can", "web-dm", "dm.set_pci_intx_level", "web", "--all-modules", "--why"]),
    .init("silo-arm", ["can", "dom0", "domctl.pause", "1", "--system", "examples/systems/silo-arm.toml"]),
    .init("unknown-op", ["can", "dom0", "domctl.pasue", "dom5"]),
    .init("evtchn-status", ["args", "evtchn.status"]),
    .init("evtchn-status", ["args", "evtchn.status", "--json"]),
    .init("question", ["explain", "--caller", "dom3", "--op", "domctl.pause", "--target", "dom5"]),
    .init("question", ["explain", "--caller", "dom3", "--op", "domctl.pause", "--target", "dom5", "--json"]),
    .init("xl-dmesg", ["explain", "examples/logs/xl-dmesg.log"]),
    .init("pause", ["matrix", "--op", "domctl.pause"]),
    .init("pause-two-domains", ["matrix", "--op", "domctl.pause", "--domain", "dom0", "--domain", "web", "--json"]),
    .init("pause-csv", ["matrix", "--op", "domctl.pause", "--domain", "dom0", "--domain", "web", "--format", "csv"]),
    .init("bind-interdomain", ["compare", "--op", "evtchn.bind_interdomain"]),
    .init("bind-interdomain-three", [
      "compare", "--op", "evtchn.bind_interdomain", "--domain", "dom0", "--domain", "web", "--domain", "db", "--json",
    ]),
    .init("dummy-flask-pause", ["diff", "--modules", "dummy", "flask", "--op", "domctl.pause"]),
    .init("dummy-flask-pause", ["diff", "--modules", "dummy", "flask", "--op", "domctl.pause", "--json"]),
    .init("default", ["identity"]),
    .init("default", ["identity", "--json"]),
    .init("silo-arm", ["identity", "--system", "examples/systems/silo-arm.toml"]),
  ]

  static let leaves = XSMQ.leafCommands()

  @Test func everyCommandHasCases() {
    let missing = CommandGolden.uncovered(Self.leaves, by: Self.local + FlaskGoldenTests.cases)
    #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")
  }

  @Test(arguments: local) func outputMatchesItsGolden(_ golden: CommandGolden.Case) async throws {
    let command = try #require(golden.command(in: Self.leaves.map(\.words)))
    let r = await xsmq(golden.words)
    let text = CommandGolden.text(program: "xsmq", words: golden.words, status: r.status, output: r.out, error: r.err)
    let name = CommandGolden.name(program: "xsmq", command: command, case: golden)
    if let difference = Snapshot.difference(text, named: name) { Issue.record("\(difference)") }
  }
}
