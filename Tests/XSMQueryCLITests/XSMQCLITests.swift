import Foundation
import Testing
import XSMCommandLine
import XSMEngine
import XSMQueryCLI
import XSMTestSupport

let packageRoot = TestEnvironment.packageRoot

/// Runs an xsmq command line in this process: status, stdout and stderr.
@discardableResult
func xsmq(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
  TestEnvironment.enterPackageRoot()
  let result = await XSMQ.run(capturing: arguments)
  return (result.status, result.output, result.error)
}

@Suite("xsmq command line")
struct XSMQCLITests {
  @Test func mainJobAnswersOnTheEmbeddedDefault() async throws {
    let r = await xsmq(["can", "dom3", "domctl.pause", "dom5"])
    #expect(r.status == 1, "a stub device model may not pause its guest: \(r.err)")
    #expect(r.out == """
      dom3 (web-dm) domctl.pausedomain dom5 (web): denied (-EACCES) under flask
      host: default (embedded), module flask

      """)
    let allowed = await xsmq(["can", "dom0", "domctl.pause", "dom5"])
    #expect(allowed.status == 0)
    #expect(allowed.out.contains(": allowed under flask"))
  }

  @Test func allModulesWithWhyShowsEachLayer() async throws {
    let r = await xsmq(["can", "web-dm", "dm.set_pci_intx_level", "web", "--all-modules", "--why"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("dummy  allowed"))
    #expect(r.out.contains("XSM_DM_PRIV: dom3 (web-dm) is the device model of dom5 (web)"))
    #expect(r.out.contains("hvm:dm current -> target"))
    #expect(r.out.contains("dm_dom_t -> user_1:vm_r:domU_t_target"))
  }

  @Test func jsonCarriesEveryDecision() async throws {
    let r = await xsmq(["can", "dom4", "evtchn.bind_interdomain", "dom5", "--all-modules", "--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let decisions = try #require(object["decisions"] as? [[String: Any]])
    #expect(decisions.count == 3)
    let silo = decisions.first { $0["module"] as? String == "silo" }
    #expect(silo?["verdict"] as? String == "denied", "silo refuses guest-to-guest channels")
  }

  /// xen/common/domctl.c do_domctl: xsm_domctl first, then `d == current->domain` is -EINVAL.
  @Test func selfPauseIsRefusedAfterTheHook() async throws {
    let r = await xsmq(["can", "dom0", "domctl.pause", "dom0", "--module", "dummy", "--why"])
    #expect(r.status == 1)
    #expect(r.out.contains("invalid (-EINVAL)"), "\(r.out)")
    #expect(r.out.contains("ok   dummy: XSM_PRIV: dom0 is the control domain"))
    #expect(r.out.contains("after the hook: `target` is the caller itself -> -EINVAL"))
    #expect(r.out.contains("[xen/common/domctl.c do_domctl]"))
    let flask = await xsmq(["can", "dom0", "domctl.pause", "dom0"])
    #expect(flask.out.contains("denied (-EACCES) under flask"), "the hook's refusal comes first: \(flask.out)")
    let named = await xsmq(["can", "dom0", "domctl.pause", "self", "--module", "dummy"])
    #expect(named.out.contains("invalid (-ESRCH)"), "DOMID_SELF is not looked up by do_domctl: \(named.out)")
  }

  @Test func argumentErrorsListTheArguments() async throws {
    let missing = await xsmq(["can", "dom4", "evtchn.status", "self"])
    #expect(missing.status == 2)
    #expect(missing.err.contains("`evtchn.status` needs the argument `remote`"), "\(missing.err)")
    #expect(missing.err.contains("owner      domain, Xen's evtchn_status.dom, default self (DOMID_SELF, the caller) (TARGET)"))
    let unknown = await xsmq(["can", "dom4", "evtchn.status", "--arg", "remot=dom0"])
    #expect(unknown.status == 2 && unknown.err.contains("has no argument `remot`; did you mean `remote`?"))
    let targetless = await xsmq(["can", "dom0", "sysctl.physinfo", "dom5"])
    #expect(targetless.status == 2 && targetless.err.contains("takes no domain argument, so no target `dom5`"))
    let situation = await xsmq(["can", "dom0", "grant.map_grant_ref", "--arg", "granter=dom5", "--situation", "bogus"])
    #expect(situation.status == 2 && situation.err.contains("`bogus` is not a situation of `grant.map_grant_ref`"))
    let answer = await xsmq(["can", "dom4", "evtchn.status", "dom5", "--arg", "remote=dom0", "--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.out.utf8)) as? [String: Any])
    #expect(object["arguments"] as? [String] == ["owner=dom5", "remote=dom0"])
    let args = await xsmq(["args", "memory.add_to_physmap_batch.gmfn_foreign"])
    #expect(args.status == 0 && args.out.contains("--arg foreign=VALUE"), "\(args.out)")
    #expect(args.out.contains("before not-caller foreign -EPERM [xen/arch/x86/mm/p2m.c p2m_add_foreign]"))
  }

  @Test func badInputIsAUsageError() async throws {
    let op = await xsmq(["can", "dom0", "domctl.pasue", "dom5"])
    #expect(op.status == 2)
    #expect(op.err.contains("unknown op `domctl.pasue`; did you mean `domctl.pause`?"))
    let domain = await xsmq(["can", "dom0", "domctl.pause", "webb"])
    #expect(domain.status == 2)
    #expect(domain.err.contains("unknown target domain `webb`; did you mean `web`?"))
    let missing = await xsmq(["can", "dom0"])
    #expect(missing.status == 2)
  }

  @Test func malformedSystemFileIsLocated() async throws {
    let dir = NSTemporaryDirectory() + "xsmq-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "module = \"flask\"\n[[domain]]\ndomid = 0\nname = \"dom0\"\ncontext = \"system_u:system_r:dom0_tt\"\nflags = [\"control\"]\n"
      .write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
    let r = await xsmq(["can", "dom0", "domctl.pause", "dom0", "--system", dir + "/bad.toml"])
    #expect(r.status == 2)
    #expect(r.err.contains("bad.toml:5:11"), "\(r.err)")
    #expect(r.err.contains("did you mean `dom0_t`?"))
    try "modul = \"flask\"\n".write(toFile: dir + "/typo.toml", atomically: true, encoding: .utf8)
    let typo = await xsmq(["identity", "--system", dir + "/typo.toml"])
    #expect(typo.status == 2)
    #expect(typo.err.contains("typo.toml:1:1"))
  }

  /// Xen's validate_classes refuses a policy whose permission bits are not its
  /// own; xsmq still answers for the policy as it is, and warns.
  @Test func policyXenRefusesIsWarned() async throws {
    let dir = NSTemporaryDirectory() + "xsmq-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var binary = EmbeddedDefaults.policyBinary
    let name = Array("settime".utf8)
    let at = try #require((0...(binary.count - name.count)).first { Array(binary[$0..<$0 + name.count]) == name })
    binary.replaceSubrange(at..<at + name.count, with: Array("setxime".utf8))
    try Data(binary).write(to: URL(fileURLWithPath: dir + "/renamed.bin"))
    let system = try String(contentsOfFile: TestEnvironment.path("examples/systems/default.toml"), encoding: .utf8)
      .replacingOccurrences(of: "policy = \"embedded\"", with: "policy = \"renamed.bin\"")
    try system.write(toFile: dir + "/system.toml", atomically: true, encoding: .utf8)
    let r = await xsmq(["can", "dom0", "domctl.pause", "dom4", "--system", dir + "/system.toml"])
    #expect(r.status != 2, "\(r.err)")
    #expect(r.err.contains("system.xen-refuses-policy"), "\(r.err)")
    #expect(r.err.contains("permission bit 18 of class `domain` is `setxime`, but Xen expects `settime`"), "\(r.err)")
  }

  /// An op without a domain argument is one question per caller: counted out of the 12 callers, its
  /// unasked pairs marked in the grid, and in the HTML page's data the caller's one answer.
  @Test func matrixOfAnOpWithoutATarget() async throws {
    let text = await xsmq(["matrix", "--op", "sysctl.physinfo", "--module", "dummy"])
    #expect(text.status == 0, "\(text.err)")
    #expect(text.out.contains("sysctl.physinfo  1/12"), "\(text.out)")
    #expect(text.out.contains("(1 without a domain argument: one question per caller)"))
    #expect(text.out.contains("dom0              A  -  -"))
    let html = await xsmq(["matrix", "--op", "sysctl.physinfo", "--module", "dummy", "--format", "html"])
    // One verdict per caller (dom0 only, under dummy), drawn in the grid's "(no target)" column.
    #expect(html.out.contains(#"{"op":"sysctl.physinfo","targeted":false,"v":["Addddddddddd"]}"#), "\(html.out)")
  }

  @Test func matrixFormats() async throws {
    let text = await xsmq(["matrix", "--op", "domctl.pause", "--all-modules"])
    #expect(text.status == 0, "\(text.err)")
    #expect(text.out.contains("domctl.pausedomain under dummy"))
    let csv = await xsmq(["matrix", "--family", "grant", "--format", "csv"])
    let lines = csv.out.split(separator: "\n")
    #expect(lines.first == "op,module,caller_domid,caller,target_domid,target,verdict")
    // 9 grant ops take a domain (one row per pair of the 12 domains); 4 take none (one row per caller).
    let expectedRows: Int = 1 + 9 * 12 * 12 + 4 * 12
    #expect(lines.count == expectedRows)
    let html = await xsmq(["matrix", "--family", "evtchn", "--format", "html"])
    #expect(html.out.hasPrefix("<!DOCTYPE html>"))
    #expect(html.out.contains("<tr data-op=\"evtchn.bind_interdomain\""))
    let json = await xsmq(["matrix", "--op", "domctl.pause", "--json"])
    #expect((try? JSONSerialization.jsonObject(with: Data(json.out.utf8))) != nil)
    let family = await xsmq(["matrix", "--family", "domctll"])
    #expect(family.status == 2 && family.err.contains("did you mean `domctl`?"))
  }

  /// A report's `-o` goes through the one output writer: a symbolic link is refused and its target kept.
  @Test func matrixOutputRefusesASymbolicLink() async throws {
    let dir = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "kept\n".write(toFile: dir + "/real", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "real")
    let refused = await xsmq(["matrix", "--op", "domctl.pause", "-o", dir + "/link"])
    #expect(refused.status == 2 && refused.err.contains("cannot write `\(dir)/link`: it is a symbolic link to `real`"),
      "\(refused.err)")
    #expect(try String(contentsOfFile: dir + "/real", encoding: .utf8) == "kept\n")
    let written = await xsmq(["matrix", "--op", "domctl.pause", "-o", dir + "/matrix.txt"])
    #expect(written.status == 0 && FileManager.default.fileExists(atPath: dir + "/matrix.txt"), "\(written.err)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["link", "matrix.txt", "real"])
  }

  @Test func compareGroupsByOp() async throws {
    let r = await xsmq(["compare", "--family", "evtchn"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("evtchn.bind_interdomain"))
    #expect(r.out.contains("expected:"))
    #expect(r.out.contains("silo's rule"))
  }

  @Test func identityNamesModuleAndPolicy() async throws {
    let r = await xsmq(["identity"])
    #expect(r.status == 0)
    #expect(r.out.contains("module    flask"))
    #expect(r.out.contains("XenFlask v30"))
    let json = await xsmq(["identity", "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
    #expect((object?["policy_digest"] as? String)?.count == 64)
  }
}

/// A word where a command belongs: the nearest command, the command one level
/// down, or the op it names with the question that asks about it.
@Suite("xsmq unknown words")
struct UnknownWordTests {
  @Test func aMisspelledCommandGetsTheNearest() async {
    let typo = await xsmq(["flask", "lodpolicy", "x.bin"])
    #expect(typo.status == 2)
    #expect(typo.err.contains("hint: `xsmq flask lodpolicy`: no such command; did you mean `loadpolicy`?"), "\(typo.err)")
    let can = await xsmq(["cna", "dom0", "domctl.pause", "dom1"])
    #expect(can.err.contains("did you mean `can`?"), "\(can.err)")
    let prefix = await xsmq(["flask", "label"])
    #expect(prefix.err.contains("`label-pci` or `label-irq` or `label-iomem` or `label-ioport`"), "\(prefix.err)")
    let nothing = await xsmq(["xyzzy"])
    #expect(nothing.err.contains("hint: `xsmq` has the commands can, args, explain"), "\(nothing.err)")
  }

  @Test func aFlaskCommandAtTheTopIsFoundBelowFlask() async {
    let result = await xsmq(["setenforce", "0"])
    #expect(result.status == 2)
    #expect(result.err.contains("hint: did you mean `xsmq flask setenforce`?"), "\(result.err)")
  }

  @Test func anOpWordGetsItsQuestion() async {
    let pause = await xsmq(["pause"])
    #expect(pause.status == 2)
    #expect(pause.err.contains("hint: `pause` is an op, not a command: ask `xsmq can CALLER domctl.pause TARGET` (also domrun.pause)"), "\(pause.err)")
    let settime = await xsmq(["settime"])
    #expect(settime.err.contains("ask `xsmq can CALLER platform.settime`"), "no target for a platform op: \(settime.err)")
    // A correct command line gets no hint, and neither does a bad option.
    #expect(!(await xsmq(["can", "--nosuch"])).err.contains("hint:"))
  }
}

/// `--help` of every xsmq command against Tests/Snapshots/help/xsmq.txt.
@Suite("--help of every xsmq command")
struct XSMQHelpSnapshotTests {
  @Test func everyHelpMatchesItsSnapshot() {
    let text = XSMQ.everyHelpText()
    #expect(text.contains("=== xsmq flask label-pci --help"))
    #expect(Snapshot.difference(text, named: "help/xsmq.txt") == nil)
  }
}

/// `xsmq compare --domain`: the pairs are those of the named domains only
/// (the option was once parsed and then ignored, listing dom0 -> dom0).
@Suite("xsmq compare --domain")
struct CompareDomainTests {
  @Test func onlyTheNamedDomainsArePaired() async throws {
    let r = await xsmq(["compare", "--family", "evtchn", "--domain", "web-dm", "--domain", "web"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("dom3 (web-dm) -> dom5 (web)"), "\(r.out)")
    let pairs = r.out.split(separator: "\n").filter { $0.contains(" -> ") }
    #expect(!pairs.isEmpty)
    for line in pairs {
      #expect(line.contains("(web-dm) ->") || line.contains("(web) ->"), "caller outside --domain: \(line)")
      #expect(line.contains("-> dom3 (web-dm)") || line.contains("-> dom5 (web)"), "target outside --domain: \(line)")
    }
  }
}
