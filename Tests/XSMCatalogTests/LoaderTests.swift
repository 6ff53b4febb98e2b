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
    ("bad alias", "    alias     domctl.pause\n", "    alias     1️⃣domctl-pause\n"),
    ("bad hypercall", "hypercall __HYPERVISOR_domctl 36\n    subop     XEN_DOMCTL_pausedomain",
      "hypercall __HYPERVISOR_domctl 1️⃣x36\n    subop     XEN_DOMCTL_pausedomain"),
    ("sub-op pair without `|`", "subop     XEN_DOMCTL_pausedomain 3", "subop     XEN_DOMCTL_pausedomain 3 1️⃣4"),
    ("bad hook", "subop     XEN_DOMCTL_pausedomain 3\n    hook      xsm_domctl",
      "subop     XEN_DOMCTL_pausedomain 3\n    hook      1️⃣domctl"),
    ("bad flask marker", "    check     domain:unpause current -> target\n",
      "    check     domain:unpause current -> target\n    flask     1️⃣maybe\n"),
    ("silo with one domain", "    refuses-self\n", "    refuses-self\n    1️⃣silo      current\n"),
    ("condition without a word", "check     domain:pause current -> target", "check     domain:pause current -> target 1️⃣if"),
    ("legacy op inherits", "    refuses-self\n", "    refuses-self\n    inherit   1️⃣domctl.unpausedomain\n"),
    ("legacy op with a number", "  op domctl.unpausedomain\n", "  op 1️⃣domctl.unpausedomain\n    number    5\n"),
    ("checks without a hook", "    hook      xsm_domctl\n    dummy     XSM_PRIV\n    target    domain\n    check     domain:unpause",
      "    hook      none\n    dummy     none\n    target    domain\n    check     1️⃣domain:unpause"),
    ("dummy rule without a hook",
      "  op domctl.unpausedomain\n    hypercall __HYPERVISOR_domctl 36\n    subop     XEN_DOMCTL_unpausedomain 4\n"
        + "    hook      xsm_domctl\n    dummy     XSM_PRIV\n    target    domain\n    check     domain:unpause current -> target\n",
      "  op 1️⃣domctl.unpausedomain\n    hypercall __HYPERVISOR_domctl 36\n    subop     XEN_DOMCTL_unpausedomain 4\n"
        + "    hook      none\n    dummy     XSM_PRIV\n    target    domain\n"),
    ("word after a value", "class     privileged\n    summary   Unpause", "class     privileged 1️⃣extra\n    summary   Unpause"),
    ("key without its value", "    group     runtime\n", "    1️⃣group\n"),
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
    "bad alias": "catalog.bad-name", "bad hypercall": "catalog.bad-hypercall", "sub-op pair without `|`": "catalog.bad-subop",
    "bad hook": "catalog.bad-hook", "bad flask marker": "catalog.bad-flask", "silo with one domain": "catalog.bad-silo",
    "condition without a word": "catalog.bad-condition", "legacy op inherits": "catalog.bad-inherit",
    "legacy op with a number": "catalog.split-key", "checks without a hook": "catalog.check-without-hook",
    "dummy rule without a hook": "catalog.dummy-without-hook", "word after a value": "catalog.extra-argument",
    "key without its value": "catalog.missing-argument",
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

  /// Warnings leave the catalog loaded.
  @Test func warningsAreLocated() throws {
    let cases = [
      ("catalog.split-mixed", "  split domrun.pause\n", "  split 1️⃣domrun.pause\n    class     mixed\n"),
      ("catalog.unused-coverage", "  unsplit domctl.unpausedomain\n",
        "  unsplit 1️⃣domctl.nothing\n    summary   Matches nothing.\n\n  unsplit domctl.unpausedomain\n"),
    ]
    for (id, original, replacement) in cases {
      #expect(tinyCatalog.contains(original), "the case must edit the tiny catalog")
      let (catalog, diagnostics, marked) = loadMarked(tinyCatalog.replacingOccurrences(of: original, with: replacement))
      #expect(catalog != nil && !diagnostics.hasErrors, "\(diagnostics.items.map { "\($0.id): \($0.message)" })")
      let warning = try #require(diagnostics.items.first { $0.id.rawValue == id }, "expected \(id)")
      let at = try #require(marked)
      #expect(warning.severity == .warning)
      #expect(warning.span?.description == at.description, "\(id) at \(warning.span?.description ?? "-"), expected \(at)")
    }
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
