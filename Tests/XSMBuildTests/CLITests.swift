import Foundation
import Testing
import XSMBuild
import XSMPolicy
import XSMCommandLine
import XSMCompilerCLI
import XSMTestSupport

/// Runs an xsmc command line in this process, from the package root (where
/// `policy/ops` and the generated files are): status, stdout and stderr.
func xsmc(_ arguments: [String]) async -> (status: Int32, out: String, err: String) {
  TestEnvironment.enterPackageRoot()
  let result = await XSMC.run(capturing: arguments)
  return (result.status, result.output, result.error)
}

@Suite("xsmc command line")
struct CLITests {
  @Test func buildsTheProjectPolicy() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = await xsmc(["build", projectPolicyDir, "-o", dir + "/xenpolicy-30"])
    #expect(result.status == 0, "\(result.err)")
    #expect(result.out.contains("XenFlask v30"))
    let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/xenpolicy-30"))
    #expect(Array(data.prefix(4)) == [0x8c, 0xff, 0x7c, 0xf9], "Xen's policy magic, little-endian")
    let json = await xsmc(["build", projectPolicyDir, "-o", dir + "/p24", "--policy-version", "24", "--json"])
    #expect(json.status == 0, "\(json.err)")
  }

  /// The op catalog is read only for a policy with op rules: a broken
  /// `--catalog` does not stop (or slow) a build that never uses it, and is
  /// reported, with op.no-catalog, when the policy does.
  @Test func theCatalogIsReadOnlyForOpRules() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/ops", withIntermediateDirectories: true)
    try "op broken\n".write(toFile: dir + "/ops/broken.ops", atomically: true, encoding: .utf8)
    let example = "examples/single-file/policy.conf"
    let plain = await xsmc(["build", example, "-o", dir + "/plain", "--catalog", dir + "/ops"])
    #expect(plain.status == 0 && plain.err.isEmpty, "\(plain.err)")
    let text = try String(contentsOfFile: packageRoot + "/" + example, encoding: .utf8)
    let rule = "allow dom0_t domU_t : op { domctl.pause };\n"
    try (text + rule).write(toFile: dir + "/ops.conf", atomically: true, encoding: .utf8)
    let withOps = await xsmc(["build", dir + "/ops.conf", "-o", dir + "/ops.bin", "--catalog", dir + "/ops"])
    #expect(withOps.status == 1)
    #expect(withOps.err.contains("error[catalog.") && withOps.err.contains("error[op.no-catalog]"), "\(withOps.err)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/ops.bin"))
    let builtIn = await xsmc(["build", dir + "/ops.conf", "-o", dir + "/ops.bin"])
    #expect(builtIn.status == 0, "\(builtIn.err)")
  }

  @Test func jsonSummary() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = await xsmc(["build", projectPolicyDir, "-o", dir + "/out", "--json"])
    #expect(result.status == 0, "\(result.err)")
    let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
    let summary = object?["summary"] as? [String: Any]
    #expect(summary?["classes"] as? Int == 13)
    #expect(summary?["permissions"] as? Int == 177)
  }

  @Test func policyErrorsExitOneAndWriteNothing() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let conf = dir + "/bad.conf"
    try "class xen\nsid xen\nclass xen { settime }\ntype a_t;\nallow a_t b_t:xen settime;\nallow a_t a_t:xen setime;\n"
      .write(toFile: conf, atomically: true, encoding: .utf8)
    let out = dir + "/out.bin"
    let result = await xsmc(["build", conf, "-o", out])
    #expect(result.status == 1)
    #expect(!FileManager.default.fileExists(atPath: out), "no partial output")
    #expect(result.err.contains("bad.conf:5:11: error[resolve.unknown-type]: unknown type or attribute `b_t`"))
    #expect(result.err.contains("bad.conf:6:19: error[resolve.unknown-permission]"))
    #expect(result.err.contains("did you mean `settime`?"))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".tmp") }
    #expect(leftovers.isEmpty)
    let json = await xsmc(["check", conf, "--diagnostics-format", "json"])
    #expect(json.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(json.err.utf8)) as? [String: Any]
    #expect((object?["errors"] as? Int ?? 0) >= 2)
  }

  @Test func ioAndUsageErrorsExitTwo() async throws {
    let missing = await xsmc(["build", "/nonexistent/policy.conf"])
    #expect(missing.status == 2)
    #expect(missing.err.contains("does not exist"))
    let usage = await xsmc(["build", projectPolicyDir, "--policy-version", "27"])
    #expect(usage.status == 2)
    #expect(usage.err.contains("24 or 30"))
    let unknownFlag = await xsmc(["build", "--frobnicate"])
    #expect(unknownFlag.status == 2)
  }

  @Test func emitsConfAndCIL() async throws {
    let conf = await xsmc(["build", projectPolicyDir, "--emit", "conf"])
    #expect(conf.status == 0, "\(conf.err)")
    #expect(conf.out.contains("#line 1 \"\(projectPolicyDir)/flask/security_classes\""))
    let cil = await xsmc(["build", projectPolicyDir, "--emit", "cil"])
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

  @Test func treeDiagnosticsNameTheOriginalFile() async throws {
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
    let result = await xsmc(["check", copy])
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
      let result = await xsmc(["check", root + "/" + file])
      #expect(result.status == 0, "\(file): \(result.err)")
      if hasTool("checkpolicy") {
        try await assertDecisionEqual(.file(root + "/" + file))
      }
    }
    #expect(count > 0)
  }
}

/// `xsmc build --dump PASS`: what each pass produced, against golden files.
@Suite("xsmc build --dump")
struct DumpTests {
  static let example = packageRoot + "/examples/single-file/policy.conf"

  @Test(arguments: DumpPoint.allCases)
  func dumpMatchesItsSnapshot(point: DumpPoint) async throws {
    let result = await xsmc(["build", "examples/single-file/policy.conf", "--dump", point.rawValue])
    #expect(result.status == 0, "\(result.err)")
    #expect(Snapshot.difference(result.out, named: "dump/single-file.\(point.rawValue)") == nil)
  }

  @Test func parseDumpReadsBackAsTheSamePolicy() async throws {
    let dump = await xsmc(["build", Self.example, "--dump", "parse"])
    let again = PolicyFrontend.run(.text(name: "dump.conf", text: dump.out), options: CheckOptions())
    let original = PolicyFrontend.run(.file(Self.example), options: CheckOptions())
    #expect(!again.diagnostics.hasErrors, "\(again.diagnostics.items.map(\.message))")
    #expect(again.syntax == original.syntax, "the printed statements parse to the same tree")
  }

  @Test func lowerDumpIsTheCILThatEmitWrites() async throws {
    let dump = await xsmc(["build", projectPolicyDir, "--dump", "lower"])
    let emit = await xsmc(["build", projectPolicyDir, "--emit", "cil"])
    #expect(dump.status == 0 && dump.out == emit.out)
  }

  @Test func aPassThatDidNotRunIsAnError() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "class xen\nsid xen\nclass xen { settime }\ntype a_t;\nallow a_t b_t:xen settime;\n"
      .write(toFile: dir + "/bad.conf", atomically: true, encoding: .utf8)
    let lower = await xsmc(["build", dir + "/bad.conf", "--dump", "lower"])
    #expect(lower.status == 1)
    #expect(lower.err.contains("error[resolve.unknown-type]"))
    #expect(lower.err.contains("the lower pass did not run"))
    let parse = await xsmc(["build", dir + "/bad.conf", "--dump", "parse"])
    #expect(parse.status == 1, "the statements are shown, and the errors still fail the command")
    #expect(parse.out.contains("allow a_t b_t:xen settime;"))
    let missing = await xsmc(["build", dir + "/none.conf", "--dump", "tokens"])
    #expect(missing.status == 2)
    let both = await xsmc(["build", dir + "/bad.conf", "--dump", "parse", "--emit", "cil"])
    #expect(both.status == 2 && both.err.contains("not both"))
  }
}

/// `xsmc build --json`: the summary's field names, against a golden file.
@Suite("xsmc build --json")
struct BuildJSONTests {
  @Test func theBuildSummaryMatchesItsSnapshot() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = await xsmc(["build", "examples/single-file/policy.conf", "-o", dir + "/policy.bin", "--json"])
    #expect(result.status == 0, "\(result.err)")
    // Timings and the output path differ between runs; every other field is fixed.
    var report = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
    #expect(report["timings"] != nil && report["output"] as? String == dir + "/policy.bin")
    report["timings"] = nil
    report["output"] = nil
    let stable = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    #expect(Snapshot.difference(String(decoding: stable, as: UTF8.self) + "\n", named: "build/single-file.json") == nil)
  }

  /// Snake-casing an acronym splits it (`initialSIDs` → `initial_si_ds`): no
  /// golden JSON file or the OpenAPI document may hold a key cut that way.
  @Test func noJSONKeySplitsAnAcronym() throws {
    let key = try Regex(#""([a-z0-9]+(?:_[a-z0-9]+)+)"\s*:"#)
    var files = [packageRoot + "/docs/openapi.json"]
    let enumerator = FileManager.default.enumerator(atPath: Snapshot.directory)
    while let name = enumerator?.nextObject() as? String {
      if name.hasSuffix(".json") { files.append(Snapshot.directory + "/" + name) }
    }
    #expect(files.count > 3)
    for file in files {
      let text = try String(contentsOfFile: file, encoding: .utf8)
      for match in text.matches(of: key) {
        let name = String(text[match.range]).split(separator: "\"")[0]
        let pieces = name.split(separator: "_").dropFirst()
        // One-letter pieces and a trailing "ds"/"ss" are what an acronym leaves behind.
        let cut = pieces.contains { $0.count == 1 && !$0.allSatisfy(\.isNumber) } || ["ds", "ps", "ss"].contains(pieces.last ?? "")
        #expect(!cut, "\(file): `\(name)` splits an acronym; give the property a CodingKey")
      }
    }
  }
}

/// `--version` on each of the three programs: release, git revision, libsepol, Xen releases.
@Suite("--version")
struct VersionTests {
  @Test(arguments: ["xsmc", "xsmq", "xsmd"])
  func everyProgramSaysWhatItIsBuiltFrom(program: String) throws {
    let executable = try #require(TestEnvironment.executable(program), "\(program) is built by swift build --build-tests")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["--version"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = Pipe()
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let lines = text.split(separator: "\n").map(String.init)
    try #require(lines.count == 4, "\(text)")
    // The checkout is a git repository, so the revision is there.
    #expect(lines[0].wholeMatch(of: try Regex("\(program) [0-9]+\\.[0-9]+\\.[0-9]+ \\(git [0-9a-f]{12}(\\+changes)?\\)")) != nil, "\(lines[0])")
    if let sepol = TestEnvironment.toolPath("pkg-config").flatMap({ _ in Self.pkgConfigVersion() }) {
      #expect(lines[1] == "libsepol \(sepol)")
    }
    #expect(lines[2] == "binary policy versions xsmc writes: 30 (default) and 24")
    #expect(lines[3].hasPrefix("Xen releases known: 4.8 to ") && lines[3].contains("and dev ("), "\(lines[3])")
  }

  static func pkgConfigVersion() -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["pkg-config", "--modversion", "libsepol"]
    let output = Pipe()
    process.standardOutput = output
    guard (try? process.run()) != nil else { return nil }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return process.terminationStatus == 0 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : nil
  }
}
