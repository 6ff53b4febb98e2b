import Foundation
import Testing
import XSMEngine
import XSMTestSupport

/// Every `xsmq flask` command's human and JSON output against golden files,
/// run in order against one freshly started xsmd on the embedded default host
/// (the commands change its state, so the order is part of the cases). `$TMP`
/// in a case is a scratch directory holding the embedded policy as
/// `policy.bin` and a sysfs tree with one PCI device, 0000:05:00.0.
@Suite(
  "xsmq flask golden files", .serialized,
  .enabled(if: TestEnvironment.executable("xsmd") != nil, "xsmd is not built next to the tests (swift build builds it)"))
struct FlaskGoldenTests {
  static let dom0 = "system_u:system_r:dom0_t"
  static let guest = "user_1:vm_r:domU_t"
  static let nic = "system_u:object_r:nic_dev_t"

  static let cases: [CommandGolden.Case] = [
    .init("default", ["flask", "getenforce"]),
    .init("default", ["flask", "getenforce", "--json"]),
    .init("permissive", ["flask", "setenforce", "Permissive"]),
    .init("enforcing", ["flask", "setenforce", "1", "--json"]),
    .init("guest", ["flask", "context-to-sid", guest]),
    .init("guest", ["flask", "context-to-sid", guest, "--json"]),
    .init("one", ["flask", "sid-to-context", "1"]),
    .init("one", ["flask", "sid-to-context", "1", "--json"]),
    .init("dom0-pause-guest", ["flask", "access", dom0, guest, "domain", "pause", "unpause"]),
    .init("dom0-pause-guest", ["flask", "access", dom0, guest, "domain", "--json"]),
    .init("dom0-guest", ["flask", "create", dom0, guest, "domain"]),
    .init("dom0-guest", ["flask", "create", dom0, guest, "domain", "--json"]),
    .init("dom0-guest", ["flask", "relabel", dom0, guest, "domain"]),
    .init("dom0-guest", ["flask", "relabel", dom0, guest, "domain", "--json"]),
    .init("dom0-guest", ["flask", "member", dom0, guest, "domain"]),
    .init("dom0-guest", ["flask", "member", dom0, guest, "domain", "--json"]),
    .init("default", ["flask", "policyvers"]),
    .init("default", ["flask", "policyvers", "--json"]),
    .init("set", ["flask", "setbool", "guest_vpmu", "enabled"]),
    .init("pending", ["flask", "setbool", "guest_vpmu", "n", "--no-commit", "--json"]),
    .init("all", ["flask", "getbool", "-a"]),
    .init("one", ["flask", "getbool", "guest_vpmu", "--json"]),
    .init("commit", ["flask", "commitbools"]),
    .init("commit", ["flask", "commitbools", "--json"]),
    .init("default", ["flask", "mls"]),
    .init("default", ["flask", "mls", "--json"]),
    .init("default", ["flask", "get-avc-threshold"]),
    .init("default", ["flask", "get-avc-threshold", "--json"]),
    .init("twenty", ["flask", "set-avc-threshold", "20"]),
    .init("twenty", ["flask", "set-avc-threshold", "20", "--json"]),
    .init("default", ["flask", "avc-hashstats"]),
    .init("default", ["flask", "avc-hashstats", "--json"]),
    .init("cpu0", ["flask", "avc-cachestats", "--cpu", "0"]),
    .init("cpu0", ["flask", "avc-cachestats", "--cpu", "0", "--json"]),
    .init("pirq", ["flask", "add-ocontext", "pirq", nic, "40"]),
    .init("ioport", ["flask", "add-ocontext", "ioport", nic, "0xe000", "0xe00f", "--json"]),
    .init("pirq", ["flask", "del-ocontext", "pirq", "40"]),
    .init("ioport", ["flask", "del-ocontext", "ioport", "0xe000", "0xe00f", "--json"]),
    .init("port-1", ["flask", "get-peer-sid", "1"]),
    .init("port-1", ["flask", "get-peer-sid", "1", "--json"]),
    .init("db", ["flask", "relabel-domain", "4", guest]),
    .init("db", ["flask", "relabel-domain", "4", guest, "--json"]),
    .init("uart", ["flask", "devicetree-label", nic, "/soc/uart"]),
    .init("serial", ["flask", "devicetree-label", nic, "/soc/serial", "--json"]),
    .init("nic", ["flask", "label-pci", "0000:05:00.0", nic, "--sysfs", "$TMP/sys"]),
    .init("nic", ["flask", "label-pci", "0000:05:00.0", nic, "--sysfs", "$TMP/sys", "--json"]),
    .init("twenty", ["flask", "label-irq", "20", nic]),
    .init("twenty", ["flask", "label-irq", "21", nic, "--json"]),
    .init("frame", ["flask", "label-iomem", "0xfe100", nic]),
    .init("frame", ["flask", "label-iomem", "0xfe200", nic, "--json"]),
    .init("range", ["flask", "label-ioport", "0xd100-0xd10f", nic]),
    .init("range", ["flask", "label-ioport", "0xd200-0xd20f", nic, "--json"]),
    .init("embedded", ["flask", "load", "$TMP/policy.bin"]),
    .init("embedded", ["flask", "load", "$TMP/policy.bin", "--json"]),
    .init("guest-refused", ["flask", "load", "$TMP/policy.bin", "--as", "web"]),
  ]

  @Test func everyFlaskOutputMatchesItsGolden() async throws {
    let scratch = try TestEnvironment.temporaryDirectory("flask-golden")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    try Data(EmbeddedDefaults.policyBinary).write(to: URL(fileURLWithPath: scratch + "/policy.bin"))
    let device = scratch + "/sys/bus/pci/devices/0000:05:00.0"
    try FileManager.default.createDirectory(atPath: device, withIntermediateDirectories: true)
    try "0x000000000000d000 0x000000000000d01f 0x0000000000040101\n".write(
      toFile: device + "/resource", atomically: true, encoding: .utf8)
    try "19\n".write(toFile: device + "/irq", atomically: true, encoding: .utf8)
    let daemon = try #require(try await RunningXSMD.start())
    defer { daemon.stop() }
    let leaves = CommandGoldenTests.leaves.map(\.words)
    for golden in Self.cases {
      let words = golden.words.map { $0.replacingOccurrences(of: "$TMP", with: scratch) } + ["--server", daemon.url]
      let r = await xsmq(words)
      let text = CommandGolden.text(program: "xsmq", words: golden.words + ["--server", daemon.url], status: r.status,
        output: r.out, error: r.err, temporary: [scratch])
      let command = try #require(golden.command(in: leaves))
      let name = CommandGolden.name(program: "xsmq", command: command, case: golden)
      if let difference = Snapshot.difference(text, named: name) { Issue.record("\(difference)") }
    }
  }
}
