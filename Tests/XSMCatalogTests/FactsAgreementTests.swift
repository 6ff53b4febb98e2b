import Foundation
import Testing
import XSMCatalog

/// One row of xsm-ops.tsv reduced to what the catalog must agree with.
struct FactsRow {
  var op: String
  var hooks: [String]
  var dummy: Set<String>
  var permissions: Set<Permission>
  var flaskText: String
  var unclassified: Bool
  var silo: Bool
  var privilege: String
}

/// Reads the facts table. Hooks are the `xsm_*` words of the hook column;
/// dummy actions the `XSM_*` words of its column (`none`, `ENOSYS`, `ALLOW`
/// for the rows without one); permissions every `class:perm` of the Flask
/// column, with `+perm`, `|perm` and `, perm` continuations and `use_*`
/// expanded; rows whose checks are "same as OP" take OP's permissions.
func readFactsTable(_ path: String) throws -> [FactsRow] {
  let text = try String(contentsOfFile: path, encoding: .utf8)
  let classes = "xen2|xen|domain2|domain|hvm|mmu|resource|shadow|event|grant|security|version|argo"
  let permissionPattern = try Regex("\\b(\(classes)):(\\w+\\*?)((?:\\s*\\(?\\s*[+|,]\\s*\\w+\\*?(?![\\w:*]))*)")
  let continuation = try Regex("[+|,]\\s*(\\w+\\*?)(?![\\w:*])")
  let hookPattern = try Regex("\\bxsm_\\w+")
  let dummyPattern = try Regex("XSM_(HOOK|TARGET|XS_PRIV|DM_PRIV|PRIV|OTHER)")

  func permissions(_ flask: String) -> Set<Permission> {
    var out = Set<Permission>()
    for match in flask.matches(of: permissionPattern) {
      let cls = String(match.output[1].substring!)
      var names = [String(match.output[2].substring!)]
      let tail = String(match.output[3].substring ?? "")
      names += tail.matches(of: continuation).map { String($0.output[1].substring!) }
      for name in names {
        if name == "use_*" {
          for variant in Permission.useVariants { out.insert(Permission(cls, variant)) }
        } else {
          out.insert(Permission(cls, name))
        }
      }
    }
    return out
  }
  func dummy(_ column: String) -> Set<String> {
    let trimmed = column.trimmingCharacters(in: .whitespaces)
    if trimmed == "none" { return ["none"] }
    if trimmed.contains("ENOSYS") { return ["ENOSYS"] }
    if trimmed == "always allow" || trimmed == "n/a" { return ["ALLOW"] }
    return Set(column.matches(of: dummyPattern).map { String($0.output[1].substring!) })
  }

  var rows: [FactsRow] = []
  for line in text.split(separator: "\n").dropFirst() {
    let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    guard c.count >= 9 else { continue }
    var hooks: [String] = []
    for m in c[3].matches(of: hookPattern) where !hooks.contains(String(m.output[0].substring!)) { hooks.append(String(m.output[0].substring!)) }
    rows.append(FactsRow(
      op: c[0], hooks: hooks, dummy: dummy(c[4]), permissions: permissions(c[6]), flaskText: c[6],
      unclassified: c[6].trimmingCharacters(in: .whitespaces).hasPrefix("UNKNOWN"),
      silo: !c[7].trimmingCharacters(in: .whitespaces).isEmpty, privilege: c[8]))
  }
  // "same as OP" / "see OP" rows: OP's permissions (`.<subop>`: every sub-op of OP).
  let reference = try Regex("^\\s*(?:same as|same checks as|see)\\s+([a-z_][\\w.]*?)(\\.<subop>)?(?=[\\s;,]|$)")
  let byName = Dictionary(rows.map { ($0.op, $0.permissions) }, uniquingKeysWith: { a, _ in a })
  for i in rows.indices {
    guard let m = rows[i].flaskText.firstMatch(of: reference) else { continue }
    let target = String(m.output[1].substring!)
    let everySubop = m.output[2].substring != nil
    for (name, perms) in byName where everySubop ? name.hasPrefix(target + ".") : name == target {
      rows[i].permissions.formUnion(perms)
    }
  }
  return rows
}

/// The digest of the facts table committed with the tests
/// (`Tests/XSMCatalogTests/Fixtures/facts-digest.tsv`): per row only the
/// ABI facts the agreement test compares — op, hooks, dummy action tokens,
/// `class:permission` set, unclassified, silo rule present, privilege class.
/// CI machines may not have `../shared/xsm-ops.tsv`; where it exists, a test
/// checks that the digest is exactly what the table yields today.
let factsDigestPath = packageRoot + "/Tests/XSMCatalogTests/Fixtures/facts-digest.tsv"

func digestLine(_ row: FactsRow) -> String {
  [
    row.op, row.hooks.joined(separator: " "), row.dummy.sorted().joined(separator: " "),
    row.permissions.sorted().map(\.description).joined(separator: " "), row.unclassified ? "1" : "0",
    row.silo ? "1" : "0", row.privilege,
  ].joined(separator: "\t")
}

func digestText(_ rows: [FactsRow]) -> String {
  "# op\thooks\tdummy\tpermissions\tunclassified\tsilo\tclass (derived from xsm-ops.tsv; see FactsAgreementTests)\n"
    + rows.map(digestLine).joined(separator: "\n") + "\n"
}

func readDigest(_ path: String) throws -> [FactsRow] {
  try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
    let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    func words(_ s: String) -> [String] { s.split(separator: " ").map(String.init) }
    return FactsRow(
      op: c[0], hooks: words(c[1]), dummy: Set(words(c[2])), permissions: Set(words(c[3]).compactMap { Permission($0) }),
      flaskText: "", unclassified: c[4] == "1", silo: c[5] == "1", privilege: c[6])
  }
}

/// The facts: from `../shared/xsm-ops.tsv` when present, else the committed digest.
func loadFacts() throws -> [FactsRow] {
  if FileManager.default.fileExists(atPath: factsTable) { return try readFactsTable(factsTable) }
  return try readDigest(factsDigestPath)
}

/// What the catalog says about an op, in the facts table's terms.
func factsView(of op: Op) -> (hooks: [String], dummy: Set<String>, permissions: Set<Permission>) {
  var dummy = Set<String>()
  for step in op.dummy {
    if step.other { dummy.insert("OTHER") }
    switch step.action {
    case .none, .enosys, .allow:
      if !step.other { dummy.insert(step.action.rawValue) }
    default:
      dummy.insert(String(step.action.rawValue.dropFirst("XSM_".count)))
    }
  }
  return (op.hooks, dummy, op.permissions)
}

@Suite("The catalog agrees with the facts table")
struct FactsAgreementTests {
  @Test func everyRowAgrees() throws {
    let rows = try loadFacts()
    #expect(rows.count == 387, "the facts table has 387 rows")
    let catalog = try loadProjectCatalog()
    var differences: [String] = []
    for row in rows {
      guard let op = catalog.op(named: row.op), op.kind == .legacy, op.name == row.op else {
        differences.append("\(row.op): missing from the catalog")
        continue
      }
      let view = factsView(of: op)
      if view.hooks != row.hooks { differences.append("\(row.op): hooks \(view.hooks) but the facts say \(row.hooks)") }
      if view.dummy != row.dummy {
        differences.append("\(row.op): dummy \(view.dummy.sorted()) but the facts say \(row.dummy.sorted())")
      }
      if view.permissions != row.permissions {
        let extra = view.permissions.subtracting(row.permissions).sorted().map(\.description)
        let missing = row.permissions.subtracting(view.permissions).sorted().map(\.description)
        differences.append("\(row.op): checks differ; only in the catalog \(extra), only in the facts \(missing)")
      }
      if (op.flask == .unclassified) != row.unclassified {
        differences.append("\(row.op): unclassified is \(op.flask == .unclassified) but the facts say \(row.unclassified)")
      }
      if (op.silo != nil) != row.silo {
        differences.append("\(row.op): silo rule \(op.silo != nil ? "present" : "absent") but the facts say \(row.silo ? "present" : "absent")")
      }
      if op.privilege.rawValue != row.privilege {
        differences.append("\(row.op): class \(op.privilege.rawValue) but the facts say \(row.privilege)")
      }
    }
    #expect(differences.isEmpty, "\(differences.count) differences:\n\(differences.joined(separator: "\n"))")
  }

  @Test func everyLegacyOpIsInTheFacts() throws {
    let names = Set(try loadFacts().map(\.op))
    let extra = try loadProjectCatalog().legacyOps.map(\.name).filter { !names.contains($0) }
    #expect(extra.isEmpty, "legacy ops not in the facts table: \(extra)")
  }

  @Test func classificationCountsMatchTheFacts() throws {
    let legacy = try loadProjectCatalog().legacyOps
    #expect(legacy.count { $0.privilege == .privileged } == 256)
    #expect(legacy.count { $0.privilege == .logical } == 85)
    #expect(legacy.count { $0.privilege == .mixed } == 46)
    #expect(legacy.count { $0.flask == .unclassified } == 8)
    #expect(legacy.count { $0.dummy.map(\.action) == [.none] } == 50, "50 paths have no dummy decision")
  }

  @Test func shortAliasesResolve() throws {
    let catalog = try loadProjectCatalog()
    #expect(catalog.op(named: "domctl.pause")?.name == "domctl.pausedomain")
    #expect(catalog.op(named: "grant.map")?.name == "grant.map_grant_ref")
    #expect(catalog.op(named: "domctl.create")?.name == "domctl.createdomain")
  }

  /// The committed digest is what the facts table yields (checked where the table is present;
  /// `XSM_WRITE_FACTS_DIGEST=1` rewrites it).
  @Test func committedDigestMatchesTheFactsTable() throws {
    guard FileManager.default.fileExists(atPath: factsTable) else {
      // Without the table there is nothing to compare with; the digest answers alone.
      #expect(try readDigest(factsDigestPath).count == 387)
      return
    }
    let fresh = digestText(try readFactsTable(factsTable))
    if ProcessInfo.processInfo.environment["XSM_WRITE_FACTS_DIGEST"] == "1" {
      try FileManager.default.createDirectory(
        atPath: (factsDigestPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try fresh.write(toFile: factsDigestPath, atomically: true, encoding: .utf8)
    }
    let committed = try String(contentsOfFile: factsDigestPath, encoding: .utf8)
    let a = committed.split(separator: "\n")
    let b = fresh.split(separator: "\n")
    let differing = zip(a, b).filter { $0 != $1 }.map { String($0.1.prefix(60)) }
    #expect(a.count == b.count && differing.isEmpty, "the digest differs from xsm-ops.tsv at: \(differing.prefix(5))")
  }

  /// The extractor itself must read the tricky rows right, or the test above proves little.
  @Test func factsReaderHandlesContinuations() throws {
    let rows = Dictionary(uniqueKeysWithValues: try loadFacts().map { ($0.op, $0) })
    #expect(rows["mmu_update.pt_update"]?.permissions == [
      Permission("mmu", "remote_remap"), Permission("mmu", "map_read"), Permission("mmu", "map_write"),
    ])
    #expect(rows["domctl.test_assign_device"]?.permissions.contains(Permission("resource", "add_device")) == true)
    #expect(rows["domctl.setvnumainfo"]?.permissions == [Permission("domain", "getvcpuinfo")])
    #expect(rows["xsm.flask_op.load"]?.hooks == ["xsm_do_xsm_op", "xsm_do_compat_op"])
    #expect(rows["paging_domctl_cont"]?.permissions.contains(Permission("shadow", "logdirty")) == true)
  }
}
