import Foundation
import Testing
import Synchronization
import XSMCatalog
import XSMDiagnostics
import XSMTestSupport
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
@Suite("One labeller")
struct LabellerTests {
  /// Loading, adding a domain and the labeller itself agree on a device model's SIDs.
  @Test func loadAndResolveLabelAlike() async throws {
    let host = try await defaultHost()
    let server = try #require(host.server)
    let dm = try #require(host.domains.first { $0.targetDomid != nil })
    let target = try #require(host.domain(domid: dm.targetDomid!))
    let labels = server.labels(
      context: try #require(server.policy.context(dm.contextText)),
      targetContext: server.policy.context(target.contextText))
    #expect(labels.sid == dm.sid)
    #expect(labels.selfSID == dm.selfSID)
    #expect(labels.targetSID == dm.targetSID)
    let spec = DomainSpec(domid: 900, name: "dm-copy", context: dm.contextText, target: target.name)
    let resolved = try host.resolve(spec, among: host.domains).get()
    #expect(resolved.sid == dm.sid && resolved.selfSID == dm.selfSID && resolved.targetSID == dm.targetSID)
  }
}


@Suite("Device-model relations the policy refuses")
struct TargetRelationTests {
  /// xen/xsm/flask/hooks.c flask_set_target: a guest type cannot be made a
  /// device model (no domain2:make_priv_for on domU_t), so the loader warns
  /// at the `target` line; the default host's relations all pass.
  @Test func refusedRelationIsAWarningAtTheTarget() async throws {
    let text = """
      module = "flask"
      [[domain]]
      domid = 0
      name = "dom0"
      context = "system_u:system_r:dom0_t"
      flags = ["control"]
      [[domain]]
      domid = 1
      name = "guest"
      context = "user_1:vm_r:domU_t"
      [[domain]]
      domid = 2
      name = "helper"
      context = "user_1:vm_r:domU_t"
      target = "guest"
      """
    let (spec, specDiagnostics) = SystemFile.parse(text: text, file: "refused.toml")
    let parsed = try #require(spec, "\(specDiagnostics.map(\.message))")
    let (host, diagnostics) = await XenHost.load(parsed, catalog: sharedCatalog)
    #expect(host != nil, "a warning keeps the host")
    let warning = try #require(diagnostics.first { $0.id.rawValue == "system.target-refused" })
    #expect(warning.severity == .warning && warning.span?.line == 15)
    #expect(warning.message.contains("domain2:make_priv_for"))
    let (_, defaultDiagnostics) = await XenHost.load(
      SystemFile.load(path: packageRoot + "/examples/systems/default.toml").0!, catalog: sharedCatalog)
    #expect(defaultDiagnostics.isEmpty, "\(defaultDiagnostics.map(\.message))")
  }
}

/// The engine reads binary policies itself and builds sources only through
/// the provider the program hands in (xsmq and xsmd hand in the compiler).
@Suite("Policy provider")
struct PolicyProviderTests {
  /// The default system with its `policy` key pointing at `path`.
  private func system(naming path: String) throws -> SystemSpec {
    var (spec, diagnostics) = SystemFile.load(path: packageRoot + "/examples/systems/default.toml")
    try #require(spec != nil, "\(diagnostics.map(\.message))")
    spec!.policy = path
    return spec!
  }

  @Test func aBinaryFileLoadsWithoutACompiler() async throws {
    let directory = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try Data(EmbeddedDefaults.policyBinary).write(to: URL(fileURLWithPath: directory + "/xenpolicy-30"))
    let (host, diagnostics) = await XenHost.load(try system(naming: directory + "/xenpolicy-30"), catalog: sharedCatalog)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
    #expect(host?.policyDigest == sha256Hex(EmbeddedDefaults.policyBinary))
  }

  @Test func aSourceWithoutACompilerIsRefusedWhereTheSystemNamesIt() async throws {
    let directory = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try "class xen\n".write(toFile: directory + "/policy.conf", atomically: true, encoding: .utf8)
    var spec = try system(naming: directory + "/policy.conf")
    spec.spans["policy"] = SourceSpan(file: "default.toml", line: 51, column: 10)
    let (host, diagnostics) = await XenHost.load(spec, catalog: sharedCatalog)
    #expect(host == nil)
    let refusal = try #require(diagnostics.first { $0.id.rawValue == "system.policy-not-binary" })
    #expect(refusal.message.contains("policy.conf"))
    #expect(diagnostics.contains { $0.id.rawValue == "system.bad-policy" && $0.span?.line == 51 })
  }

  @Test func aSourceGoesToTheProviderThatCompiles() async throws {
    let directory = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let source = directory + "/policy.conf"
    try "class xen\n".write(toFile: source, atomically: true, encoding: .utf8)
    let asked = Mutex<[String]>([])
    let provider = PolicyProvider(compiling: { path, mls in
      asked.withLock { $0.append("\(path) mls=\(mls)") }
      return (EmbeddedDefaults.policyBinary, [])
    })
    let (host, diagnostics) = await XenHost.load(try system(naming: source), catalog: sharedCatalog, policies: provider)
    #expect(diagnostics.isEmpty, "\(diagnostics.map(\.message))")
    #expect(host != nil)
    #expect(asked.withLock { $0 } == ["\(source) mls=false"])
  }
}

/// A reading of a binary policy is shared by every host loaded from the same bytes.
@Suite("Policy readings")
struct PolicyReadingTests {
  @Test func theSameBytesShareOneReadingAndOtherBytesDoNot() async throws {
    let first = try await FlaskPolicy.reading(EmbeddedDefaults.policyBinary)
    let again = try await FlaskPolicy.reading(Array(EmbeddedDefaults.policyBinary))
    #expect(first === again)
    let mls = try await TestPolicies.project(mls: true).binary
    let other = try await FlaskPolicy.reading(mls)
    #expect(other !== first && other.isMLS && !first.isMLS)
  }

  @Test func aBadReadingIsNotKept() async throws {
    let truncated = Array(EmbeddedDefaults.policyBinary.prefix(100))
    for _ in 0..<2 {
      await #expect(throws: FlaskPolicyError.self) { _ = try await FlaskPolicy.reading(truncated) }
    }
  }
}
