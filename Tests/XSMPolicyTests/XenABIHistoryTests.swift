import Foundation
import Testing
import XSMDiagnostics
import XSMPolicy

/// The repository root, found from this file's path.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// A policy.conf declaring `release`'s classes, permissions and initial SIDs
/// (from the history's facts), three types, and `rules`.
func xenPolicy(_ release: XenRelease, rules: String) -> String {
  var out = release.declarations
  out += "type xen_t;\ntype dom0_t;\ntype domU_t;\nrole system_r;\nrole system_r types { xen_t dom0_t domU_t };\n"
  out += rules
  out += "user system_u roles { system_r };\n"
  out += release.initialSIDs.map { "sid \($0) system_u:system_r:xen_t\n" }.joined()
  return out
}

func release(_ name: String) throws -> XenRelease { try #require(XenABIHistory.release(named: name)) }

/// Every rename and removal of the history, for the parameterized test.
let historyChanges: [XenABIChange] = XenABIHistory.releases.flatMap(\.changes).filter { $0.kind == .renamed || $0.kind == .removed }

@Suite("Xen ABI history: data, releases, rename and removal notes")
struct XenABIHistoryTests {
  @Test func dataFileParsesAndTheEmbeddedCopyAndPageAreCurrent() throws {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent(XenABIHistory.dataPath), encoding: .utf8)
    let (releases, problems) = XenABIHistory.parse(text)
    #expect(problems.isEmpty, "\(problems)")
    #expect(releases == XenABIHistory.releases, "the embedded history differs from \(XenABIHistory.dataPath); run `xsmc docs`")
    let embedded = try String(
      contentsOf: repositoryRoot.appendingPathComponent("Sources/XSMPolicy/Resolve/XenABIHistoryData.swift"), encoding: .utf8)
    #expect(embedded == XenABIHistory.swiftSource(text: text), "XenABIHistoryData.swift is stale; run `xsmc docs`")
    let page = try String(contentsOf: repositoryRoot.appendingPathComponent(XenABIHistory.pagePath), encoding: .utf8)
    #expect(page == XenABIHistory.markdown(releases), "\(XenABIHistory.pagePath) is stale; run `xsmc docs`")
  }

  @Test func malformedLinesAreReportedWithTheirLine() {
    let (_, problems) = XenABIHistory.parse("class xen a\nrelease 4.8 RELEASE-4.8.0 abc\nrenamed xen a\nfrobnicate\n")
    #expect(problems == [
      "line 1: `class` before the first `release`", "line 3: `renamed` takes CLASS OLD NEW COMMIT SUBJECT",
      "line 4: unknown line `frobnicate`",
    ])
  }

  @Test func releasesRunFrom48ToTheDevelopmentBranch() throws {
    let releases = XenABIHistory.releases
    #expect(releases.first?.version == "4.8")
    #expect(releases.count == 16)
    #expect(releases.dropLast().allSatisfy { !$0.isDevelopment && $0.tag == "RELEASE-\($0.version).0" })
    #expect(XenABIHistory.development.isDevelopment && XenABIHistory.development.tag == "master")
    #expect(XenABIHistory.newestRelease.version == "4.22")
    #expect(XenABI.classes == XenABIHistory.development.classes, "XenABI is the development branch")
    #expect(XenABI.classes.count == 13 && XenABI.initialSIDs.first == "xenboot")
    #expect(try release("4.16").initialSIDs.first == "xen", "xenboot came in 4.17")
    #expect(try release("4.11").permissions(of: "argo") == nil, "argo came in 4.12")
  }

  @Test func releaseNamesAcceptedByXen() throws {
    #expect(try release("4.17.0") == release("4.17"))
    #expect(try release("RELEASE-4.17.0") == release("4.17"))
    for name in ["dev", "unstable", "master", XenABIHistory.development.version, "4.23"] {
      #expect(XenABIHistory.release(named: name) == XenABIHistory.development, "\(name)")
    }
    #expect(XenABIHistory.release(named: "4.7") == nil)
    #expect(XenABIHistory.release(named: "4.17.1") == nil)
    #expect(XenABIHistory.knownNames.last == "dev")
    #expect(XenABIHistory.describe([try release("4.15"), try release("4.16"), try release("4.19")]) == "Xen 4.15 and 4.16 and 4.19")
    #expect(XenABIHistory.describe([try release("4.8"), try release("4.9"), try release("4.10")]) == "Xen 4.8 to 4.10")
  }

  @Test func theRenamesReadFromTheCommits() {
    let renames = historyChanges.filter { $0.kind == .renamed }.map { "\($0.className):\($0.permission)->\($0.newName ?? "")@\($0.release)" }
    #expect(renames == [
      "domain2:psr_cat_op->psr_alloc@4.11", "xen2:gcov_op->coverage_op@4.11", "xen2:psr_cat_op->psr_alloc@4.11",
      "domain2:set_cpuid->set_cpu_policy@4.13",
    ])
  }

  /// Each rename and removal: a policy with the classes of the release that
  /// made it, naming the old permission, gets the note citing the commit and,
  /// for a rename, the fix.
  @Test(arguments: historyChanges)
  func oldNameGetsTheRenameOrRemoval(_ change: XenABIChange) throws {
    let target = try release(change.release)
    let rule = "allow dom0_t xen_t:\(change.className) { "
    let text = xenPolicy(target, rules: rule + change.permission + " };\n")
    let result = PolicyFrontend.run(.text(name: "old.conf", text: text), options: CheckOptions(xenRelease: target))
    let found = try #require(result.diagnostics.items.first { $0.id == .resolve.unknownPermission }, "\(result.diagnostics.items)")
    let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix(rule) }.map { $0 + 1 }
    let span = try #require(found.span)
    #expect(span.line == line && span.column == rule.count + 1)
    let help = try #require(found.help)
    #expect(help.contains("Xen \(change.release) (commit \(change.commit) (\"\(change.subject)\"))"), "\(help)")
    #expect(!result.diagnostics.items.contains { $0.id == .check.emptyPermissionSet }, "no follow-on warning")
    if change.kind == .renamed {
      let newName = try #require(change.newName)
      #expect(help.hasPrefix("`\(change.permission)` was renamed `\(newName)`"))
      #expect(found.fixes == [FixIt(span: span, original: change.permission, replacement: newName)])
    } else {
      #expect(help.hasPrefix("`\(change.permission)` was removed from class `\(change.className)` in Xen \(change.release)"))
      if let instead = change.instead { #expect(help.hasSuffix(": " + instead)) }
      #expect(found.fixes.isEmpty)
    }
  }

  @Test func renameAlreadyInTheRuleSaysDropIt() throws {
    let dev = XenABIHistory.development
    let text = xenPolicy(dev, rules: "allow dom0_t xen_t:xen2 { psr_alloc psr_cat_op psr_cmt_op };\n")
    let result = PolicyFrontend.run(.text(name: "t.conf", text: text), options: CheckOptions())
    let found = try #require(result.diagnostics.items.first { $0.id == .resolve.unknownPermission })
    #expect(found.help?.hasSuffix("`psr_alloc` is already in this rule, so drop `psr_cat_op`") == true, "\(found.help ?? "")")
    #expect(found.fixes.isEmpty)
  }

  @Test func aNewerNameInAnOlderPolicyPointsBack() throws {
    let text = xenPolicy(try release("4.10"), rules: "allow dom0_t xen_t:xen2 psr_alloc;\n")
    let result = PolicyFrontend.run(.text(name: "t.conf", text: text), options: CheckOptions())
    let found = try #require(result.diagnostics.items.first { $0.id == .resolve.unknownPermission })
    #expect(found.help?.hasPrefix("Xen 4.11 renamed `psr_cat_op` `psr_alloc` (commit a58cad2d36") == true, "\(found.help ?? "")")
    #expect(found.fixes.map(\.replacement) == ["psr_cat_op"])
  }

  @Test func wrongClassNamesTheClassesThatHaveIt() throws {
    let text = xenPolicy(XenABIHistory.development, rules: "allow dom0_t domU_t:domain { map_read pause };\nallow dom0_t domU_t:domain2 getvcpuinfo;\n")
    let result = PolicyFrontend.run(.text(name: "t.conf", text: text), options: CheckOptions())
    let helps = result.diagnostics.items.filter { $0.id == .resolve.unknownPermission }.map(\.help)
    #expect(helps == [
      "`map_read` is a permission of classes `mmu` and `grant`, not `domain`",
      "`getvcpuinfo` is a permission of class `domain`, not `domain2`",
    ])
    #expect(!result.diagnostics.items.contains { $0.id == .check.emptyPermissionSet })
  }

  @Test func didYouMeanNeverNamesAPermissionAlreadyInTheRule() throws {
    let same = frontend(preamble + "allow dom0_t domU_t:domain { pause puase };\n")
    let found = try #require(same.diagnostics.items.first { $0.id == .resolve.unknownPermission })
    #expect(found.help == nil, "`pause` is already in the rule: \(found.help ?? "")")
    let other = frontend(preamble + "allow dom0_t domU_t:domain { unpause puase };\n")
    #expect(other.diagnostics.items.first { $0.id == .resolve.unknownPermission }?.help == "did you mean `pause`?")
  }

  @Test func unknownPermissionSuppressesTheEmptySetWarning() {
    let unknown = frontend(preamble + "allow dom0_t xen_t:xen { setime };\n")
    #expect(unknown.diagnostics.items.map(\.id).filter { $0 != .check.xenAbi } == [.resolve.unknownPermission])
    let empty = frontend(preamble + "allow dom0_t xen_t:xen ~*;\n")
    #expect(empty.diagnostics.items.contains { $0.id == .check.emptyPermissionSet }, "a truly empty set still warns")
  }

  @Test func xenABICheckNamesTheReleaseAndTheBit() throws {
    let old = xenPolicy(try release("4.10"), rules: "")
    let matching = PolicyFrontend.run(.text(name: "p.conf", text: old), options: CheckOptions())
    #expect(!matching.diagnostics.items.contains { $0.id == .check.xenAbi }, "the policy has 4.10's classes")
    let against = PolicyFrontend.run(.text(name: "p.conf", text: old), options: CheckOptions(xenRelease: try release("4.17")))
    let messages = against.diagnostics.items.filter { $0.id == .check.xenAbi }.map(\.message)
    #expect(messages.contains(
      "Xen 4.17 expects permission bit 2 of class `xen2` to be `psr_alloc`; this policy's `xen2` has `psr_cat_op` there "
        + "(`psr_cat_op` was renamed `psr_alloc` in Xen 4.11); Xen 4.17 will refuse to load this policy"), "\(messages)")
    #expect(messages.contains(
      "Xen 4.17 expects permission bit 28 of class `domain` to be `getpagingmempool`; this policy's `domain` ends after "
        + "bit 27 (`set_virq_handler`); Xen 4.17 will refuse to load this policy"))
    #expect(messages.contains { $0.hasPrefix("Xen 4.17 numbers initial SID 1 `xenboot`, but this policy's SID 1 is `xen`") })
    let hint = against.diagnostics.items.first { $0.id == .check.xenAbi && $0.message.contains("`xen2`") }?.help
    #expect(hint == "this policy's classes are closest to Xen 4.10's; `xsmc port --from 4.10 --to 4.17` renames its permissions and lists what changed")
  }

  @Test func aPolicyMatchingNoReleaseIsComparedWithTheNewest() throws {
    var classes = XenABIHistory.development
    classes.classes[1].permissions[0] = "resource_opx"
    let result = PolicyFrontend.run(.text(name: "p.conf", text: xenPolicy(classes, rules: "")), options: CheckOptions())
    let message = try #require(result.diagnostics.items.first { $0.id == .check.xenAbi }?.message)
    #expect(message.hasPrefix("\(XenABIHistory.newestRelease) expects permission bit 0 of class `xen2` to be `resource_op`"))
    #expect(message.hasSuffix("(its classes match no Xen release from 4.8 to \(XenABIHistory.development.version); pass `--xen VERSION` to compare with another)"))
  }
}

@Suite("Porting permission names between Xen releases")
struct XenABIPortTests {
  @Test func forwardRenamesWholeWordsOutsideComments() throws {
    let port = XenABIPort(from: try release("4.10"), to: try release("4.21"))
    let text = "allow a b:xen2 { psr_cat_op gcov_op }; # psr_cat_op stays\nallow a b:xen { tmem_op psr_cat_op_x };\n"
    let result = port.port(path: "p.te", text: text)
    #expect(result.ported == "allow a b:xen2 { psr_alloc coverage_op }; # psr_cat_op stays\nallow a b:xen { tmem_op psr_cat_op_x };\n")
    #expect(result.edits.map { "\($0.line):\($0.column) \($0.old)->\($0.new) \($0.commit)" } == [
      "1:18 psr_cat_op->psr_alloc a58cad2d36", "1:29 gcov_op->coverage_op 76dcdb75b7",
    ])
    let warnings = result.diagnostics(target: try release("4.21"))
    #expect(warnings.map(\.id) == [.port.removedPermission])
    #expect(warnings.first?.span == SourceSpan(file: "p.te", line: 2, column: 17, endColumn: 24))
    #expect(warnings.first?.message == "`tmem_op` cannot be ported to Xen 4.21: removed from class `xen` in Xen 4.13 (commit c492e19fdd (\"xen: remove tmem from hypervisor\"))")
    #expect(result.unifiedDiff == """
      --- a/p.te
      +++ b/p.te
      @@ -1,2 +1,2 @@
      -allow a b:xen2 { psr_cat_op gcov_op }; # psr_cat_op stays
      +allow a b:xen2 { psr_alloc coverage_op }; # psr_cat_op stays
       allow a b:xen { tmem_op psr_cat_op_x };

      """)
  }

  @Test func backwardUndoesRenamesAndReportsLaterAdditions() throws {
    let port = XenABIPort(from: try release("4.22"), to: try release("4.10"))
    let result = port.port(path: "p.te", text: "allow a b:domain2 { set_cpu_policy psr_alloc };\nallow a b:xen hypfs_op;")
    #expect(result.ported == "allow a b:domain2 { set_cpuid psr_cat_op };\nallow a b:xen hypfs_op;")
    #expect(result.unifiedDiff.hasSuffix(" allow a b:xen hypfs_op;\n\\ No newline at end of file\n"), "\(result.unifiedDiff)")
    let warning = try #require(result.diagnostics(target: try release("4.10")).first)
    #expect(warning.id == .port.removedPermission)
    #expect(warning.message.contains("Xen 4.10 has no `hypfs_op`: it was added to class `xen` in Xen 4.14"))
    #expect(port.additions.contains { $0.permission == "tmem_op" }, "what 4.13 removed, 4.10 must declare")
  }

  @Test func aRenameAnotherClassStillUsesIsLeftAlone() throws {
    let history = XenABIHistory.parse("""
      release 1.0 t1 aaaaaaaaaa
      class a x
      class b x
      release 2.0 t2 bbbbbbbbbb
      class a y
      class b x
      renamed a x y cccccccccc rename x in a
      """).releases
    let port = XenABIPort(from: history[0], to: history[1], history: history)
    let result = port.port(path: "p.te", text: "allow s t:a x;")
    #expect(!result.changed)
    #expect(result.diagnostics(target: history[1]).map(\.id) == [.port.ambiguousRename])
  }
}
