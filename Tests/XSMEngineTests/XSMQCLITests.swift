import Foundation
import Testing
import XSMPolicy

/// The built `xsmq` next to the test bundle.
let xsmqPath: String = {
  let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
    let path = candidate.appendingPathComponent("xsmq").path
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return packageRoot + "/.build/debug/xsmq"
}()

@discardableResult
func xsmq(_ arguments: [String], cwd: String? = nil) throws -> (status: Int32, out: String, err: String) {
  let output = try ProcessRunner.run(xsmqPath, arguments, directory: cwd ?? NSTemporaryDirectory())
  return (output.status, output.text, output.errorText)
}

@Suite("xsmq command line", .serialized)
struct XSMQCLITests {
  @Test func mainJobAnswersOnTheEmbeddedDefault() throws {
    let r = try xsmq(["can", "dom3", "domctl.pause", "dom5"])
    #expect(r.status == 1, "a stub device model may not pause its guest: \(r.err)")
    #expect(r.out == "dom3 (web-dm) domctl.pausedomain dom5 (web): denied (-EACCES) under flask\n")
    let allowed = try xsmq(["can", "dom0", "domctl.pause", "dom5"])
    #expect(allowed.status == 0)
    #expect(allowed.out.contains(": allowed under flask"))
  }

  @Test func allModulesWithWhyShowsEachLayer() throws {
    let r = try xsmq(["can", "web-dm", "dm.set_pci_intx_level", "web", "--all-modules", "--why"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("dummy  allowed"))
    #expect(r.out.contains("XSM_DM_PRIV: dom3 (web-dm) is the device model of dom5 (web)"))
    #expect(r.out.contains("hvm:dm current -> target"))
    #expect(r.out.contains("dm_dom_t -> user_1:vm_r:domU_t_target"))
  }

  @Test func jsonCarriesEveryDecision() throws {
    let r = try xsmq(["can", "dom4", "evtchn.bind_interdomain", "dom5", "--all-modules", "--json"])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let decisions = try #require(object["decisions"] as? [[String: Any]])
    #expect(decisions.count == 3)
    let silo = decisions.first { $0["module"] as? String == "silo" }
    #expect(silo?["verdict"] as? String == "denied", "silo refuses guest-to-guest channels")
  }

  @Test func selfPauseIsInvalid() throws {
    let r = try xsmq(["can", "dom0", "domctl.pause", "dom0", "--why"])
    #expect(r.status == 1)
    #expect(r.out.contains("invalid (-EPERM)"))
    #expect(r.out.contains("Xen refuses `domctl.pausedomain` when the caller names itself"))
  }

  @Test func badInputIsAUsageError() throws {
    let op = try xsmq(["can", "dom0", "domctl.pasue", "dom5"])
    #expect(op.status == 2)
    #expect(op.err.contains("unknown op `domctl.pasue`; did you mean `domctl.pause`?"))
    let domain = try xsmq(["can", "dom0", "domctl.pause", "webb"])
    #expect(domain.status == 2)
    #expect(domain.err.contains("unknown target domain `webb`; did you mean `web`?"))
    let missing = try xsmq(["can", "dom0"])
    #expect(missing.status == 2)
  }

  @Test func malformedSystemFileIsLocated() throws {
    let dir = NSTemporaryDirectory() + "xsmq-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "module = \"flask\"\n[[domain]]\ndomid = 0\nname = \"dom0\"\ncontext = \"system_u:system_r:dom0_tt\"\nflags = [\"control\"]\n"
      .write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
    let r = try xsmq(["can", "dom0", "domctl.pause", "dom0", "--system", dir + "/bad.toml"])
    #expect(r.status == 2)
    #expect(r.err.contains("bad.toml:5:11"), "\(r.err)")
    #expect(r.err.contains("did you mean `dom0_t`?"))
    try "modul = \"flask\"\n".write(toFile: dir + "/typo.toml", atomically: true, encoding: .utf8)
    let typo = try xsmq(["identity", "--system", dir + "/typo.toml"])
    #expect(typo.status == 2)
    #expect(typo.err.contains("typo.toml:1:1"))
  }

  @Test func matrixFormats() throws {
    let text = try xsmq(["matrix", "--op", "domctl.pause", "--all-modules"])
    #expect(text.status == 0, "\(text.err)")
    #expect(text.out.contains("domctl.pausedomain under dummy"))
    let csv = try xsmq(["matrix", "--family", "grant", "--format", "csv"])
    let lines = csv.out.split(separator: "\n")
    #expect(lines.first == "op,module,caller_domid,caller,target_domid,target,verdict")
    #expect(lines.count == 1 + 13 * 12 * 12)
    let html = try xsmq(["matrix", "--family", "evtchn", "--format", "html"])
    #expect(html.out.hasPrefix("<!DOCTYPE html>"))
    #expect(html.out.contains("<svg"))
    let json = try xsmq(["matrix", "--op", "domctl.pause", "--json"])
    #expect((try? JSONSerialization.jsonObject(with: Data(json.out.utf8))) != nil)
    let family = try xsmq(["matrix", "--family", "domctll"])
    #expect(family.status == 2 && family.err.contains("did you mean `domctl`?"))
  }

  @Test func compareGroupsByOp() throws {
    let r = try xsmq(["compare", "--family", "evtchn"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("evtchn.bind_interdomain"))
    #expect(r.out.contains("expected:"))
    #expect(r.out.contains("silo's rule"))
  }

  @Test func identityNamesModuleAndPolicy() throws {
    let r = try xsmq(["identity"])
    #expect(r.status == 0)
    #expect(r.out.contains("module    flask"))
    #expect(r.out.contains("XenFlask v30"))
    let json = try xsmq(["identity", "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
    #expect((object?["policy_digest"] as? String)?.count == 64)
  }
}
