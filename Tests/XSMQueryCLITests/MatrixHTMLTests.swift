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

/// `xsmq diff --format html` on the four-domain host of `MatrixHTMLPageTests`,
/// between the project's policy and a copy in which dom0 no longer manages
/// domU_t guests and domU_t guests may pause each other.
@Suite("xsmq diff --format html")
struct DiffHTMLPageTests {
  static let removedCall = "toolstack_manages(dom0_t, domU_t)"
  static let addedRule = "allow domU_t domU_t:domain pause;"

  /// A scratch directory with the small host and the edited policy tree.
  static func scratch() throws -> String {
    let dir = try TestEnvironment.temporaryDirectory("xsmq-diff-html")
    try MatrixHTMLPageTests.smallHost.write(toFile: dir + "/small.toml", atomically: true, encoding: .utf8)
    try FileManager.default.copyItem(atPath: TestEnvironment.projectPolicyTree, toPath: dir + "/new")
    let module = dir + "/new/modules/domU.te"
    let text = try String(contentsOfFile: module, encoding: .utf8)
    #expect(text.contains(removedCall + "\n"))
    try (text.replacingOccurrences(of: removedCall + "\n", with: "") + "\n# A test edit.\n" + addedRule + "\n")
      .write(toFile: module, atomically: true, encoding: .utf8)
    return dir
  }

  static let ops = ["--op", "domctl.pausedomain", "--op", "domctl.unpausedomain", "--op", "domctl.getdomaininfo",
    "--op", "evtchn.reset", "--op", "sysctl.physinfo"]

  /// The (caller, target) pairs of the page's grid of `op` whose mark is `mark`, read as the page's script reads them.
  static func pairs(_ page: String, op: String, mark: Character) throws -> Set<String> {
    let start = try #require(page.range(of: "<script type=\"application/json\" id=\"data\">"))
    let end = try #require(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
    let data = try #require(try JSONSerialization.jsonObject(with: Data(page[start.upperBound..<end.lowerBound].utf8)) as? [String: Any])
    let domains = try #require(data["domains"] as? [[String: Any]])
    let combos = try #require(data["combos"] as? [Int])
    let classes = try #require(data["classes"] as? Int)
    let entry = try #require((data["ops"] as? [[String: Any]])?.first { $0["op"] as? String == op })
    let v = Array(try #require(entry["v"] as? String))
    func relation(_ c: Int, _ t: Int, _ key: String) -> Int {
      c == t ? 0 : domains[c][key] as? Int == t ? 1 : domains[t][key] as? Int == c ? 2 : 3
    }
    var found: Set<String> = []
    for c in domains.indices {
      for t in domains.indices {
        let cls = { (i: Int) in domains[i]["cls"] as? Int ?? -1 }
        let key = ((cls(c) * classes + cls(t)) * 4 + relation(c, t, "odm")) * 4 + relation(c, t, "dm")
        if let i = combos.firstIndex(of: key), v[i] == mark {
          found.insert("\(domains[c]["name"] as? String ?? "?") → \(domains[t]["name"] as? String ?? "?")")
        }
      }
    }
    return found
  }

  /// The pairs of the small host whose caller and target have these types (other than a domain with itself).
  static func pairs(caller: String, target: String) -> Set<String> {
    let domains = MatrixHTMLPageTests.smallHost.components(separatedBy: "[[domain]]").dropFirst().map { block in
      let value = { (key: String) in
        block.split(separator: "\n").first { $0.hasPrefix(key + " = ") }.map { $0.split(separator: "\"")[1] }.map(String.init) ?? ""
      }
      return (name: value("name"), type: String(value("context").split(separator: ":")[2]))
    }
    var pairs: Set<String> = []
    for c in domains where c.type == caller {
      for t in domains where t.type == target && t.name != c.name { pairs.insert("\(c.name) → \(t.name)") }
    }
    return pairs
  }

  @Test func editedPolicyPageIsTheGoldenFile() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = await xsmq(["diff", "policy", dir + "/new", "--system", dir + "/small.toml", "--format", "html",
      "-o", dir + "/diff.html"] + Self.ops)
    #expect(r.status == 1, "differences: \(r.err)")
    #expect(r.out.isEmpty)
    let page = try String(contentsOfFile: dir + "/diff.html", encoding: .utf8)

    // The removed call took domain:pause and unpause and event:reset of dom0_t on domU_t; the added
    // rule gives domU_t domain:pause on domU_t. Pausing oneself is refused by Xen whatever the policy.
    let dom0OnGuests = Self.pairs(caller: "dom0_t", target: "domU_t")
    let guestsOnGuests = Self.pairs(caller: "domU_t", target: "domU_t")
    #expect(dom0OnGuests == ["dom0 → guest", "dom0 → other"] && guestsOnGuests == ["guest → other", "other → guest"])
    #expect(try Self.pairs(page, op: "domctl.pausedomain", mark: "l") == dom0OnGuests)
    #expect(try Self.pairs(page, op: "domctl.pausedomain", mark: "g") == guestsOnGuests)
    #expect(try Self.pairs(page, op: "domctl.unpausedomain", mark: "l") == dom0OnGuests)
    #expect(try Self.pairs(page, op: "domctl.unpausedomain", mark: "g").isEmpty)
    #expect(try Self.pairs(page, op: "evtchn.reset", mark: "l") == dom0OnGuests)
    // dom0 keeps pausing the device model (toolstack_manages(dom0_t, dm_dom_t) in stubdm.te).
    #expect(try Self.pairs(page, op: "domctl.pausedomain", mark: "A") == ["dom0 → guest-dm"])
    // Unchanged ops have no grid; the summary counts (pair, op) changes as the text diff does.
    #expect(!page.contains("domctl.getdomaininfo") && !page.contains("sysctl.physinfo"))
    #expect(page.contains("<b>3 ops answer differently</b> for 4 (caller, target) pairs: <span class=\"nl\">6 (pair, op) decisions lost</span>, <span class=\"ng\">2 gained</span>"))
    let text = await xsmq(["diff", "policy", dir + "/new", "--system", dir + "/small.toml"] + Self.ops)
    #expect(text.out.hasSuffix("2 ops gained, 6 lost over 4 (caller, target) pairs (5 ops × 16 pairs compared)\n"), "\(text.out)")
    // The rules responsible and the source line of the added rule.
    #expect(page.contains("\"allow domU_t domU_t:domain pause;\""))
    let line = try SourceLines.line(in: dir + "/new/modules/domU.te", containing: [Self.addedRule])
    #expect(page.contains("modules\\/domU.te:\(line): allow domU_t domU_t:domain pause;"))

    // This machine's paths and the policies' digests taken out.
    let stable = page.replacingOccurrences(of: dir, with: "SCRATCH")
      .replacingOccurrences(of: dir.replacingOccurrences(of: "/", with: "\\/"), with: "SCRATCH")
      .replacingOccurrences(of: TestEnvironment.packageRoot, with: "ROOT")
      .replacingOccurrences(of: TestEnvironment.packageRoot.replacingOccurrences(of: "/", with: "\\/"), with: "ROOT")
      .replacingOccurrences(of: #"<td>[0-9a-f]{12}</td></tr>"#, with: "<td>DIGEST</td></tr>", options: .regularExpression)
    if let difference = Snapshot.difference(stable, named: "matrix/small-host-diff.html") { Issue.record("\(difference)") }
  }

  /// The page as headless Chromium draws it: the grid of domctl.pausedomain has a lost cell for
  /// each of dom0's guests and a gained one for each guest on the other. Chromium is not among
  /// the tools CI installs (Scripts/setup.sh), so this test runs where it is installed
  /// (Scripts/matrix-screenshots.sh needs it anyway).
  @Test(.enabled(if: TestEnvironment.toolPath("chromium") != nil)) func chromiumDrawsTheExpectedCells() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = await xsmq(["diff", "policy", dir + "/new", "--system", dir + "/small.toml", "--format", "html",
      "-o", dir + "/diff.html"] + Self.ops)
    #expect(r.status == 1, "\(r.err)")
    let chromium = Process()
    chromium.executableURL = URL(fileURLWithPath: try #require(TestEnvironment.toolPath("chromium")))
    chromium.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/profile", "--dump-dom",
      "file://\(dir)/diff.html#op=domctl.pausedomain"]
    let output = Pipe()
    chromium.standardOutput = output
    chromium.standardError = FileHandle.nullDevice
    try chromium.run()
    let dom = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    chromium.waitUntilExit()
    var drawn: [String: Set<String>] = [:]
    let cell = #/<td class="(ls|gn)" title="([^ ]+) domctl.pausedomain ([^:]+): /#
    for match in dom.matches(of: cell) { drawn[String(match.1), default: []].insert("\(match.2) → \(match.3)") }
    #expect(drawn["ls"] == Self.pairs(caller: "dom0_t", target: "domU_t"), "\(dom.prefix(2000))")
    #expect(drawn["gn"] == Self.pairs(caller: "domU_t", target: "domU_t"))
    #expect(dom.contains("<td class=\"sum\" title=\"lost on guest, other\">lost on guest, other</td>"))
  }

  /// Bad inputs are usage errors that write no page; two identical policies get a page saying
  /// there is no difference; under dummy the page says why policies cannot differ there.
  @Test func badInputsAndNoDifferences() async throws {
    let dir = try TestEnvironment.temporaryDirectory("xsmq-diff-html")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let page = dir + "/diff.html"
    let missing = await xsmq(["diff", "policy", dir + "/none.bin", "--format", "html", "-o", page])
    #expect(missing.status == 2 && missing.err.contains("the new policy `\(dir)/none.bin` does not exist"), "\(missing.err)")
    #expect(!FileManager.default.fileExists(atPath: page))
    try "not a policy\n".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
    let garbage = await xsmq(["diff", dir + "/notes.txt", "policy", "--format", "html", "-o", page])
    #expect(garbage.status == 2 && garbage.err.contains("notes.txt:1:1: error"), "\(garbage.err)")
    #expect(garbage.err.contains("the old policy `\(dir)/notes.txt` cannot be used"))
    #expect(!FileManager.default.fileExists(atPath: page))
    let unknown = await xsmq(["diff", "policy", "policy", "--format", "pdf"])
    #expect(unknown.status != 0 && unknown.err.contains("pdf"), "\(unknown.err)")

    let same = await xsmq(["diff", "embedded", "policy", "--format", "html", "-o", page])
    #expect(same.status == 0, "\(same.err)")
    let text = try String(contentsOfFile: page, encoding: .utf8)
    #expect(text.contains("<b>No differences</b>: every op answers the same for every pair on both sides"))
    #expect(!text.contains("<table class=\"g\"") && !text.contains("<script"))

    let dummy = await xsmq(["diff", "embedded", "policy", "--module", "dummy", "--format", "html"])
    #expect(dummy.status == 0 && dummy.out.contains("No differences"), "\(dummy.err)")
    #expect(dummy.out.contains("dummy decides without the policy") && dummy.out.contains("compare policies under flask"))
  }
}
