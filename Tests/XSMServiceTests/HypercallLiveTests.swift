import Foundation
import Testing
import XSMProtocol
import XSMService
import XSMTestSupport

/// The C client of Tests/Fixtures/hypercall_client.c, built by gcc from the
/// generated bindings/c/xsm_abi.h alone, against a live xsmd on its Unix
/// socket whose peer uid is mapped to dom0 (authenticated, no header).
@Suite(
  "Live binary hypercall endpoint", .serialized,
  .enabled(if: LiveBinaries.ready && TestEnvironment.shouldRun(needing: "gcc"), "xsmd or gcc is missing"))
struct HypercallLiveTests {
  @Test func cClientEndToEnd() async throws {
    let scratch = try LiveScratch()
    let root = LiveBinaries.packageRoot
    let client = scratch.file("hypercall_client")
    let gcc = try TestEnvironment.run(
      "/usr/bin/env",
      ["gcc", "-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", root + "/bindings/c", "-o", client,
        root + "/Tests/Fixtures/hypercall_client.c"])
    try #require(gcc.status == 0, "gcc rejects the client:\n\(gcc.err)")

    // The project's compiled policy, as the other live tests load it.
    let policy = scratch.file("xenpolicy")
    let binary = try await TestPolicies.compile(tree: root + "/policy").binary
    try Data(binary).write(to: URL(fileURLWithPath: policy))

    let socket = scratch.file("xsmd.sock")
    let daemon = try await AuthDaemon(
      ["--socket", socket, "--system", try hostWithCallers("\(getuid()) = \"dom0\"", scratch: scratch)],
      scratch: scratch)
    defer { daemon.stop() }
    let run = try TestEnvironment.run(client, [socket, policy])
    #expect(run.status == 0, "the C client failed:\n\(run.out)\n\(run.err)")
    #expect(!run.out.contains("FAILED"), "\(run.out)")
    #expect(run.out.contains("flask.load: \(binary.count) bytes, ret 0"), "\(run.out)")

    // The access vector is the one the JSON route computes on the same policy.
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    let sid = try await service.contextToSID(ContextRequestV1(context: "system_u:system_r:dom0_t"), caller: dom0).sid
    let json = try service.access(AccessRequestV1(ssid: sid, tsid: sid, tclass: .name("domain")), caller: dom0)
    let hex = String(json.allowed, radix: 16)
    #expect(run.out.contains("flask.access: allowed 0x" + String(repeating: "0", count: 8 - hex.count) + hex),
      "\(run.out)")
  }
}
