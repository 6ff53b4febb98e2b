import Foundation
import Testing
import XSMBuild

/// The built `xsmc` next to the test bundle.
let xsmcPath: String = {
  let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
    let path = candidate.appendingPathComponent("xsmc").path
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return packageRoot + "/.build/debug/xsmc"
}()

@Suite("xsmc command line", .serialized)
struct CLITests {
  @Test func buildsTheProjectPolicy() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try run(xsmcPath, ["build", projectPolicyDir, "-o", dir + "/xenpolicy-30"])
    #expect(result.status == 0, "\(result.err)")
    #expect(result.out.contains("XenFlask v30"))
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/xenpolicy-30"))
    #expect(Array(data.prefix(4)) == [0x8c, 0xff, 0x7c, 0xf9], "Xen's policy magic, little-endian")
    let json = try run(xsmcPath, ["build", projectPolicyDir, "-o", dir + "/p24", "--policy-version", "24", "--json"])
    #expect(json.status == 1 || json.status == 0)
  }

  @Test func jsonSummary() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = try run(xsmcPath, ["build", projectPolicyDir, "-o", dir + "/out", "--json"])
    #expect(result.status == 0, "\(result.err)")
    let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
    let summary = object?["summary"] as? [String: Any]
    #expect(summary?["classes"] as? Int == 13)
    #expect(summary?["permissions"] as? Int == 177)
  }

  @Test func policyErrorsExitOneAndWriteNothing() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let conf = dir + "/bad.conf"
    try "class xen\nsid xen\nclass xen { settime }\ntype a_t;\nallow a_t b_t:xen settime;\nallow a_t a_t:xen setime;\n"
      .write(toFile: conf, atomically: true, encoding: .utf8)
    let out = dir + "/out.bin"
    let result = try run(xsmcPath, ["build", conf, "-o", out])
    #expect(result.status == 1)
    #expect(!FileManager.default.fileExists(atPath: out), "no partial output")
    #expect(result.err.contains("bad.conf:5:11: error[resolve.unknown-type]: unknown type or attribute `b_t`"))
    #expect(result.err.contains("bad.conf:6:19: error[resolve.unknown-permission]"))
    #expect(result.err.contains("did you mean `settime`?"))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".tmp") }
    #expect(leftovers.isEmpty)
    let json = try run(xsmcPath, ["check", conf, "--diagnostics-format", "json"])
    #expect(json.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(json.err.utf8)) as? [String: Any]
    #expect((object?["errors"] as? Int ?? 0) >= 2)
  }

  @Test func ioAndUsageErrorsExitTwo() throws {
    let missing = try run(xsmcPath, ["build", "/nonexistent/policy.conf"])
    #expect(missing.status == 2)
    #expect(missing.err.contains("does not exist"))
    let usage = try run(xsmcPath, ["build", projectPolicyDir, "--policy-version", "27"])
    #expect(usage.status == 2)
    #expect(usage.err.contains("24 or 30"))
    let unknownFlag = try run(xsmcPath, ["build", "--frobnicate"])
    #expect(unknownFlag.status == 2)
  }

  @Test func emitsConfAndCIL() throws {
    let conf = try run(xsmcPath, ["build", projectPolicyDir, "--emit", "conf"])
    #expect(conf.status == 0, "\(conf.err)")
    #expect(conf.out.contains("#line 1 \"\(projectPolicyDir)/flask/security_classes\""))
    let cil = try run(xsmcPath, ["build", projectPolicyDir, "--emit", "cil"])
    #expect(cil.status == 0)
    #expect(cil.out.contains("(classorder (xen xen2 domain domain2 hvm mmu resource shadow event grant security version argo))"))
    if hasTool("secilc") {
      let dir = try temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try cil.out.write(toFile: dir + "/p.cil", atomically: true, encoding: .utf8)
      let secilc = try run("secilc", ["--target=xen", "-c", "30", "-o", dir + "/p.bin", "-f", "/dev/null", dir + "/p.cil"])
      #expect(secilc.status == 0, "secilc accepts the emitted CIL: \(secilc.err)")
    }
  }

  @Test func treeDiagnosticsNameTheOriginalFile() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let copy = dir + "/policy"
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: copy)
    let modules = try FileManager.default.contentsOfDirectory(atPath: copy + "/modules").filter { $0.hasSuffix(".te") }.sorted()
    let module = try #require(modules.first)
    let path = copy + "/modules/" + module
    var text = try String(contentsOfFile: path, encoding: .utf8)
    let lineNumber = text.count { $0 == "\n" } + 1
    text += "allow nosuch_t xen_t:xen settime;\n"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let result = try run(xsmcPath, ["check", copy])
    #expect(result.status == 1)
    #expect(result.err.contains("\(path):\(lineNumber):7: error[resolve.unknown-type]"), "\(result.err)")
  }

  /// Every example policy builds, and decides like checkpolicy (new examples are picked up automatically).
  @Test func examplesBuild() async throws {
    let root = packageRoot + "/examples"
    let enumerator = FileManager.default.enumerator(atPath: root)
    var count = 0
    while let file = enumerator?.nextObject() as? String {
      guard file.hasSuffix(".conf") else { continue }
      count += 1
      let result = try run(xsmcPath, ["check", root + "/" + file])
      #expect(result.status == 0, "\(file): \(result.err)")
      if hasTool("checkpolicy") {
        try await assertDecisionEqual(.file(root + "/" + file))
      }
    }
    #expect(count > 0)
  }
}
