import Foundation
import Testing
import XSMCatalog
@testable import XSMEngine

@Suite("Dummy vs flask on a reference host")
struct ReferenceComparisonTests {
  @Test func dummyVsFlaskOnTheProjectPolicy() async throws {
    let report = try await DummyVsFlaskReport.compare(
      catalog: sharedCatalog, host: ReferenceHost(), policyBinary: EmbeddedDefaults.policyBinary)
    func finding(_ op: String, _ scenario: Scenario) -> DummyVsFlaskReport.Finding? {
      report.findings.first { $0.op == op && $0.scenario == scenario.rawValue }
    }
    // Unclassified ops: dummy lets the control domain in, flask denies (handle_unknown deny).
    #expect(finding("domctl.set_broken_page_p2m", .controlOnGuest)?.dummyAllows == true)
    #expect(report.host.allowUnknown == false)
    // The project policy grants domain:setdebugging to no one on a guest (as Xen's default policy).
    #expect(finding("domctl.setdebugging", .controlOnGuest)?.flaskAllows == false)
    // A device model may reset its guest's event channels under dummy; the policy does not grant it.
    #expect(finding("evtchn.reset", .deviceModelOnTarget)?.dummyAllows == true)
    // grant:transfer is never granted (the control domain is PV; an HVM guest has no
    // GNTTABOP_transfer at all: xen/arch/x86/hvm/hypercall.c hvm_grant_table_op, -ENOSYS).
    #expect(finding("grant.transfer", .controlOnGuest)?.dummyAllows == true)
    #expect(finding("grant.transfer", .guestOnOtherGuest) == nil)
    // Console writes: the guest_writeconsole boolean makes flask wider than dummy.
    #expect(finding("console.write", .guestOnItself)?.flaskAllows == true)
    // Ops that agree are not reported: the control domain pausing a guest.
    #expect(finding("domctl.pausedomain", .controlOnGuest) == nil)
    #expect(report.opsCompared > 300)
    // Every finding names the rules of both sides.
    #expect(report.findings.allSatisfy { !$0.dummyRule.isEmpty && !$0.flaskReason.isEmpty })
  }

  /// The report is the engine's own answers: each finding is what
  /// `DecisionEngine.decide` says under dummy and flask on the reference host.
  @Test func findingsAreTheEnginesDecisions() async throws {
    let engine = try await DummyVsFlaskReport.referenceEngine(
      catalog: sharedCatalog, host: ReferenceHost(), policyBinary: EmbeddedDefaults.policyBinary)
    let report = DummyVsFlaskReport(catalog: sharedCatalog, host: ReferenceHost(), engine: engine)
    let guest = try #require(engine.host.domain(named: "guest"))
    let control = try #require(engine.host.domain(named: "control"))
    let op = try #require(sharedCatalog.op(named: "grant.transfer"))
    let dummy = engine.decide(caller: control, op: op, target: guest, module: .dummy)
    let flask = engine.decide(caller: control, op: op, target: guest, module: .flask)
    let finding = try #require(report.findings.first {
      $0.op == "grant.transfer" && $0.scenario == Scenario.controlOnGuest.rawValue
    })
    #expect(finding.dummyAllows == (dummy.verdict == .allowed))
    #expect(finding.flaskAllows == (flask.verdict == .allowed))
    // The device model serves the guest, with the target SID Xen derives.
    let dm = try #require(engine.host.domain(named: "device-model"))
    #expect(dm.targetDomid == guest.domid)
    #expect(dm.targetSID != nil)
  }

  /// Flask's denials of ops it has no case for say so.
  @Test func unclassifiedOpsAreDeniedAsUnknown() async throws {
    let report = try await DummyVsFlaskReport.compare(
      catalog: sharedCatalog, host: ReferenceHost(), policyBinary: EmbeddedDefaults.policyBinary)
    let unclassified = Set(sharedCatalog.legacyOps.filter { $0.flask == .unclassified }.map(\.name))
    let denials = report.findings.filter { !$0.flaskAllows && unclassified.contains($0.op) }
    #expect(!denials.isEmpty)
    #expect(denials.allSatisfy { $0.flaskReason.contains("avc_unknown_permission") })
  }

  @Test func anUnknownTypeIsNamedWithASuggestion() async throws {
    do {
      _ = try await DummyVsFlaskReport.compare(catalog: sharedCatalog,
        host: ReferenceHost(guest: "guest_t"), policyBinary: EmbeddedDefaults.policyBinary)
      Issue.record("a host with an unknown type compared")
    } catch {
      guard case .unknownType("guest_t", _) = error else {
        Issue.record("unexpected error \(error)")
        return
      }
    }
  }
}
