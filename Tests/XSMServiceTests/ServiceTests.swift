import Foundation
import Testing
import XSMCatalog
import XSMEngine
@testable import XSMService
import XSMProtocol
import XSMTestSupport

let servicePackageRoot = TestEnvironment.packageRoot

func defaultService(module: XSMModule = .flask, statePath: String? = nil) async throws
  -> FlaskService
{
  var (spec, _) = EmbeddedDefaults.system()
  spec!.module = module
  let (catalog, _) = EmbeddedCatalog.load()
  return try await FlaskService.start(system: spec!, catalog: catalog!, statePath: statePath)
}

/// The project policy with extra rules in a module, built.
func policyBinary(extraRules: String) async throws -> [UInt8] {
  let dir = NSTemporaryDirectory() + "xsm-service-" + UUID().uuidString
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: dir) }
  try FileManager.default.copyItem(atPath: servicePackageRoot + "/policy", toPath: dir + "/policy")
  let module = dir + "/policy/modules/domU.te"
  try (try String(contentsOfFile: module, encoding: .utf8) + "\n" + extraRules)
    .write(toFile: module, atomically: true, encoding: .utf8)
  return try await TestPolicies.compile(tree: dir + "/policy").binary
}

func expectError(_ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws(ServiceError) -> Void) async
{
  do {
    try await body()
    Issue.record("expected \(code)", sourceLocation: sourceLocation)
  } catch {
    #expect(error.status == status && error.code == code, "\(error)", sourceLocation: sourceLocation)
  }
}

@Suite("Service state and Xen's guards")
struct ServiceTests {
  /// flask_op commands × caller kinds under flask: dom0 holds every
  /// security permission, a guest none; unchecked commands answer anyone.
  @Test func guardsUnderFlask() async throws {
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    let guest = Caller("web")
    let sid = try await service.contextToSID(ContextRequestV1(context: "system_u:system_r:dom0_t"), caller: dom0).sid
    // Unchecked: getenforce, policyvers, mls, getbool, avc stats, get-peer-sid.
    for caller in [dom0, guest] {
      #expect(try service.getEnforce(caller: caller).enforcing)
      #expect(try service.policyVersion(caller: caller).version == 30)
      #expect(try service.mls(caller: caller).mls == false)
      #expect(try service.getBoolean(BooleanRefV1(name: "guest_writeconsole"), caller: caller).enforcing)
      _ = try service.avcHashStats(caller: caller)
      _ = try service.avcCacheStats(cpu: 0, caller: caller)
      #expect(try service.peerSID(PeerSIDRequestV1(port: 0), caller: guest).sid > 0)
    }
    // Checked: the guest is refused with -EACCES, dom0 is let through.
    let checked: [(String, (Caller) async throws(ServiceError) -> Void)] = [
      ("context-to-sid", { c async throws(ServiceError) in _ = try await service.contextToSID(ContextRequestV1(context: "system_u:system_r:domU_t"), caller: c) }),
      ("sid-to-context", { c async throws(ServiceError) in _ = try service.sidToContext(SIDRequestV1(sid: sid), caller: c) }),
      ("access", { c async throws(ServiceError) in _ = try service.access(AccessRequestV1(ssid: sid, tsid: sid, tclass: .name("domain")), caller: c) }),
      ("create", { c async throws(ServiceError) in _ = try await service.create(ComputeRequestV1(ssid: sid, tsid: sid, tclass: .name("domain")), caller: c) }),
      ("setbool", { c async throws(ServiceError) in _ = try await service.setBoolean(SetBooleanRequestV1(name: "guest_vpmu", value: false, commit: true), caller: c) }),
      ("commitbools", { c async throws(ServiceError) in _ = try await service.commitBooleans(caller: c) }),
      ("set-avc-threshold", { c async throws(ServiceError) in _ = try await service.setAVCThreshold(ThresholdRequestV1(threshold: 1024), caller: c) }),
      ("add-ocontext", { c async throws(ServiceError) in _ = try await service.addOcontext(OcontextRequestV1(kind: "pirq", sid: sid, low: 77), caller: c) }),
    ]
    for (name, run) in checked {
      await expectError(403, "guard.denied") { () async throws(ServiceError) in try await run(guest) }
      do { try await run(dom0) } catch { Issue.record("\(name) as dom0: \(error)") }
    }
    let policy = EmbeddedDefaults.policyBinary
    await #expect(throws: ServiceError.self) { _ = try await service.load(policy, caller: guest) }
    _ = try await service.load(policy, caller: dom0)
    // setenforce is checked only when the value changes: the guest may "set" the current value.
    await expectError(403, "guard.denied") { () async throws(ServiceError) in
      _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: guest)
    }
    #expect(try await service.setEnforce(SetEnforceRequestV1(enforcing: true), caller: guest).enforcing)
    #expect(try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: dom0).enforcing == false)
  }

  @Test(arguments: [XSMModule.dummy, .silo])
  func flaskOpIsNotImplementedUnder(_ module: XSMModule) async throws {
    let service = try await defaultService(module: module)
    await expectError(501, "module.no-flask-op") { () async throws(ServiceError) in _ = try service.getEnforce(caller: Caller("dom0")) }
    await expectError(501, "module.no-flask-op") { () async throws(ServiceError) in
      _ = try await service.setBoolean(SetBooleanRequestV1(name: "guest_vpmu", value: true, commit: true), caller: Caller("dom0"))
    }
    // Identity answers under every module.
    #expect(service.identity().module == ModuleV1(module))
    // Domain management follows dummy's rule: the control domain creates, a guest may not.
    let added = try await service.addDomain(AddDomainRequestV1(domid: 40, name: "new", context: "user_1:vm_r:domU_t"),
      caller: Caller("dom0"))
    #expect(added.domid == 40)
    await expectError(403, "guard.denied") { () async throws(ServiceError) in
      _ = try await service.addDomain(AddDomainRequestV1(domid: 41, name: "evil", context: "user_1:vm_r:domU_t"), caller: Caller("web"))
    }
  }

  @Test func badInputGetsFourHundreds() async throws {
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    await expectError(404, "domain.unknown") { () async throws(ServiceError) in _ = try service.getEnforce(caller: Caller("nobody")) }
    await expectError(422, "context.invalid") { () async throws(ServiceError) in
      _ = try await service.contextToSID(ContextRequestV1(context: "system_u:system_r:no_such_t"), caller: dom0)
    }
    await expectError(404, "flask.unknown-sid") { () async throws(ServiceError) in _ = try service.sidToContext(SIDRequestV1(sid: 99_999), caller: dom0) }
    await expectError(400, "flask.unknown-class") { () async throws(ServiceError) in
      _ = try service.access(AccessRequestV1(ssid: 1, tsid: 1, tclass: .name("domian")), caller: dom0)
    }
    await expectError(404, "boolean.unknown") { () async throws(ServiceError) in _ = try service.getBoolean(BooleanRefV1(name: "nope"), caller: dom0) }
    await expectError(404, "op.unknown") { () async throws(ServiceError) in _ = try service.can(CanRequestV1(op: "domctl.pasue", target: "web"), caller: dom0) }
    await expectError(409, "domain.exists") { () async throws(ServiceError) in
      _ = try await service.addDomain(AddDomainRequestV1(domid: 5, name: "dup", context: "user_1:vm_r:domU_t"), caller: dom0)
    }
    await expectError(400, "domain.bad-kind") { () async throws(ServiceError) in
      _ = try await service.addDomain(
        AddDomainRequestV1(domid: 44, name: "odd", context: "user_1:vm_r:domU_t", kind: "HVM"), caller: dom0)
    }
    await expectError(400, "ocontext.bad-range") { () async throws(ServiceError) in
      _ = try await service.addOcontext(OcontextRequestV1(kind: "ioport", sid: 1, low: 10, high: 5), caller: dom0)
    }
    // A failed load changes nothing.
    let before = service.gauges.sequence
    await #expect(throws: ServiceError.self) { _ = try await service.load([0x8c, 0xff, 0x7c, 0xf9, 1, 2, 3], caller: dom0) }
    #expect(service.gauges.sequence == before)
  }

  @Test func runtimeLabelsFollowXensRules() async throws {
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    let sid = try await service.contextToSID(ContextRequestV1(context: "system_u:object_r:nic_io_t"), caller: dom0).sid
    _ = try await service.addOcontext(OcontextRequestV1(kind: "ioport", sid: sid, low: 0x100, high: 0x1ff), caller: dom0)
    _ = try await service.addOcontext(OcontextRequestV1(kind: "ioport", sid: sid, low: 0x100, high: 0x1ff), caller: dom0)  // identical: ok
    await expectError(409, "ocontext.exists") { () async throws(ServiceError) in
      _ = try await service.addOcontext(OcontextRequestV1(kind: "ioport", sid: sid, low: 0x180, high: 0x2ff), caller: dom0)
    }
    await expectError(404, "ocontext.not-found") { () async throws(ServiceError) in
      _ = try await service.delOcontext(OcontextRequestV1(kind: "ioport", low: 0x100, high: 0x1fe), caller: dom0)
    }
    _ = try await service.delOcontext(OcontextRequestV1(kind: "ioport", low: 0x100, high: 0x1ff), caller: dom0)
    _ = try await service.deviceTreeLabel(DeviceTreeLabelRequestV1(sid: sid, path: "/soc/eth0"), caller: dom0)
    await expectError(409, "ocontext.exists") { () async throws(ServiceError) in
      _ = try await service.deviceTreeLabel(DeviceTreeLabelRequestV1(sid: sid, path: "/soc/eth0"), caller: dom0)
    }
    _ = try await service.deviceTreeLabel(DeviceTreeLabelRequestV1(sid: 0, path: "/soc/eth0"), caller: dom0)
  }

  @Test func relabelDomainChecksTransition() async throws {
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    let target = try await service.contextToSID(ContextRequestV1(context: "user_1:vm_r:domU_t"), caller: dom0).sid
    // The stub DM may not relabel its guest; dom0 may relabel only where the policy allows.
    await expectError(403, "guard.denied") { () async throws(ServiceError) in
      _ = try await service.relabelDomain(RelabelDomainRequestV1(domid: 5, sid: target), caller: Caller("web-dm"))
    }
    await expectError(404, "flask.unknown-sid") { () async throws(ServiceError) in
      _ = try await service.relabelDomain(RelabelDomainRequestV1(domid: 5, sid: 77_777), caller: dom0)
    }
    // The 403 carries the decision of `xsm.flask_op.relabel_domain`: every check
    // of the op, the new label's checks made against the label asked for.
    do {
      _ = try await service.relabelDomain(RelabelDomainRequestV1(domid: 5, sid: target), caller: Caller("web-dm"))
      Issue.record("the stub DM relabelled its guest")
    } catch {
      let trace = error.trace ?? []
      #expect(trace.contains { $0.text.hasPrefix("domain2:relabelfrom current -> old") }, "\(trace)")
      #expect(trace.contains {
        $0.text.hasPrefix("domain2:relabelto current -> new") && $0.object == "user_1:vm_r:domU_t"
      }, "\(trace)")
      #expect(trace.contains { $0.text.hasPrefix("domain:transition old -> new") && $0.object == "user_1:vm_r:domU_t" },
        "\(trace)")
    }
  }

  @Test func stateSurvivesARestart() async throws {
    let path = NSTemporaryDirectory() + "xsmd-state-" + UUID().uuidString + ".sqlite"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dom0 = Caller("dom0")
    let first = try await defaultService(statePath: path)
    _ = try await first.setBoolean(SetBooleanRequestV1(name: "guest_writeconsole", value: false, commit: true), caller: dom0)
    _ = try await first.setBoolean(SetBooleanRequestV1(name: "guest_vpmu", value: true, commit: false), caller: dom0)
    let sid = try await first.contextToSID(ContextRequestV1(context: "user_2:vm_r:domU_t_self"), caller: dom0).sid
    _ = try await first.addDomain(AddDomainRequestV1(domid: 42, name: "extra", context: "user_1:vm_r:domU_t"), caller: dom0)
    let hvm = try await first.addDomain(
      AddDomainRequestV1(domid: 43, name: "extra-hvm", context: "user_1:vm_r:domU_t", kind: "hvm"), caller: dom0)
    #expect(hvm.kind == "hvm")
    let domainsBefore = first.domains()
    #expect(Set(domainsBefore.map(\.kind)).isSuperset(of: ["pv", "hvm"]), "the default host has PV and HVM domains")
    // Ops Xen decides by whether the target is HVM (dm_op's and HVMOP's checks, paging_mode_translate).
    let kindOps = ["dm.set_pci_intx_level", "memory.add_to_physmap", "domctl.pause"]
    func answers(_ service: FlaskService) throws -> [String] {
      try domainsBefore.flatMap { d in
        try kindOps.map { op in "\(d.name) \(op): " + (try service.can(CanRequestV1(op: op, target: d.name), caller: dom0).verdict.rawValue) }
      }
    }
    let kindAnswers = try answers(first)
    _ = try await first.setEnforce(SetEnforceRequestV1(enforcing: false), caller: dom0)
    let answer = try first.can(CanRequestV1(op: "console.write", target: nil), caller: Caller("web")).verdict
    first.close()

    let second = try await defaultService(statePath: path)
    #expect(try second.getBoolean(BooleanRefV1(name: "guest_writeconsole"), caller: dom0).enforcing == false)
    let vpmu = try second.getBoolean(BooleanRefV1(name: "guest_vpmu"), caller: dom0)
    #expect(vpmu.pending == true && vpmu.enforcing == false, "pending values survive too")
    #expect(try second.sidToContext(SIDRequestV1(sid: sid), caller: dom0).context == "user_2:vm_r:domU_t_self")
    #expect(second.domains().contains { $0.domid == 42 && $0.name == "extra" })
    #expect(second.domains() == domainsBefore, "every domain as it was, its kind included")
    _ = try await second.setEnforce(SetEnforceRequestV1(enforcing: true), caller: dom0)
    #expect(try answers(second) == kindAnswers)
    _ = try await second.setEnforce(SetEnforceRequestV1(enforcing: false), caller: dom0)
    #expect(try second.getEnforce(caller: dom0).enforcing == false)
    #expect(try second.can(CanRequestV1(op: "console.write", target: nil), caller: Caller("web")).verdict == answer)
    #expect(first.core.store?.decisionCount() ?? 0 >= 1, "the decision log reached the state file")
  }

  /// The decision log read from the state file: filtered, paged, and still
  /// there (whole, buffered entries included) after a restart.
  @Test func decisionLogIsReadFromTheStateFile() async throws {
    let path = NSTemporaryDirectory() + "xsmd-log-" + UUID().uuidString + ".sqlite"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dom0 = Caller("dom0")
    let first = try await defaultService(statePath: path)
    for _ in 0..<300 { _ = try first.can(CanRequestV1(op: "domctl.pause", target: "web"), caller: dom0) }
    _ = try first.can(CanRequestV1(op: "domctl.pause", target: "db"), caller: Caller("web"))
    let denied = try first.decisions(DecisionQueryV1(verdict: .denied), caller: dom0).decisions
    #expect(denied.count == 1 && denied[0].caller == "dom5 (web)" && denied[0].target == "dom4 (db)")
    let page = try first.decisions(DecisionQueryV1(after: 0, limit: 1000, caller: "dom0", op: "domctl.pause"), caller: dom0)
    #expect(page.decisions.count == 300 && page.next == nil)
    first.close()

    let second = try await defaultService(statePath: path)
    let all = try second.decisions(DecisionQueryV1(limit: 1000), caller: dom0).decisions
    #expect(all.count == 301)
    #expect(all.map(\.id) == all.map(\.id).sorted() && Set(all.map(\.id)).count == 301)
    let later = try second.decisions(DecisionQueryV1(after: all[299].id), caller: dom0).decisions
    #expect(later.map(\.verdict) == [.denied])
    #expect(try second.decisions(DecisionQueryV1(since: all[0].time + 3600), caller: dom0).decisions.isEmpty)
  }

  /// Many queries while the policy is reloaded: no failure, and every answer
  /// is the old policy's or the new one's.
  @Test func reloadsAreAtomicForConcurrentQueries() async throws {
    let service = try await defaultService()
    let original = EmbeddedDefaults.policyBinary
    let widened = try await policyBinary(extraRules: "allow dm_dom_t domU_t_target:domain pause;\n")
    let query = CanRequestV1(caller: "web-dm", op: "domctl.pause", target: "web")
    let dom0 = Caller("dom0")
    let denied = try service.can(query, caller: dom0).verdict
    _ = try await service.load(widened, caller: dom0)
    let allowed = try service.can(query, caller: dom0).verdict
    #expect(denied == .denied && allowed == .allowed, "the two policies answer differently")

    // 20 reloads against 6 × 100 queries in the default suite, 200 against 6 × 400 with XSM_SLOW_TESTS=1.
    let reloads = TestEnvironment.count(20, slow: 200)
    let queries = TestEnvironment.count(100, slow: 400)
    try await withThrowingTaskGroup(of: Int.self) { group in
      for _ in 0..<6 {
        group.addTask {
          var n = 0
          for _ in 0..<queries {
            let v = try service.can(query, caller: dom0).verdict
            #expect(v == .allowed || v == .denied)
            let flask = try service.access(AccessRequestV1(ssid: 3, tsid: 3, tclass: .name("domain")), caller: dom0)
            #expect(flask.sequence > 0)
            n += 1
          }
          return n
        }
      }
      group.addTask {
        for i in 0..<reloads { _ = try await service.load(i % 2 == 0 ? original : widened, caller: dom0) }
        return 0
      }
      var total = 0
      for try await n in group { total += n }
      #expect(total == 6 * queries)
    }
  }
}
