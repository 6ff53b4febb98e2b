import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// A policy.conf with `release`'s declarations, three types and `rules`.
private func policy(_ release: String, rules: String) throws -> String {
  let xen = try #require(XenABIHistory.release(named: release))
  return xen.declarations
    + "type xen_t;\ntype dom0_t;\ntype domU_t;\nrole system_r;\nrole system_r types { xen_t dom0_t domU_t };\nallow dom0_t xen_t:xen settime;\n"
    + rules + "user system_u roles { system_r };\n" + xen.initialSIDs.map { "sid \($0) system_u:system_r:xen_t\n" }.joined()
}

/// Writes `files` (relative path → text) under a new temporary directory and returns it.
private func tree(_ files: [String: String]) throws -> String {
  let dir = try temporaryDirectory()
  for (path, text) in files {
    let full = dir + "/" + path
    try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: full, atomically: true, encoding: .utf8)
  }
  return dir
}

/// Rules a Xen 4.10 policy wrote, with names Xen renamed by 4.21.
private let oldRules = """
  # dom0 manages cache allocation (psr_cat_op in Xen 4.10)
  allow dom0_t xen_t:xen2 { psr_cat_op psr_cmt_op gcov_op };
  allow dom0_t domU_t:domain2 { set_cpuid psr_cat_op };

  """

@Suite("xsmc --xen, -Werror and port")
struct XenABICLITests {
  /// A policy written for a release before `xenboot` has no context for it
  /// once built with newer classes; the error says which Xen added the SID.
  @Test func sidWithoutContextNamesTheReleaseThatAddedIt() async throws {
    let text = try policy("4.17", rules: "").replacingOccurrences(of: "sid xenboot system_u:system_r:xen_t\n", with: "")
    let outcome = await PolicyBuilder.build(.text(name: "old.conf", text: text), options: BuildOptions(), compile: false)
    let diagnostic = try #require(outcome.diagnostics.items.first { $0.id == .check.sidWithoutContext })
    #expect(diagnostic.message == "initial SID `xenboot` has no context")
    #expect(diagnostic.help?.contains("Xen added `xenboot` in 4.17 (commit a0bb0960e5") == true, "\(diagnostic.help ?? "")")
  }

  @Test func xenSelectsTheReleaseChecked() async throws {
    let dir = try tree(["p.conf": try policy("4.10", rules: "")])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let plain = await xsmc(["check", dir + "/p.conf"])
    #expect(plain.status == 0 && plain.out == "\(dir)/p.conf: ok; classes of Xen 4.10\n", "\(plain)")
    #expect(!plain.err.contains("check.xen-abi"))
    for name in ["4.17", "4.17.0"] {
      let against = await xsmc(["check", dir + "/p.conf", "--xen", name, "--diagnostics-format", "plain"])
      #expect(against.status == 0)
      #expect(against.err.contains(
        "warning[check.xen-abi]: Xen 4.17 expects permission bit 2 of class `xen2` to be `psr_alloc`; this policy's `xen2` has `psr_cat_op` there"))
    }
    let dev = await xsmc(["check", dir + "/p.conf", "--xen", "dev", "--diagnostics-format", "plain"])
    #expect(dev.err.contains("\(XenABIHistory.development) expects"))
    let unknown = await xsmc(["check", dir + "/p.conf", "--xen", "4.7"])
    #expect(unknown.status == 2)
    #expect(unknown.err.contains("unknown Xen release `4.7` for --xen; known: 4.8, 4.9,"))
    let json = await xsmc(["check", dir + "/p.conf", "--json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
    #expect(object?["xen_releases"] as? [String] == ["4.10"])
  }

  @Test func werrorMakesAWarningAnError() async throws {
    let dir = try tree(["p.conf": try policy("4.10", rules: "")])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for flags in [["-Werror=check.xen-abi"], ["--warnings-as-errors", "check.empty-permission-set,check.xen-abi"], ["-Werror=all"]] {
      let result = await xsmc(["build", dir + "/p.conf", "-o", dir + "/out", "--xen", "4.17", "--diagnostics-format", "plain"] + flags)
      #expect(result.status == 1, "\(flags)")
      #expect(result.err.contains("error[check.xen-abi]: Xen 4.17 expects"))
      #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    }
    let ok = await xsmc(["build", dir + "/p.conf", "-o", dir + "/out", "-Werror=check.xen-abi"])
    #expect(ok.status == 0, "the policy matches Xen 4.10: \(ok.err)")
    #expect(ok.out.contains("classes of Xen 4.10"))
    let typo = await xsmc(["check", dir + "/p.conf", "-Werror=check.xen-ab"])
    #expect(typo.status == 2 && typo.err.contains("did you mean `check.xen-abi`?"))
  }

  @Test func renameNotesCarryAFixInJSON() async throws {
    let dir = try tree(["p.conf": try policy("4.21", rules: oldRules)])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let result = await xsmc(["check", dir + "/p.conf", "--diagnostics-format", "json"])
    #expect(result.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(result.err.utf8)) as? [String: Any]
    let diagnostics = object?["diagnostics"] as? [[String: Any]] ?? []
    let first = try #require(diagnostics.first { $0["id"] as? String == "resolve.unknown-permission" })
    let fix = try #require((first["fixes"] as? [[String: Any]])?.first)
    #expect(fix["original"] as? String == "psr_cat_op" && fix["replacement"] as? String == "psr_alloc")
    #expect((fix["span"] as? [String: Any])?["column"] as? Int == 27)
    let human = await xsmc(["check", dir + "/p.conf"])
    #expect(human.err.contains("  = fix: \(dir)/p.conf:"))
    #expect(!human.err.contains("check.empty-permission-set"))
  }

  /// The downstream case: Xen 4.21's declarations with modules still naming
  /// 4.10's permissions. The port's diff is the golden file; the ported
  /// policy builds with xsmc and with checkpolicy and matches Xen 4.21.
  @Test func portRewritesATreeThatThenBuilds() async throws {
    let dir = try tree([
      "policy.conf": try policy("4.21", rules: oldRules),
      "modules/old.te": "# tmem_op: gone\nallow dom0_t xen_t:xen { tmem_op settime };\n",
      ".hidden/skip.te": "allow dom0_t xen_t:xen2 psr_cat_op;\n",
    ])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let diff = await xsmc(["port", "--from", "4.10", "--to", "4.21", dir])
    #expect(diff.status == 0, "\(diff.err)")
    if let difference = Snapshot.difference(diff.out.replacingOccurrences(of: dir, with: "DIR"), named: "port/4.10-to-4.21.diff") {
      Issue.record("\(difference)")
    }
    #expect(diff.err.contains("\(dir)/modules/old.te:2:26: warning[port.removed-permission]: `tmem_op` cannot be ported to Xen 4.21: removed from class `xen` in Xen 4.13 (commit c492e19fdd"))
    #expect(diff.err.contains("xsmc port: Xen 4.10 -> Xen 4.21: 4 renames in 1 file (diff above; --in-place writes it); 1 permission not ported"))
    let untouched = try String(contentsOfFile: dir + "/policy.conf", encoding: .utf8)
    #expect(untouched.contains("psr_cat_op psr_cmt_op"), "a diff writes nothing")

    let written = await xsmc(["port", "--from", "4.10", "--to", "4.21", dir, "--in-place", "--json"])
    #expect(written.status == 0)
    let report = try JSONSerialization.jsonObject(with: Data(written.out.utf8)) as? [String: Any]
    #expect((report?["files"] as? [[String: Any]])?.count == 2, "hidden files are skipped")
    #expect((report?["diagnostics"] as? [[String: Any]])?.first?["id"] as? String == "port.removed-permission")
    let ported = try String(contentsOfFile: dir + "/policy.conf", encoding: .utf8)
    #expect(ported.contains("allow dom0_t xen_t:xen2 { psr_alloc psr_cmt_op coverage_op };"))
    #expect(ported.contains("# dom0 manages cache allocation (psr_cat_op in Xen 4.10)"), "comments are left alone")
    #expect(try String(contentsOfFile: dir + "/modules/old.te", encoding: .utf8).contains("tmem_op"), "removals are reported, not deleted")

    let check = await xsmc(["check", dir + "/policy.conf", "--xen", "4.21", "-Werror=check.xen-abi"])
    #expect(check.status == 0, "\(check.err)")
    if Checkpolicy.shouldRun {
      let binary = try Checkpolicy.compile(ported)
      #expect(!binary.isEmpty)
    }
  }

  @Test func portUsageAndInputErrorsExitTwo() async throws {
    let unknown = await xsmc(["port", "--from", "4.1", "--to", "4.21", "."])
    #expect(unknown.status == 2 && unknown.err.contains("unknown Xen release `4.1` for --from"))
    let missing = await xsmc(["port", "--from", "4.10", "--to", "4.21", "/nonexistent/policy"])
    #expect(missing.status == 2 && missing.err.contains("does not exist"))
  }
}
