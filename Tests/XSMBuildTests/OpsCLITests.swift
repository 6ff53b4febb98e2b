import Foundation
import Testing
import XSMCommandLine
import XSMSepol
import XSMTestSupport

/// `xsmc ops`, `xsmc docs` and op rules through the command line.
@Suite("xsmc ops and docs")
struct OpsCLITests {
  @Test func describesAnOpByAlias() async throws {
    let result = await xsmc(["ops", "domctl.pause"])
    #expect(result.status == 0, "\(result.err)")
    #expect(result.out.hasPrefix("domctl.pausedomain (alias domctl.pause) — legacy op"))
    #expect(result.out.contains("flask       domain:pause current -> target"))
    #expect(result.out.contains("split into  domrun.pause"))
  }

  @Test func jsonArrayHasTheRequiredFields() async throws {
    let result = await xsmc(["ops", "--family", "grant", "--json"])
    #expect(result.status == 0, "\(result.err)")
    let array = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [[String: Any]])
    #expect(array.count == 13)
    for op in array {
      for key in ["name", "aliases", "hook", "dummy_action", "class", "checks"] {
        #expect(op[key] != nil, "\(op["name"] ?? "?") lacks \(key)")
      }
    }
    let map = try #require(array.first { $0["name"] as? String == "grant.map_grant_ref" })
    let checks = try #require(map["checks"] as? [[String: Any]])
    #expect(checks.contains { $0["class"] as? String == "grant" && $0["permission"] as? String == "map_read" })
  }

  @Test func filtersCombine() async throws {
    let result = await xsmc(["ops", "--class", "mixed", "--hook", "xsm_evtchn_unbound", "--json"])
    let names = (try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [[String: Any]])?.compactMap { $0["name"] as? String }
    #expect(names == ["evtchn.alloc_unbound"])
  }

  @Test func unknownOpIsAUsageError() async throws {
    let result = await xsmc(["ops", "domctl.pasue"])
    #expect(result.status == 2)
    #expect(result.err.contains("unknown op `domctl.pasue`; did you mean `domctl.pause`?"))
    let badClass = await xsmc(["ops", "--class", "root"])
    #expect(badClass.status == 2)
  }

  @Test func splitReportNamesTheDefects() async throws {
    let result = await xsmc(["ops", "--split-report"])
    #expect(result.status == 0, "\(result.err)")
    #expect(result.out.contains("domctl.setvnumainfo  domain:getvcpuinfo current -> target intended domain2:set_vnumainfo"))
    #expect(result.out.contains("evtchn.status  event:status owner -> channel"))
    #expect(result.out.contains("domctl.set_broken_page_p2m"))
  }

  @Test func dummyVsFlaskOnTheProjectPolicy() async throws {
    let result = await xsmc(["ops", "--dummy-vs-flask", "--policy", projectPolicyDir, "--json"])
    #expect(result.status == 0, "\(result.err)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
    let findings = try #require(object["findings"] as? [[String: Any]])
    #expect(findings.contains { $0["op"] as? String == "grant.transfer" && $0["dummy_allows"] as? Bool == true })
    let unknownHost = await xsmc(["ops", "--dummy-vs-flask", "--host", "dom0_t,xenstore_t,dm_dom_t,guest_t"])
    #expect(unknownHost.status == 2)
    #expect(unknownHost.err.contains("no type `guest_t`"))
  }

  @Test func generatedFilesAreUpToDate() async throws {
    let result = await xsmc(["docs", "--check"])
    #expect(result.status == 0, "run `swift run xsmc docs`: \(result.out)\(result.err)")
  }

  @Test func emitConfExpandsOpRules() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // The project policy plus one op rule in a module.
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: dir + "/policy")
    let module = dir + "/policy/modules/domU.te"
    let text = try String(contentsOfFile: module, encoding: .utf8)
    try (text + "\nallow dom0_t domU_t : op { domctl.pause sysctl.readconsole };\n")
      .write(toFile: module, atomically: true, encoding: .utf8)
    let conf = await xsmc(["build", dir + "/policy", "--emit", "conf"])
    #expect(conf.status == 0, "\(conf.err)")
    #expect(conf.out.contains("# op rule: allow dom0_t domU_t : op { domctl.pause sysctl.readconsole };\nallow dom0_t domU_t:domain pause;\nallow dom0_t xen_t:xen { readconsole clearconsole };"))
    let build = await xsmc(["build", dir + "/policy", "-o", dir + "/out"])
    #expect(build.status == 0, "\(build.err)")
  }
}

/// `--catalog`, declared once for the three programs: the directory given,
/// else `ops/` inside the policy tree, else the built-in catalog (never the
/// working directory's `policy/ops`).
@Suite("--catalog")
struct CatalogOptionTests {
  @Test func theGivenDirectoryThenTheTreesOwnThenTheBuiltIn() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/tree/ops", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir + "/bare", withIntermediateDirectories: true)
    let given = try CatalogOptions.parse(["--catalog", dir + "/mine"])
    #expect(given.directory(near: dir + "/tree") == dir + "/mine")
    let none = try CatalogOptions.parse([])
    #expect(none.directory(near: dir + "/tree") == dir + "/tree/ops")
    #expect(none.directory(near: dir + "/bare") == nil)
    TestEnvironment.enterPackageRoot()
    #expect(FileManager.default.fileExists(atPath: "policy/ops"))
    #expect(none.directory() == nil, "the working directory's policy/ops is not read")
    let (catalog, diagnostics) = none.load()
    #expect(diagnostics.isEmpty && catalog?.op(named: "domctl.pause") != nil, "the built-in catalog")
  }

  /// A binary named by --policy is read in the child process first (PolicyReadGuard):
  /// a class count corrupted past its entries is refused with the field and offset.
  @Test func opsPolicyBinaryIsGuarded() async throws {
    let dir = try TestEnvironment.temporaryDirectory("xsmc-ops-guard")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var binary = try await TestPolicies.projectBinary()
    binary[try BinaryPolicyLayout.check(binary).symbolTableOffsets[1] + 1] ^= 0x01  // the classes table's value count
    try Data(binary).write(to: URL(fileURLWithPath: dir + "/bad.bin"))
    let result = await xsmc(["ops", "--policy", dir + "/bad.bin"])
    #expect(result.status == 2)
    #expect(result.err.contains("sepol.policy-read-failed"), "\(result.err)")
    #expect(result.err.contains("the classes table's value count"), "\(result.err)")
  }
}
