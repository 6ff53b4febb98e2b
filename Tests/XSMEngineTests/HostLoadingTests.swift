import Foundation
import Testing
import XSMCatalog
@testable import XSMEngine

@Suite("Identity sequence")
struct IdentitySequenceTests {
  /// Booleans written at their defaults do not move the sequence number;
  /// changed ones are committed once, however many there are.
  @Test func sequenceDoesNotCountBooleansAtTheirDefaults() async throws {
    var (spec, diagnostics) = SystemFile.load(path: packageRoot + "/examples/systems/default.toml")
    try #require(spec != nil, "\(diagnostics.map(\.message))")
    func sequence(_ booleans: [String: Bool]) async throws -> UInt64? {
      spec!.booleans = booleans
      let (host, hostDiagnostics) = await XenHost.load(spec!, catalog: sharedCatalog)
      return try #require(host, "\(hostDiagnostics.map(\.message))").identity.sequence
    }
    let none = try await sequence([:])
    let defaults = try await sequence([
      "guest_writeconsole": true, "prot_doms_locked": false, "policy_frozen": false, "dom0_live_update": true,
      "guest_vpmu": false,
    ])
    #expect(none == defaults)
    let oneChange = try await sequence(["guest_vpmu": true])
    let twoChanges = try await sequence(["guest_vpmu": true, "guest_writeconsole": false])
    #expect(oneChange == twoChanges)
    #expect(oneChange != none)
  }
}
