import Foundation
import Testing
import XSMCatalog
import XSMEngine
import XSMTestSupport

/// `xsmq diff` between the project's policy and edited copies of it, on the embedded default host.
@Suite("xsmq diff")
struct DiffTests {
  static let removedCall = "toolstack_manages(dom0_t, domU_t)"

  /// Without `toolstack_manages(dom0_t, domU_t)`, dom0 loses on each domU_t guest exactly the ops
  /// whose checks need a permission only that call granted. The expected set is derived here from
  /// the macro definitions in policy/support/toolstack.spt, the calls left in domU.te, the catalog's
  /// checks and the engine's verdicts on the embedded host — not from `diff`.
  @Test func aRemovedMacroCallLosesExactlyItsOps() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try copyPolicy(to: dir + "/new") { $0.replacingOccurrences(of: Self.removedCall + "\n", with: "") }

    let r = await xsmq(["diff", "policy", dir + "/new", "--json"])
    #expect(r.status == 1, "\(r.err)")
    let diff = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(r.out.utf8))
    #expect(diff.gained == 0)

    // Permissions the call granted dom0_t on domU_t, minus those the other toolstack calls of domU.te grant too.
    let macros = try Self.toolstackMacros()
    let calls = try String(contentsOfFile: TestEnvironment.path("policy/modules/domU.te"), encoding: .utf8)
      .split(separator: "\n").map(String.init).filter { $0.hasPrefix("toolstack_") && $0.hasSuffix("(dom0_t, domU_t)") }
      .map { String($0.prefix { $0 != "(" }) }
    #expect(calls.contains("toolstack_manages"))
    let stillGranted = calls.filter { $0 != "toolstack_manages" }.reduce(into: Set<String>()) { $0.formUnion(macros[$1] ?? []) }
    let onlyByTheCall = try #require(macros["toolstack_manages"]).subtracting(stillGranted)
    #expect(onlyByTheCall.contains("domain:pause") && !onlyByTheCall.contains("domain:getdomaininfo"))

    // The ops dom0 may invoke on each domU_t guest today with a check of such a permission.
    let (catalog, _) = EmbeddedCatalog.load()
    let (spec, _) = EmbeddedDefaults.system()
    let (host, _) = await XenHost.load(try #require(spec), catalog: try #require(catalog))
    let engine = DecisionEngine(host: try #require(host))
    let dom0 = try #require(engine.host.domain(named: "dom0"))
    let guests = engine.host.domains.filter { $0.contextText.hasSuffix(":domU_t") }
    #expect(guests.map(\.name) == ["db", "web", "ci", "desktop"])
    let ops = catalog!.ops.filter { $0.kind == .legacy }
    for guest in guests {
      let expected = Set(ops.filter { op in
        op.positionalArgument != nil
          && op.checks(in: []).contains { check in
            check.subject.isCaller && check.permissions.contains { onlyByTheCall.contains("\(check.securityClass):\($0)") }
          }
          && {
            let (target, objects) = OpQuestion.matrixCell(caller: dom0, op: op, target: guest)
            return engine.verdict(caller: dom0, op: op, target: target, module: .flask, objects: objects) == .allowed
          }()
      }.map(\.name))
      let pair = diff.pairs.first { $0.caller.name == "dom0" && $0.target.name == guest.name }
      #expect(Set(pair?.lost.map(\.op) ?? []) == expected, "dom0 -> \(guest.name)")
      #expect(pair?.target.type == "domU_t" && pair?.caller.type == "dom0_t")
      #expect(pair?.lost.allSatisfy { !$0.checks.isEmpty && $0.checks.allSatisfy { !$0.rules.isEmpty } } == true)
    }
    #expect(diff.pairs.count == guests.count, "only dom0 -> domU_t pairs change: \(diff.pairs.map { "\($0.caller.name)->\($0.target.name)" })")
    #expect(diff.lost == diff.pairs.map(\.lost.count).reduce(0, +))

    // The JSON shape on two families, with this machine's paths and the policies' digests taken out.
    let small = await xsmq(["diff", "policy", dir + "/new", "--family", "evtchn", "--family", "sched", "--json"])
    #expect(small.status == 1)
    let stable = small.out.replacingOccurrences(of: dir, with: "SCRATCH")
      .replacingOccurrences(of: TestEnvironment.packageRoot, with: "ROOT")
      .replacingOccurrences(of: #""policy_digest" : "[0-9a-f]{64}""#, with: #""policy_digest" : "DIGEST""#,
        options: .regularExpression)
    if let difference = Snapshot.difference(stable, named: "diff/toolstack-manages.json") { Issue.record("\(difference)") }

    let text = await xsmq(["diff", "policy", dir + "/new"])
    #expect(text.status == 1)
    #expect(text.out.contains("dom0 (dom0_t) -> web, ci, desktop (domU_t)\n  lost 19\n    domctl\n"), "\(text.out)")
    #expect(text.out.contains("      domctl.pausedomain                 domain:pause current -> target\n"))
    #expect(text.out.contains("    rules of policy that granted what is lost:\n"))
    // The change responsible, cited by source: the removed call, at its line of domU.te.
    let module = TestEnvironment.path("policy/modules/domU.te")
    let callLine = try SourceLines.line(in: module, containing: [Self.removedCall])
    #expect(text.out.contains("    from the source rules:\n"))
    #expect(text.out.contains("        via \(Self.removedCall) at \(module):\(callLine)\n"), "\(text.out)")
    let lostChecks = diff.pairs.flatMap(\.lost).flatMap(\.checks)
    #expect(!lostChecks.isEmpty && lostChecks.allSatisfy { check in
      check.origins?.contains { $0.macroCalls.first?.call == Self.removedCall && $0.macroCalls.first?.line == callLine } == true
    })
    #expect(text.out.contains("0 ops gained, \(diff.lost) lost over 4 (caller, target) pairs"))
  }

  @Test func identicalPoliciesHaveNoDifference() async throws {
    let r = await xsmq(["diff", "embedded", "policy"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("no difference: 0 ops gained, 0 lost"))
  }

  /// The policy.conf the tree expands to, against the tree.
  @Test func aPolicyConfAgainstATree() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try await TestPolicies.project().policyText.write(toFile: dir + "/policy.conf", atomically: true, encoding: .utf8)
    let r = await xsmq(["diff", dir + "/policy.conf", "policy", "--json"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    let diff = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(r.out.utf8))
    #expect(diff.pairs.isEmpty && diff.pairsCompared == 144 && diff.opsCompared > 300)
  }

  /// A permission renamed in the new policy's classes (as between Xen releases): the op the
  /// catalog checks by the old name is lost, and the diff says the permission is missing.
  @Test func aPermissionMissingFromOneSidesClasses() async throws {
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try copyPolicy(to: dir + "/renamed", skipping: "ops") {
      $0.replacingOccurrences(of: "get_domain_state", with: "get_dom_state")
    }
    let r = await xsmq(["diff", "policy", dir + "/renamed", "--op", "domctl.get_domain_state", "--json"])
    #expect(r.status == 1, "\(r.err)")
    let diff = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(r.out.utf8))
    let change = try #require(diff.pairs.first { $0.caller.name == "dom0" && $0.target.name == "db" }?.lost.first)
    #expect(change.op == "domctl.get_domain_state")
    let check = try #require(change.checks.first)
    #expect(check.old == .granted && check.new == .undefinedPermission)
    #expect(check.note == "permission `domain2:get_domain_state` is not in \(dir)/renamed's classes (denied: Xen's compute_av grants no permission the policy does not define, whatever handle_unknown says)")
    // --domain keeps the pairs of those domains.
    let one = await xsmq(["diff", "policy", dir + "/renamed", "--op", "domctl.get_domain_state", "--domain", "dom0", "--domain", "db", "--json"])
    let narrowed = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(one.out.utf8))
    #expect(narrowed.pairsCompared == 4 && narrowed.pairs.map(\.target.name) == ["dom0", "db"], "\(one.out)\(one.err)")
  }

  @Test func badInputIsAUsageError() async throws {
    let missing = await xsmq(["diff", "policy", "/nonexistent/policy.conf"])
    #expect(missing.status == 2 && missing.err.contains("the new policy `/nonexistent/policy.conf` does not exist"), "\(missing.err)")
    let dir = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "not a policy\n".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
    let garbage = await xsmq(["diff", dir + "/notes.txt", "policy"])
    #expect(garbage.status == 2, "\(garbage.out)")
    #expect(garbage.err.contains("notes.txt:1:1: error"), "\(garbage.err)")
    #expect(garbage.err.contains("xsmq: error: the old policy `\(dir)/notes.txt` cannot be used on examples/systems/default.toml"))
    let one = await xsmq(["diff", "policy"])
    #expect(one.status == 2 && one.err.contains("give two policies, OLD and NEW (got 1)"))
    let mixed = await xsmq(["diff", "policy", "policy", "--modules", "dummy", "flask"])
    #expect(mixed.status == 2)
    let noSystem = await xsmq(["diff", "--systems", "examples/systems/default.toml", dir + "/none.toml"])
    #expect(noSystem.status == 2 && noSystem.err.contains("no system file"))
  }

  /// Two system files (the silo host against the default one compares the domains both have: dom0
  /// and netdrv) and two modules on one host.
  @Test func systemsAndModules() async throws {
    let same = await xsmq(["diff", "--systems", "examples/systems/default.toml", "examples/systems/default.toml", "--family", "domctl"])
    #expect(same.status == 0, "\(same.out)\(same.err)")
    let hosts = await xsmq(["diff", "--systems", "examples/systems/default.toml", "examples/systems/silo-arm.toml",
      "--module", "flask", "--family", "domctl", "--json"])
    let across = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(hosts.out.utf8))
    #expect(across.onlyNew == ["guest1", "guest2"] && across.onlyOld.contains("xenstore"), "\(hosts.out)\(hosts.err)")
    #expect(across.pairsCompared == 4 && across.old.module == .flask && across.new.module == .flask)
    let modules = await xsmq(["diff", "--modules", "dummy", "flask", "--op", "argo.register_ring", "--json"])
    #expect(modules.status == 1, "\(modules.err)")
    let diff = try JSONDecoder.snakeCase.decode(DecisionDiff.self, from: Data(modules.out.utf8))
    // Where dummy's rule allows what the policy does not, the loss names the Flask check that refuses.
    #expect(diff.old.module == .dummy && diff.new.module == .flask && !diff.pairs.isEmpty)
    #expect(diff.pairs.flatMap(\.lost).allSatisfy { !$0.checks.isEmpty }, "\(modules.out)")
  }

  private func copyPolicy(to path: String, skipping skipped: String? = nil, edit: (String) -> String) throws {
    let fm = FileManager.default
    try fm.copyItem(atPath: TestEnvironment.projectPolicyTree, toPath: path)
    let files = fm.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
    for file in files where !file.hasPrefix((skipped ?? "\u{0}") + "/") {
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: path + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue,
        let text = try? String(contentsOfFile: path + "/" + file, encoding: .utf8)
      else { continue }
      let edited = edit(text)
      if edited != text { try edited.write(toFile: path + "/" + file, atomically: true, encoding: .utf8) }
    }
  }

  /// `class:perm` that each toolstack macro grants `$1` on `$2`: its `allow $1 $2:class { perms };`
  /// lines and those of the macros it calls with `($1, $2)`.
  static func toolstackMacros() throws -> [String: Set<String>] {
    let text = try String(contentsOfFile: TestEnvironment.path("policy/support/toolstack.spt"), encoding: .utf8)
    var granted: [String: Set<String>] = [:]
    var calls: [String: [String]] = [:]
    var current: String?
    for line in text.split(separator: "\n").map(String.init) {
      if line.hasPrefix("define(`") {
        current = String(line.dropFirst(8).prefix { $0 != "'" })
        continue
      }
      guard let name = current else { continue }
      if line.hasPrefix("')") {
        current = nil
      } else if line.hasSuffix("($1, $2)") {
        calls[name, default: []].append(String(line.prefix { $0 != "(" }))
      } else if line.hasPrefix("allow $1 $2:"), let colon = line.firstIndex(of: ":") {
        let rest = line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: "; "))
        let className = String(rest.prefix { $0 != " " })
        let perms = rest.dropFirst(className.count).replacingOccurrences(of: "{", with: " ")
          .replacingOccurrences(of: "}", with: " ").split(separator: " ").map(String.init)
        granted[name, default: []].formUnion(perms.map { "\(className):\($0)" })
      }
    }
    func expand(_ name: String) -> Set<String> {
      (calls[name] ?? []).reduce(granted[name] ?? []) { $0.union(expand($1)) }
    }
    return Dictionary(uniqueKeysWithValues: Set(granted.keys).union(calls.keys).map { ($0, expand($0)) })
  }

  private func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "xsmq-diff-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }
}
