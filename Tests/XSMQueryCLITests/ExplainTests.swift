import Foundation
import Testing
import XSMAudit
import XSMTestSupport

/// `xsmq explain` on real-shaped avc lines (examples/logs/xl-dmesg.log) against the embedded default host.
@Suite("xsmq explain")
struct ExplainTests {
  static let log = "examples/logs/xl-dmesg.log"

  @Test func parsesWhatAvcAuditPrints() throws {
    let line = "(XEN) [   12.345678] avc:  denied  { map_read 0x400 } for source=d[IO] target=d7 pte=0x1000 mfn=0x2a "
      + "ssid=12 tsid=13 tclass=mmu"
    let record = try AVCLog.parse(line).get()
    #expect(record.verdict == .denied && record.permissions == ["map_read", "0x400"])
    #expect(record.source?.domid == 0x7ff1 && record.target?.domid == 7)
    #expect(record.details == [AVCDetail(name: "pte", value: "0x1000"), AVCDetail(name: "mfn", value: "0x2a")])
    #expect(record.ssid == 12 && record.tsid == 13 && record.scontext == nil)
    let current = try AVCLog.parse("avc:  granted  null for current=d[XEN] dtdevice=/soc/uart scontext=a:b:c tcontext=a:b:d tclass=resource").get()
    #expect(current.permissions.isEmpty && current.current?.text == "d[XEN]" && current.objectDomain == nil)
    #expect(current.details.first?.value == "/soc/uart")
    var log = AVCLog()
    log.read("noise\navc: denied { pause } for source=dX scontext=a:b:c tcontext=a:b:c tclass=domain\n", input: "x")
    #expect(log.malformed.first?.line == 2 && log.malformed.first?.reason.contains("`source=dX`") == true)
    #expect(log.otherLines == 1 && log.linesRead == 2)
  }

  @Test func explainsALogOnTheDefaultHost() async throws {
    let r = await xsmq(["explain", Self.log])
    #expect(r.status == 0, "\(r.err)")
    // Duplicates grouped, with and without the (XEN) prefix; the op named by asking the engine.
    #expect(r.out.contains("xl-dmesg.log:2: denied { pause } tclass=domain (2 times)"), "\(r.out)")
    #expect(r.out.contains("op    domctl.pausedomain, domrun.pause (dom3 (web-dm) -> dom5 (web))"))
    #expect(r.out.contains("fix     allow dm_dom_t domU_t_target:domain pause;"))
    #expect(r.out.contains("allow dm_dom_t domU_t_target : op { domctl.pausedomain domrun.pause };"))
    // A conditional rule behind a boolean (policy/modules/guest_features.te).
    #expect(r.out.contains("xen2:pmu_use: a conditional rule grants it when `guest_vpmu` is true (on this host `guest_vpmu` is false)"))
    #expect(r.out.contains("fix     set guest_vpmu=true  (flask-set-bool on Xen, [booleans] in a system file)"))
    // A constraint of vm_role keeps tenants apart: a rule alone would not do.
    #expect(r.out.contains("grant:map_read: no allow rule grants it, and a constraint would remove it even then"))
    #expect(r.out.contains("by    constrain grant { map_read map_write copy }"))
    // Granted lines, denials the host's policy grants now, domids the host does not have.
    #expect(r.out.contains("security:setenforce: granted by the rules below"))
    #expect(r.out.contains("domain:pause: the host's policy grants it now"))
    #expect(r.out.contains("note    d42 is not a domain of this host: explained by its contexts only"))
    #expect(r.out.contains("check   not checked (the embedded binary policy"))
    #expect(r.out.contains("11 lines: 9 avc records, 8 distinct (7 denied, 1 granted), 2 other lines"))
  }

  @Test func jsonIsStable() async throws {
    let r = await xsmq(["explain", Self.log, "--json"])
    #expect(r.status == 0, "\(r.err)")
    if let difference = Snapshot.difference(r.out, named: "explain/xl-dmesg.json") { Issue.record("\(difference)") }
  }

  @Test func malformedLinesAreReportedAndSkipped() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let text = """
      (XEN) Freed 2048kB init memory
      avc:  denied  { pause } for source=d3 target=d5 scontext=user_1:vm_r:dm_dom_t tcontext=user_1:vm_r:domU_t_target tclass=domain
      (XEN) avc:  denied  { pause for source=d3
      """
    try text.write(toFile: dir + "/dmesg.log", atomically: true, encoding: .utf8)
    let r = await xsmq(["explain", dir + "/dmesg.log"])
    #expect(r.status == 1, "a line that is not understood makes the status 1")
    #expect(r.err.contains("dmesg.log:3: warning: not an avc line Xen prints: the permission list has no closing `}`"), "\(r.err)")
    #expect(r.out.contains("dmesg.log:2: denied { pause } tclass=domain"))
    let none = await xsmq(["explain", dir + "/none.log"])
    #expect(none.status == 2 && none.err.contains("cannot read"))
  }

  @Test func explainsAQuestion() async throws {
    let r = await xsmq(["explain", "--caller", "dom3", "--op", "domctl.pause", "--target", "dom5"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("query: denied { pause } tclass=domain"), "\(r.out)")
    #expect(r.out.contains("fix     allow dm_dom_t domU_t_target:domain pause;"))
    #expect(r.out.contains("allow dm_dom_t domU_t_target : op { domctl.pausedomain };"))
    let allowed = await xsmq(["explain", "--caller", "dom0", "--op", "domctl.pause", "--target", "dom5"])
    #expect(allowed.status == 0 && allowed.out.contains("allowed under flask; nothing to explain"))
    let usage = await xsmq(["explain", "--caller", "dom0"])
    #expect(usage.status == 2)
  }

  /// On a host built from a copy of the project's tree: the suggested rule passes the neverallow
  /// check, and once appended to the tree the denial is gone; a rule into prot_domU_t's memory breaks one.
  @Test func aFixAppliedMakesTheDenialGoAway() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.copyItem(atPath: TestEnvironment.projectPolicyTree, toPath: dir + "/policy")
    let system = try String(contentsOfFile: TestEnvironment.path("examples/systems/default.toml"), encoding: .utf8)
      .replacingOccurrences(of: "policy = \"embedded\"", with: "policy = \"policy\"")
    try system.write(toFile: dir + "/host.toml", atomically: true, encoding: .utf8)

    let r = await xsmq(["explain", Self.log, "--system", dir + "/host.toml", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let report = try JSONDecoder.snakeCase.decode(AVCReport.self, from: Data(r.out.utf8))
    let pause = try #require(report.entries.first { $0.tclass == "domain" && $0.source?.domid == 3 })
    #expect(pause.fix?.neverallow?.status == .holds, "\(String(describing: pause.fix?.neverallow))")
    let mmu = try #require(report.entries.first { $0.tclass == "mmu" })
    #expect(mmu.fix?.neverallow?.status == .breaks)
    #expect(mmu.fix?.neverallow?.text.contains("`neverallow ~prot_domU_t prot_domU_t:mmu { map_read map_write };`") == true)
    #expect(mmu.fix?.neverallow?.diagnostics.first?.contains("sepol.neverallow") == true)

    // The tree's own macro that grants domain:pause from $1 to $2 (policy/support/toolstack.spt).
    let toolstack = try String(contentsOfFile: dir + "/policy/support/toolstack.spt", encoding: .utf8)
    let defineLine = try #require(toolstack.split(separator: "\n", omittingEmptySubsequences: false)
      .firstIndex { $0.hasPrefix("define(`toolstack_manages'") }) + 1
    let macro = try #require(pause.fix?.macroCalls.first { $0.call == "toolstack_manages(dm_dom_t, domU_t_target)" },
      "\(pause.fix?.macroCalls ?? [])")
    #expect(macro.definedAt == dir + "/policy/support/toolstack.spt:\(defineLine)")
    #expect(macro.file == dir + "/policy/modules/stubdm.te", "the module that declares dm_dom_t")
    let embedded = await xsmq(["explain", Self.log, "--json"])
    let onEmbedded = try JSONDecoder.snakeCase.decode(AVCReport.self, from: Data(embedded.out.utf8))
    #expect(onEmbedded.entries.allSatisfy { $0.fix?.macroCalls.isEmpty ?? true }, "no tree, no macro calls")

    let rule = try #require(pause.fix?.allowRule)
    let te = dir + "/policy/modules/domU.te"
    try (String(contentsOfFile: te, encoding: .utf8) + "\n" + rule + "\n").write(toFile: te, atomically: true, encoding: .utf8)
    let after = await xsmq(["can", "dom3", "domctl.pause", "dom5", "--system", dir + "/host.toml"])
    #expect(after.status == 0, "\(after.out)\(after.err)")
    #expect(after.out.contains(": allowed under flask"))
  }

  /// A host whose policy is a policy.conf: the copy gets the rule appended, and the neverallow is found there.
  @Test func neverallowsOfAPolicyConf() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try await TestPolicies.project().policyText.write(toFile: dir + "/policy.conf", atomically: true, encoding: .utf8)
    let system = try String(contentsOfFile: TestEnvironment.path("examples/systems/default.toml"), encoding: .utf8)
      .replacingOccurrences(of: "policy = \"embedded\"", with: "policy = \"policy.conf\"")
    try system.write(toFile: dir + "/host.toml", atomically: true, encoding: .utf8)
    try "avc:  denied  { setdebugging } for source=d0 target=d10 scontext=system_u:system_r:dom0_t tcontext=user_3:vm_r:prot_domU_t tclass=domain\n"
      .write(toFile: dir + "/debug.log", atomically: true, encoding: .utf8)
    let r = await xsmq(["explain", dir + "/debug.log", "--system", dir + "/host.toml"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("fix     allow dom0_t prot_domU_t:domain setdebugging;"), "\(r.out)")
    #expect(r.out.contains("error   the rule breaks a neverallow: `neverallow * prot_domU_t:domain { getvcpucontext setdebugging };`"))
    let json = await xsmq(["explain", dir + "/debug.log", "--system", dir + "/host.toml", "--json"])
    let report = try JSONDecoder.snakeCase.decode(AVCReport.self, from: Data(json.out.utf8))
    let diagnostic = try #require(report.entries.first?.fix?.neverallow?.diagnostics.first)
    #expect(diagnostic.hasPrefix("suggested rule:1:1: sepol.neverallow:"), "\(diagnostic)")
  }

  /// A host booted permissive: the same lines, the checks recorded rather than enforced, the same ops fit;
  /// a log whose labels are not the host's is told so; a rule behind two booleans names both.
  @Test func permissiveHostAndOtherLabels() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let system = try String(contentsOfFile: TestEnvironment.path("examples/systems/default.toml"), encoding: .utf8)
      .replacingOccurrences(of: "enforcing = true", with: "enforcing = false")
      .replacingOccurrences(of: "policy_frozen = false", with: "policy_frozen = true")
      .replacingOccurrences(of: "dom0_live_update = true", with: "dom0_live_update = false")
    try system.write(toFile: dir + "/permissive.toml", atomically: true, encoding: .utf8)
    try """
      avc:  denied  { pause } for source=d3 target=d5 scontext=user_1:vm_r:dm_dom_t tcontext=user_1:vm_r:domU_t_target tclass=domain
      avc:  denied  { pause } for source=d3 target=d5 scontext=user_1:vm_r:dm_dom_t tcontext=user_1:vm_r:domU_t tclass=domain
      avc:  denied  { microcode } for current=d0 scontext=system_u:system_r:dom0_t tcontext=system_u:system_r:xen_t tclass=xen
      """.write(toFile: dir + "/permissive.log", atomically: true, encoding: .utf8)
    let r = await xsmq(["explain", dir + "/permissive.log", "--system", dir + "/permissive.toml"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("op    domctl.pausedomain, domrun.pause (dom3 (web-dm) -> dom5 (web))"), "\(r.out)")
    #expect(r.out.contains("note  on this host domctl.pausedomain checks it as user_1:vm_r:dm_dom_t -> user_1:vm_r:domU_t_target"))
    // policy/modules/dom0.te: `if (dom0_live_update && !policy_frozen)`, both set the other way here.
    #expect(r.out.contains("a conditional rule grants it when `dom0_live_update` is true and `policy_frozen` is false"))
    #expect(r.out.contains("fix     set dom0_live_update=true policy_frozen=false"))
  }

  private func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "xsmq-explain-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }
}

extension JSONDecoder {
  /// Reads what `encodeJSON` writes.
  static var snakeCase: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
  }
}
