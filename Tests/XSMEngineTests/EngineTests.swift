import Foundation
import Testing
import XSMCatalog
import XSMPolicyGen
import XSMTestSupport
@testable import XSMEngine

let packageRoot = TestEnvironment.packageRoot

/// The project's catalog (from policy/ops) and the default host, loaded once.
let sharedCatalog: OpCatalog = {
  let (catalog, diagnostics) = CatalogLoader.load(directory: packageRoot + "/policy/ops")
  precondition(catalog != nil, "the catalog loads: \(diagnostics.items.map(\.message))")
  return catalog!
}()

/// The default host; `policyTree` replaces its policy by that tree, compiled.
func defaultHost(enforcing: Bool = true, module: XSMModule? = nil, policyTree: String? = nil) async throws -> XenHost {
  var (spec, diagnostics) = SystemFile.load(path: packageRoot + "/examples/systems/default.toml")
  try #require(spec != nil, "\(diagnostics.map(\.message))")
  spec!.enforcing = enforcing
  if let module { spec!.module = module }
  var binary: [UInt8]?
  if let policyTree {
    spec!.policy = policyTree
    binary = try await TestPolicies.compile(tree: policyTree).binary
  }
  let (host, hostDiagnostics) = await XenHost.load(spec!, catalog: sharedCatalog, policyBinary: binary)
  return try #require(host, "\(hostDiagnostics.map(\.message))")
}

/// A domain of a synthetic host for the dummy truth table.
func domain(_ domid: Int, _ flags: Set<DomainFlag> = [], target: Int? = nil) -> HostDomain {
  HostDomain(domid: domid, name: "dom\(domid)", flags: flags, targetDomid: target, iommu: .intremap,
    contextText: "system_u:system_r:domU_t")
}

@Suite("Dummy, silo and flask decisions")
struct EngineTests {
  /// xen-xsm-facts §a.2, as a truth table over caller kinds. The target is dom10.
  @Test func dummyTruthTable() {
    let target = domain(10)
    let callers: [(String, HostDomain)] = [
      ("control", domain(0, [.control])),
      ("hardware only", domain(1, [.hardware])),
      ("xenstore", domain(2, [.xenstore])),
      ("device model of target", domain(3, target: 10)),
      ("device model of another", domain(4, target: 11)),
      ("self", domain(10)),
      ("plain guest", domain(5)),
    ]
    let expected: [DummyAction: [Bool]] = [
      .hook: [true, true, true, true, true, true, true],
      .target: [true, false, false, true, false, true, false],
      .xsPriv: [true, false, true, true, false, false, false],
      .dmPriv: [true, false, false, true, false, false, false],
      .priv: [true, false, false, false, false, false, false],
    ]
    for (action, row) in expected {
      for ((kind, caller), allowed) in zip(callers, row) {
        let (result, why) = DecisionEngine.dummyRule(action, source: caller, target: target)
        #expect(result == allowed, "\(action.rawValue) for \(kind): \(why)")
      }
    }
    // A NULL target (XSM_PRIV with no domain, or a xen object) gives no device-model or self pass.
    #expect(DecisionEngine.dummyRule(.target, source: domain(3, target: 10), target: nil).0 == false)
    #expect(DecisionEngine.dummyRule(.xsPriv, source: domain(2, [.xenstore]), target: nil).0 == true)
  }

  /// xen/common/domctl.c do_domctl: the hook first, then `d == current->domain` is -EINVAL.
  @Test func pausingOneselfIsRefusedAfterTheHook() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "domctl.pause"))
    let dom0 = try #require(host.domain(domid: 0))
    for module in [XSMModule.dummy, .silo] {
      let d = engine.decide(caller: dom0, op: op, target: dom0, module: module)
      #expect(d.verdict == .invalid && d.error == "-EINVAL")
      #expect(d.trace.last?.source == "xen/common/domctl.c do_domctl")
    }
    // The project's policy does not let dom0_t pause itself: the hook's -EACCES wins.
    #expect(engine.decide(caller: dom0, op: op, target: dom0, module: .flask).error == "-EACCES")
  }

  @Test func controlDomainPausesAGuestEverywhere() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "domctl.pause"))
    let dom0 = try #require(host.domain(domid: 0))
    let guest = try #require(host.domains.first { !$0.isControl && $0.targetDomid == nil && !$0.isXenstore })
    for module in XSMModule.allCases {
      let d = engine.decide(caller: dom0, op: op, target: guest, module: module)
      #expect(d.verdict == .allowed, "\(module): \(d.trace.map(\.text))")
    }
  }

  @Test func siloBlocksGuestToGuestChannelsThatDummyAllows() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "evtchn.bind_interdomain"))
    let guests = host.domains.filter { !$0.isControl }
    let a = guests[0]
    let b = guests[1]
    #expect(engine.decide(caller: a, op: op, target: b, module: .dummy).verdict == .allowed)
    let silo = engine.decide(caller: a, op: op, target: b, module: .silo)
    #expect(silo.verdict == .denied)
    #expect(silo.trace.first?.layer == "silo")
  }

  /// A guest binding to a port of its own device model: Xen derives the
  /// objects from each port's owner (facts §c.5), so the DM side sees the
  /// guest as its target SID.
  @Test func channelChecksDeriveFromThePortOwner() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "evtchn.bind_interdomain"))
    let web = try #require(host.domain(named: "web"))
    let dm = try #require(host.domain(named: "web-dm"))
    let d = engine.decide(caller: web, op: op, target: dm, module: .flask)
    let remote = d.trace.first { $0.text.contains("remote_channel -> current") }
    #expect(remote?.object?.hasSuffix(":domU_t_target") == true, "\(d.trace.map { ($0.text, $0.object ?? "") })")
  }

  @Test func flaskOpExistsOnlyUnderFlask() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "xsm.flask_op.getenforce"))
    let dom0 = try #require(host.domain(domid: 0))
    #expect(engine.decide(caller: dom0, op: op, target: nil, module: .dummy).verdict == .invalid)
    #expect(engine.decide(caller: dom0, op: op, target: nil, module: .flask).verdict == .allowed)
  }

  @Test func flaskTraceNamesContextsAndRules() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let op = try #require(host.catalog.op(named: "domctl.pause"))
    let dom0 = try #require(host.domain(domid: 0))
    let guest = try #require(host.domains.first { $0.contextText.hasSuffix(":domU_t") })
    let d = engine.decide(caller: dom0, op: op, target: guest, module: .flask)
    let step = try #require(d.trace.first { $0.layer == "flask" })
    #expect(step.subject?.contains("dom0_t") == true)
    #expect(step.object?.contains("domU_t") == true)
    #expect(!step.rules.isEmpty, "the granting rule is named")
  }

  // MARK: Properties

  @Test func permissiveFlaskNeverDenies() async throws {
    let host = try await defaultHost(enforcing: false)
    let engine = DecisionEngine(host: host)
    for op in host.catalog.legacyOps {
      for caller in host.domains {
        for target in host.domains {
          let v = engine.verdict(caller: caller, op: op, target: target, module: .flask)
          #expect(v != .denied, "\(op.name) \(caller.label) -> \(target.label)")
        }
      }
    }
  }

  @Test func siloNeverAllowsWhatDummyDenies() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    for op in host.catalog.ops {
      for caller in host.domains {
        for target in host.domains {
          let dummy = engine.verdict(caller: caller, op: op, target: target, module: .dummy)
          let silo = engine.verdict(caller: caller, op: op, target: target, module: .silo)
          if dummy != .allowed { #expect(silo != .allowed, "\(op.name) \(caller.label) -> \(target.label)") }
        }
      }
    }
  }

  @Test func dummyDecisionsOfPrivOpsDependOnlyOnTheCaller() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let privOps = host.catalog.legacyOps.filter { op in
      op.dummy.count == 1 && op.dummy[0].action == .priv && !op.dummy[0].other && op.dummy[0].condition == nil
        // Lookups pass for every domain of the host named by number; other gates read the target.
        && op.gates.allSatisfy { $0.requirement == .lookup || $0.requirement == .lookupAny }
    }
    #expect(privOps.count > 90, "\(privOps.count) XSM_PRIV ops without target-reading gates")
    for op in privOps {
      for caller in host.domains {
        let verdicts = Set(host.domains.map { engine.verdict(caller: caller, op: op, target: $0, module: .dummy) })
        #expect(verdicts.count == 1, "\(op.name) from \(caller.label) depends on the target")
      }
    }
  }

  @Test func dummyIgnoresThePolicy() async throws {
    let a = try await defaultHost()
    let tree = try permissivePolicyTree(extraRules: "allow domain_type domain_type:domain { pause unpause getdomaininfo };\n")
    defer { try? FileManager.default.removeItem(atPath: tree) }
    let b = try await defaultHost(policyTree: tree + "/policy")
    let ea = DecisionEngine(host: a)
    let eb = DecisionEngine(host: b)
    for op in a.catalog.legacyOps {
      for caller in a.domains {
        for target in a.domains {
          let va = ea.verdict(caller: caller, op: op, target: target, module: .dummy)
          let vb = eb.verdict(caller: b.domain(domid: caller.domid)!, op: op, target: b.domain(domid: target.domid)!,
            module: .dummy)
          #expect(va == vb, "\(op.name)")
        }
      }
    }
  }

  /// Adding allow rules never turns an allow into a deny.
  @Test(arguments: [UInt64(1), 2, 3])
  func addingAllowRulesIsMonotonic(seed: UInt64) async throws {
    var rng = SplitMix64(seed: seed)
    let types = ["dom0_t", "domU_t", "dm_dom_t", "xenstore_t", "nic_dev_t", "isolated_domU_t", "xen_t", "domxen_t"]
    let classes = ["domain": ["pause", "unpause", "getdomaininfo", "setvcpucontext", "shutdown"],
      "mmu": ["map_read", "adjust", "stat"],
      "hvm": ["dm", "hvmctl", "setparam"], "xen": ["readconsole", "writeconsole", "physinfo"]]
    var rules = ""
    for _ in 0..<12 {
      let s = types.randomElement(using: &rng)!
      let t = types.randomElement(using: &rng)!
      let (cls, perms) = classes.randomElement(using: &rng)!
      rules += "allow \(s) \(t):\(cls) \(perms.randomElement(using: &rng)!);\n"
    }
    let tree = try permissivePolicyTree(extraRules: rules)
    defer { try? FileManager.default.removeItem(atPath: tree) }
    let before = DecisionEngine(host: try await defaultHost())
    let afterHost = try await defaultHost(policyTree: tree + "/policy")
    let after = DecisionEngine(host: afterHost)
    for op in before.host.catalog.legacyOps where op.isHooked {
      for caller in before.host.domains {
        for target in before.host.domains {
          let a = before.verdict(caller: caller, op: op, target: target, module: .flask)
          guard a == .allowed else { continue }
          let b = after.verdict(caller: afterHost.domain(domid: caller.domid)!, op: op,
            target: afterHost.domain(domid: target.domid)!, module: .flask)
          #expect(b == .allowed, "\(op.name) \(caller.label) -> \(target.label) after adding:\n\(rules)")
        }
      }
    }
  }

  // MARK: Cache and state

  @Test func booleanCommitMovesTheSequenceAndChangesAnswers() async throws {
    let host = try await defaultHost()
    let server = try #require(host.server)
    let policy = server.policy
    let index = try #require(policy.booleanNames.firstIndex(of: "guest_writeconsole"))
    let guest = try #require(host.domains.first { $0.contextText.hasSuffix(":domU_t") })
    let op = try #require(host.catalog.op(named: "console.write"))
    let engine = DecisionEngine(host: host)
    let first = engine.decide(caller: guest, op: op, target: nil, module: .flask).verdict
    let sequence = server.sequence
    server.setBoolean(index, to: !server.booleans[index], commit: true)
    #expect(server.sequence > sequence)
    let second = engine.decide(caller: guest, op: op, target: nil, module: .flask).verdict
    #expect(first != second, "flipping guest_writeconsole changes a guest's console write")
    server.setBoolean(index, to: !server.booleans[index], commit: false)
    #expect(engine.decide(caller: guest, op: op, target: nil, module: .flask).verdict == second, "pending is not applied")
    server.commitBooleans()
    #expect(engine.decide(caller: guest, op: op, target: nil, module: .flask).verdict == first)
  }

  @Test func matrixAgreesWithSingleDecisions() async throws {
    let host = try await defaultHost()
    let engine = DecisionEngine(host: host)
    let ops = Array(host.catalog.legacyOps.prefix(60))
    let matrix = AccessMatrix(engine: engine, ops: ops, modules: XSMModule.allCases)
    for (r, op) in ops.enumerated() {
      let read = matrix.reader(row: r)
      for (ci, caller) in matrix.domains.enumerated() {
        for (ti, target) in matrix.domains.enumerated() {
          if op.positionalArgument == nil && ci != ti { continue }
          let (t, objects) = OpQuestion.matrixCell(caller: caller, op: op, target: target)
          for (m, module) in matrix.modules.enumerated() {
            // The traced path and the fast path decide alike.
            #expect(read(ci, ti, m) == engine.decide(caller: caller, op: op, target: t, module: module, objects: objects).verdict)
            #expect(read(ci, ti, m) == engine.verdict(caller: caller, op: op, target: t, module: module, objects: objects))
          }
        }
      }
    }
  }

  @Test func compareSeparatesSiloFromPolicyDifferences() async throws {
    let host = try await defaultHost()
    let comparison = ModuleComparison(engine: DecisionEngine(host: host), ops: host.catalog.legacyOps)
    let bind = comparison.ops.first { $0.op == "evtchn.bind_interdomain" }
    #expect(bind?.expected.contains { $0.reason.hasPrefix("silo's rule") } == true)
    let unclassified = comparison.ops.first { $0.op == "domctl.set_broken_page_p2m" }
    #expect(unclassified?.unexpected.isEmpty == false)
  }

  @Test func identityReportsThePolicy() async throws {
    let id = try await defaultHost().identity
    #expect(id.module == .flask)
    #expect(id.policyVersion == 30)
    #expect(id.policyDigest?.count == 64)
    #expect(id.mls == false)
  }

  @Test func sha256MatchesAKnownVector() {
    #expect(sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  @Test func embeddedDefaultsMatchTheFiles() async throws {
    let system = try String(contentsOfFile: packageRoot + "/examples/systems/default.toml", encoding: .utf8)
    #expect(EmbeddedDefaults.systemText == system, "run `swift run xsmc docs`")
    #expect(try await TestPolicies.projectBinary() == EmbeddedDefaults.policyBinary, "run `swift run xsmc docs`")
  }
}

/// A copy of the project policy tree with `extraRules` appended to a module; returns the temp dir.
func permissivePolicyTree(extraRules: String) throws -> String {
  let dir = NSTemporaryDirectory() + "xsm-engine-" + UUID().uuidString
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  try FileManager.default.copyItem(atPath: packageRoot + "/policy", toPath: dir + "/policy")
  let module = dir + "/policy/modules/domU.te"
  let text = try String(contentsOfFile: module, encoding: .utf8)
  try (text + "\n" + extraRules).write(toFile: module, atomically: true, encoding: .utf8)
  return dir
}

