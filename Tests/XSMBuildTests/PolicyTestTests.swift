import Foundation
import Testing
import XSMDiagnostics
import XSMTestSupport

/// `xsmc test`: the project's own properties pass, a broken copy of the
/// policy fails the cases it breaks, and bad test files get located errors.
@Suite("xsmc test: policy assertions")
struct PolicyTestTests {
  static let properties = "policy/tests/properties.toml"
  static let small = "examples/policy-tests/small.toml"
  static let coverage = "examples/policy-tests/coverage.toml"

  @Test func theProjectPolicyHasItsDocumentedProperties() async {
    let result = await xsmc(["test", Self.properties])
    #expect(result.status == 0, "\(result.out)\(result.err)")
    #expect(result.out.hasSuffix("passed, 0 failed\n"), "\(result.out)")
    #expect(!result.out.contains("FAIL"))
  }

  /// A copy of the policy without dom0's right to build domU_t guests,
  /// without the stub device model's rights over its guest, or with dom0's
  /// right to change the security server cut down to `setsecparam`.
  @Test(arguments: [
    ("domU.te", "toolstack_builds(dom0_t, domU_t)\n", "",
      ["dom0 may build an HVM guest", "dom0 may build a PV guest"]),
    ("stubdm.te", "ifdef(`domU_enabled', `stub_device_model(dom0_t, dm_dom_t, domU_t)')\n", "",
      ["dom0 may build an HVM guest", "the device model acts on its own guest",
        "only dom0 and web's device model raise web's interrupts"]),
    ("dom0.te", "{ load_policy setenforce setbool setsecparam add_ocontext del_ocontext }", "setsecparam",
      ["dom0 administers the security server", "only dom0 changes the security server and device labels"]),
  ])
  func aBrokenPolicyFailsTheCasesItBreaks(module: String, line: String, replacement: String, failing: [String])
    async throws
  {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.copyItem(atPath: TestEnvironment.path("policy"), toPath: directory + "/policy")
    let te = directory + "/policy/modules/" + module
    let text = try String(contentsOfFile: te, encoding: .utf8)
    #expect(text.components(separatedBy: line).count == 2, "`\(line)` once in \(module)")
    try text.replacingOccurrences(of: line, with: replacement).write(toFile: te, atomically: true, encoding: .utf8)
    let cases = try String(contentsOfFile: TestEnvironment.path(Self.properties), encoding: .utf8)
      .replacingOccurrences(of: "system = \"../../examples/systems/default.toml\"",
        with: "system = \"\(TestEnvironment.path("examples/systems/default.toml"))\"\npolicy = \"policy\"")
    try cases.write(toFile: directory + "/broken.toml", atomically: true, encoding: .utf8)

    let result = await xsmc(["test", directory + "/broken.toml", "--junit", directory + "/junit.xml"])
    #expect(result.status == 1, "\(result.err)")
    let failed = result.out.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }.map { String($0.dropFirst(5)) }
    #expect(failed == failing, "\(result.out)")
    #expect(result.out.contains("ok   dom0 manages guests"))
    #expect(result.out.hasSuffix(" passed, \(failing.count) failed\n"))
    let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
    #expect(junit.contains("failures=\"\(failing.count)\""))
    for name in failing { #expect(junit.contains("<testcase name=\"\(name)\"")) }
    #expect(junit.components(separatedBy: "<failure ").count == failing.count + 1)
  }

  /// `only` names the callers it did not expect (one with its trace) and
  /// the listed ones that may not; `reachable` and `unreachable` pass on
  /// the project's policy.
  @Test func coverageQuestionsAskEveryDomain() async {
    let result = await xsmc(["test", Self.coverage])
    #expect(result.status == 1, "\(result.err)")
    #expect(result.out.contains("ok   only dom0 changes the security server\n"), "\(result.out)")
    #expect(result.out.contains("ok   only dom0 and web's device model raise web's interrupts\n"))
    #expect(result.out.contains("ok   guests can be created, run and reached\n"))
    #expect(result.out.contains("ok   no domain transfers pages\n"))
    #expect(result.out.contains("""
      FAIL only dom0 reads a guest's state (fails: xenstore and device models do too)
             examples/policy-tests/coverage.toml:24: domctl.getdomaininfo under flask: may, but not listed: dom1 (xenstore), dom3 (web-dm), dom7 (ci-dm)
      """), "\(result.out)")
    #expect(result.out.contains("       for example: dom1 (xenstore) domctl.getdomaininfo "), "\(result.out)")
    #expect(result.out.contains("ok   coverage: at least 10% of the ops of xsm asked\n"))
    #expect(result.out.hasSuffix("5 passed, 1 failed\n"))
  }

  /// A listed caller to whom Xen refuses the op whatever the module (here a
  /// sysctl compiled out of the default build) is not one the policy refuses.
  @Test func onlyLeavesOutWhatXenRefusesAnyway() async throws {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/invalid.toml"
    try """
      [[case]]
      name = "only dom0 reads the performance counters"
      only = { caller = "dom0", op = "sysctl.perfc_op" }

      [[case]]
      name = "only dom0 pauses web"
      only = { caller = ["dom0", "xenstore"], op = "domctl.pausedomain", target = "web" }
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let result = await xsmc(["test", file])
    #expect(result.status == 1, "\(result.err)")
    #expect(result.out.contains("ok   only dom0 reads the performance counters\n"), "\(result.out)")
    #expect(result.out.contains("domctl.pausedomain under flask: listed, but may not: dom1 (xenstore)\n"), "\(result.out)")
    #expect(result.out.contains("for example: dom1 (xenstore) domctl.pausedomain dom5 (web): denied (-EACCES) under flask, expected allowed"))
  }

  @Test(arguments: [("text", [String]()), ("json", ["--json"])])
  func coverageReportIsStable(name: String, options: [String]) async {
    let result = await xsmc(["test", Self.coverage, "--coverage"] + options)
    #expect(result.status == 1, "\(result.err)")
    let snapshot = "policy-test/coverage." + (name == "json" ? "json" : "txt")
    if let difference = Snapshot.difference(result.out, named: snapshot) { Issue.record("\(difference)") }
  }

  /// A file's `coverage` requirement fails the run when a family has fewer of its ops asked.
  @Test func aCoverageRequirementFailsTheRun() async throws {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/thin.toml"
    try """
      coverage = { families = ["domctl", "evtchn"], min-percent = 50 }

      [[case]]
      name = "dom0 pauses guests"
      may = { caller = "dom0", op = "domctl.pausedomain", target = "web" }

      [[case]]
      name = "the event channel ops a guest uses on itself"
      reachable = { op = "evtchn.*", caller = "web", target = "web" }
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let result = await xsmc(["test", file, "--junit", directory + "/junit.xml"])
    #expect(result.status == 1, "\(result.err)")
    #expect(result.out.contains("FAIL coverage: at least 50% of the ops of domctl, evtchn asked\n"), "\(result.out)")
    #expect(result.out.contains("\(file):1: domctl: 1 of "), "\(result.out)")
    #expect(!result.out.contains(": evtchn: "), "every evtchn op was asked")
    let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
    #expect(junit.contains("<testcase name=\"coverage: at least 50% of the ops of domctl, evtchn asked\""))
    #expect(junit.contains("type=\"coverage\""))
  }

  @Test func aFailureShowsTheQuestionAndTheTrace() async {
    let result = await xsmc(["test", Self.small])
    #expect(result.status == 1)
    #expect(result.out.contains("""
      FAIL dom0 maps the ledger's resource pages (fails: ledger is protected)
             examples/policy-tests/small.toml:23: dom0 memory.acquire_resource dom10 (ledger): denied (-EACCES) under flask, expected allowed
      """))
    #expect(result.out.contains("         FAIL flask: domain2:resource_map current -> target\n"))
    #expect(result.out.hasSuffix("4 passed, 1 failed\n"))
  }

  @Test func jsonIsStable() async {
    let result = await xsmc(["test", Self.small, "--json"])
    #expect(result.status == 1, "\(result.err)")
    if let difference = Snapshot.difference(result.out, named: "policy-test/small.json") { Issue.record("\(difference)") }
  }

  @Test func aBuildWithALabelIsRelabelledBeforeItStarts() async throws {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/build.toml"
    try """
      [[case]]
      name = "protected, under its build label"
      build = { builder = "dom0", guest = "ledger", label = "user_3:vm_r:prot_domU_t_building" }

      [[case]]
      name = "protected, under its running label"
      build = { builder = "dom0", guest = "ledger" }
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let result = await xsmc(["test", file, "--skipped"])
    #expect(result.status == 1)
    #expect(result.out.contains("ok   protected, under its build label\n"))
    #expect(!result.out.contains("skipped step 12, relabel it"), "the relabel step is asked when a label is given")
    #expect(result.out.contains("FAIL protected, under its running label\n"))
  }

  /// Each error a test file can have, with the line it is reported at.
  @Test(arguments: [
    (DiagnosticID.testfile.unknownKey, "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", targte = \"web\" }\n", 3),
    (.testfile.missingKey, "[[case]]\nname = \"a\"\n", 1),
    (.testfile.wrongType, "[[case]]\nname = \"a\"\nmay = { caller = 0, op = \"domctl.pause\", target = \"web\" }\n", 3),
    (.testfile.duplicateName, "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", target = \"web\" }\n[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", target = \"db\" }\n", 5),
    (.testfile.unknownOp, "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pauze\", target = \"web\" }\n", 3),
    (.testfile.unknownDomain, "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", target = \"wbe\" }\n", 3),
    (.testfile.badArgument, "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", target = \"web\", args = [\"vcpu=0\"] }\n", 3),
    (.testfile.unknownFamily, "[[case]]\nname = \"a\"\nunreachable = { op = \"domctrl.*\" }\n", 3),
    (.testfile.unknownFamily, "coverage = { families = [\"domctrl\"], min-percent = 10 }\n[[case]]\nname = \"a\"\nreachable = { op = \"domctl.pause\" }\n", 1),
    (.testfile.badCoverage, "coverage = { families = [\"domctl\"], min-percent = 120 }\n[[case]]\nname = \"a\"\nreachable = { op = \"domctl.pause\" }\n", 1),
    (.testfile.missingKey, "[[case]]\nname = \"a\"\nonly = { op = \"domctl.pause\" }\n", 3),
    (.testfile.badHost, "system = \"missing.toml\"\n[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pause\", target = \"web\" }\n", 1),
  ])
  func aBadTestFileIsAnInputError(id: DiagnosticID, text: String, line: Int) async throws {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/bad.toml"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let result = await xsmc(["test", file])
    #expect(result.status == 2)
    #expect(result.err.contains("\(file):\(line):"), "\(result.err)")
    #expect(result.err.contains("error[\(id.rawValue)]"), "\(result.err)")
    #expect(result.out.isEmpty)
  }

  @Test func didYouMeanForOpsAndDomains() async throws {
    let directory = try TestEnvironment.temporaryDirectory("policy-test")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/typos.toml"
    try "[[case]]\nname = \"a\"\nmay = { caller = \"dom0\", op = \"domctl.pausedomian\", target = \"wbe\" }\n"
      .write(toFile: file, atomically: true, encoding: .utf8)
    let result = await xsmc(["test", file])
    #expect(result.status == 2)
    #expect(result.err.contains("did you mean `domctl.pausedomain`?"), "\(result.err)")
    #expect(result.err.contains("did you mean `web`?"), "\(result.err)")
  }

  @Test func aMissingFileIsUnreadable() async {
    let result = await xsmc(["test", "no-such-tests.toml"])
    #expect(result.status == 2)
    #expect(result.err.contains("error[\(DiagnosticID.testfile.io.rawValue)]"))
  }
}
