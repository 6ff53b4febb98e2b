import Testing
import XSMCatalog
import XSMDiagnostics

/// A minimal well-formed catalog that the negative cases edit.
let tinyCatalog = """
  op domctl.pausedomain
    alias     domctl.pause
    hypercall __HYPERVISOR_domctl 36
    subop     XEN_DOMCTL_pausedomain 3
    hook      xsm_domctl
    dummy     XSM_PRIV
    target    domain
    check     domain:pause current -> target
    refuses-self
    class     privileged
    summary   Pause a domain.

  op domctl.unpausedomain
    hypercall __HYPERVISOR_domctl 36
    subop     XEN_DOMCTL_unpausedomain 4
    hook      xsm_domctl
    dummy     XSM_PRIV
    target    domain
    check     domain:unpause current -> target
    class     privileged
    summary   Unpause a domain.

  split domrun.pause
    number    1
    group     runtime
    replaces  domctl.pausedomain
    inherit   domctl.pausedomain
    summary   Pause a domain.

  unsplit domctl.unpausedomain
    summary   Stays as it is.

"""

@Suite("Catalog loader and validation")
struct LoaderTests {
  @Test func tinyCatalogLoads() throws {
    let (catalog, diagnostics, _) = loadMarked(tinyCatalog)
    #expect(!diagnostics.hasErrors, "\(diagnostics.items.map(\.message))")
    let c = try #require(catalog)
    let split = try #require(c.op(named: "domrun.pause"))
    #expect(split.checks.map(\.text) == ["domain:pause current -> target"])
    #expect(split.refusesSelf && split.privilege == .privileged && split.hooks == ["xsm_domctl"])
    #expect(c.splitOps(replacing: "domctl.pausedomain").map(\.name) == ["domrun.pause"])
    #expect(c.coverageRule(for: "domctl.unpausedomain")?.kind == .unsplit)
    #expect(c.op(named: "domctl.pause")?.name == "domctl.pausedomain")
  }

  /// Each case: an edit of the tiny catalog, the diagnostic id it must raise, and (with 1️⃣) where.
  static let cases: [(String, String, String)] = [
    ("unknown key", "    summary   Unpause a domain.\n", "    summary   Unpause a domain.\n    1️⃣sumary x\n"),
    ("unknown action", "    dummy     XSM_PRIV\n    target    domain\n    check     domain:pause",
      "    dummy     1️⃣XSM_PRIVV\n    target    domain\n    check     domain:pause"),
    ("unknown endpoint", "check     domain:pause current -> target", "check     domain:pause current -> 1️⃣targte"),
    ("bad check", "check     domain:pause current -> target", "check     domain:pause current 1️⃣target"),
    ("bad class", "refuses-self\n    class     privileged", "refuses-self\n    class     1️⃣privleged"),
    ("duplicate alias", "    hypercall __HYPERVISOR_domctl 36\n    subop     XEN_DOMCTL_unpausedomain 4",
      "    alias     1️⃣domctl.pause\n    hypercall __HYPERVISOR_domctl 36\n    subop     XEN_DOMCTL_unpausedomain 4"),
    ("duplicate number", "XEN_DOMCTL_unpausedomain 4", "XEN_DOMCTL_unpausedomain 3"),
    ("unknown replaced op", "replaces  domctl.pausedomain", "replaces  1️⃣domctl.pausedomian"),
    ("uncovered op", "  unsplit domctl.unpausedomain\n    summary   Stays as it is.\n", ""),
    ("hook without flask", "    check     domain:unpause current -> target\n", ""),
    ("bad number", "subop     XEN_DOMCTL_pausedomain 3", "subop     XEN_DOMCTL_pausedomain 1️⃣three"),
    ("bad target kind", "    target    domain\n    check     domain:pause", "    target    1️⃣domian\n    check     domain:pause"),
    ("line outside an op", "op domctl.pausedomain", "1️⃣hook xsm_domctl\nop domctl.pausedomain"),
    ("repeated key", "    class     privileged\n    summary   Unpause", "    class     privileged\n    1️⃣class     logical\n    summary   Unpause"),
    ("split without number", "    number    1\n", ""),
    ("bad argument kind", "    target    domain\n    check     domain:unpause",
      "    target    domain\n    arg       target 1️⃣domian\n    check     domain:unpause"),
    ("unknown gate", "    target    domain\n    check     domain:unpause",
      "    target    domain\n    gate      before 1️⃣not-self target -EINVAL at xen/common/domctl.c do_domctl\n    check     domain:unpause"),
    ("gate without source", "    target    domain\n    check     domain:unpause",
      "    target    domain\n    gate      after not-caller target 1️⃣-EINVAL\n    check     domain:unpause"),
    ("bad denial", "    target    domain\n    check     domain:unpause",
      "    target    domain\n    denial    1️⃣errnum -EPERM at xen/common/domctl.c do_domctl\n    check     domain:unpause"),
    ("undeclared argument", "    target    domain\n    check     domain:unpause",
      "    target    domain\n    arg       dm domain xen_domctl.domain\n    check     domain:unpause"),
  ]
  static let expectedIDs = [
    "unknown key": "catalog.unknown-key", "unknown action": "catalog.bad-dummy",
    "unknown endpoint": "catalog.unknown-endpoint", "bad check": "catalog.bad-check", "bad class": "catalog.bad-class",
    "duplicate alias": "catalog.duplicate-name", "duplicate number": "catalog.duplicate-number",
    "unknown replaced op": "catalog.unknown-op", "uncovered op": "catalog.uncovered",
    "hook without flask": "catalog.no-flask", "bad number": "catalog.bad-number",
    "bad target kind": "catalog.unknown-target", "line outside an op": "catalog.outside-op",
    "repeated key": "catalog.repeated-key", "split without number": "catalog.missing-key",
    "bad argument kind": "catalog.bad-arg", "unknown gate": "catalog.bad-gate", "gate without source": "catalog.missing-source",
    "bad denial": "catalog.bad-denial", "undeclared argument": "catalog.undeclared-argument",
  ]

  @Test(arguments: cases.map(\.0))
  func malformedEntryIsLocated(_ name: String) throws {
    let (_, original, replacement) = Self.cases.first { $0.0 == name }!
    #expect(tinyCatalog.contains(original), "the case must edit the tiny catalog")
    let edited = tinyCatalog.replacingOccurrences(of: original, with: replacement)
    let (catalog, diagnostics, marked) = loadMarked(edited)
    #expect(catalog == nil, "a catalog with errors is not returned")
    let expected = try #require(Self.expectedIDs[name])
    let errors = diagnostics.items.filter { $0.severity == .error }
    let match = errors.first { $0.id.rawValue == expected }
    #expect(match != nil, "expected \(expected), got \(errors.map { "\($0.id): \($0.message)" })")
    if let marked, let span = match?.span {
      #expect(span.file == "test.ops" && span.line == marked.line && span.column == marked.column,
        "\(expected) at \(span), expected \(marked)")
    }
    #expect(match?.sourceLine != nil, "the diagnostic carries its source line")
  }

  @Test func unknownKeySuggestsTheClosest() {
    let (_, diagnostics, _) = loadMarked(tinyCatalog.replacingOccurrences(of: "    refuses-self\n", with: "    refuse-self\n"))
    let d = diagnostics.items.first { $0.id.rawValue == "catalog.unknown-key" }
    #expect(d?.help == "did you mean `refuses-self`?")
  }

  @Test func validationAgainstAPolicyNamesUndeclaredPermissions() throws {
    let (catalog, _, _) = loadMarked(tinyCatalog)
    let c = try #require(catalog)
    let problems = c.validate(against: PolicyVocabulary(classes: ["domain": ["pause"]]))
    #expect(problems.count == 1)
    #expect(problems.first?.id.rawValue == "catalog.unknown-permission")
    #expect(problems.first?.message.contains("domain:unpause") == true)
    #expect(problems.first?.span?.line == 19)
    let noClass = c.validate(against: PolicyVocabulary(classes: ["domian": ["pause", "unpause"]]))
    #expect(noClass.first?.id.rawValue == "catalog.unknown-class")
    #expect(noClass.first?.help == "did you mean `domian`?")
  }

  @Test func emptyDirectoryIsAnError() throws {
    let (catalog, diagnostics) = CatalogLoader.load(directory: "/nonexistent/xsm/ops")
    #expect(catalog == nil)
    #expect(diagnostics.items.first?.id.rawValue == "catalog.io")
  }

  @Test func projectCatalogLoadsWithoutWarnings() throws {
    let (catalog, diagnostics) = CatalogLoader.load(directory: catalogDirectory)
    #expect(catalog != nil, "\(CatalogLoadFailure(diagnostics: diagnostics))")
    #expect(diagnostics.isEmpty, "\(diagnostics.items.map { "\($0.span?.description ?? ""): \($0.message)" })")
  }

  @Test func splitOpsAreNeverMixed() throws {
    let mixed = try loadProjectCatalog().splitOps.filter { $0.privilege == .mixed }.map(\.name)
    #expect(mixed.isEmpty, "split ops still mixed: \(mixed)")
  }

  @Test func embeddedCatalogMatchesTheFiles() throws {
    let files = try CatalogLoader.files(in: catalogDirectory)
    let prefix = packageRoot + "/"
    let relative = files.map { CatalogLoader.File(name: String($0.name.dropFirst(prefix.count)), text: $0.text) }
    let embedded = EmbeddedCatalog.files
    #expect(embedded.map(\.name) == relative.map(\.name), "run `swift run xsmc docs` to refresh the embedded catalog")
    for (a, b) in zip(embedded, relative) where a.text != b.text {
      Issue.record("\(b.name) differs from the embedded copy; run `swift run xsmc docs`")
    }
  }
}

@Suite("Fixed objects")
struct FixedObjectTests {
  /// Every fixed object of the catalog names an initial SID; nothing else does.
  @Test func fixedObjectsNameTheirInitialSIDs() {
    #expect(Endpoint("xen_t").initialSIDName == "xen")
    #expect(Endpoint("security_t").initialSIDName == "security")
    #expect(Endpoint.fixedNames.allSatisfy { Endpoint($0).initialSIDName == String($0.dropLast(2)) })
    #expect(Endpoint("current").initialSIDName == nil)
    #expect(Endpoint("irq_label").initialSIDName == nil)
  }
}
