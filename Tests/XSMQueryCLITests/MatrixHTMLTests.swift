import Foundation
import Testing
import XSMTestSupport

/// The HTML report of `xsmq matrix` on a four-domain host, as a golden file:
/// the overview, the legend and the verdict data the page's script draws from.
@Suite("xsmq matrix --format html")
struct MatrixHTMLPageTests {
  /// dom0, a device model, its HVM guest and a PV guest: a one-target
  /// relation (dm → guest), an invalid cell (pausing oneself) and ops
  /// without a target, under all three modules.
  static let smallHost = """
    name = "small"
    module = "flask"
    policy = "embedded"
    mls = false

    [[domain]]
    domid = 0
    name = "dom0"
    kind = "pv"
    context = "system_u:system_r:dom0_t"
    flags = ["control", "hardware"]

    [[domain]]
    domid = 1
    name = "guest"
    kind = "hvm"
    context = "user_1:vm_r:domU_t"

    [[domain]]
    domid = 2
    name = "guest-dm"
    kind = "pv"
    context = "user_1:vm_r:dm_dom_t"
    target = "guest"

    [[domain]]
    domid = 3
    name = "other"
    kind = "pv"
    context = "user_2:vm_r:domU_t"

    """

  @Test func smallHostPageIsTheGoldenFile() async throws {
    let dir = NSTemporaryDirectory() + "xsmq-html-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Self.smallHost.write(toFile: dir + "/small.toml", atomically: true, encoding: .utf8)
    let r = await xsmq(["matrix", "--system", dir + "/small.toml", "--all-modules", "--format", "html",
      "--op", "domctl.pausedomain", "--op", "dm.set_pci_intx_level", "--op", "sysctl.physinfo", "--family", "evtchn"])
    #expect(r.status == 0, "\(r.err)")
    // dm.set_pci_intx_level: the device model on its guest, and dom0 on the one HVM guest (the rest are PV: invalid).
    #expect(r.out.contains("title=\"allowed on 1 of 4 targets: dom0 → guest, guest-dm → guest\""))
    if let difference = Snapshot.difference(r.out, named: "matrix/small-host.html") { Issue.record("\(difference)") }
  }
}
