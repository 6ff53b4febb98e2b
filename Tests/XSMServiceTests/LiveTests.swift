import Foundation
import Testing
import XSMAudit
import XSMEngine
import XSMService
import XSMProtocol
import XSMTestSupport

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

// The built xsmd and xsmq talking over loopback: xsmq answers the same with
// --server as on its own, flask_op commands are guarded as Xen guards them,
// state survives a restart, and a policy reloaded under load is seen whole.

/// The built executables next to the test bundle.
enum LiveBinaries {
  static let xsmd = TestEnvironment.executable("xsmd")
  static let xsmq = TestEnvironment.executable("xsmq")
  static let ready = xsmd != nil && xsmq != nil
  static let packageRoot = TestEnvironment.packageRoot
}

/// A temporary directory removed with the value.
final class LiveScratch: Sendable {
  let path = NSTemporaryDirectory() + "xsmd-live-" + UUID().uuidString
  init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  func file(_ name: String) -> String { path + "/" + name }
}

/// One HTTP exchange.
private struct LiveResponse: Sendable {
  var status: Int
  var body: Data
  var text: String { String(decoding: body, as: UTF8.self) }
}

private enum LiveHTTP {
  static let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 60
    configuration.httpMaximumConnectionsPerHost = 16
    return URLSession(configuration: configuration)
  }()

  static func request(_ method: String, _ url: String, caller: String? = "dom0", json: String? = nil,
    binary: Data? = nil, session: URLSession = session) async throws -> LiveResponse
  {
    var request = URLRequest(url: try #require(URL(string: url)))
    request.httpMethod = method
    if let caller { request.setValue(caller, forHTTPHeaderField: "Xen-Caller") }
    if let json {
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
      request.httpBody = Data(json.utf8)
    } else if let binary {
      request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
      request.httpBody = binary
    }
    let (data, response) = try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<(Data, URLResponse), any Error>) in
      session.dataTask(with: request) { data, response, error in
        if let error {
          continuation.resume(throwing: error)
        } else if let response {
          continuation.resume(returning: (data ?? Data(), response))
        } else {
          continuation.resume(throwing: URLError(.badServerResponse))
        }
      }.resume()
    }
    return LiveResponse(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
  }

  static func decode<T: Decodable>(_ type: T.Type, _ response: LiveResponse) throws -> T {
    try WireJSON.makeDecoder().decode(T.self, from: response.body)
  }
}

/// A running xsmd on a loopback port with its own state file.
private final class LiveDaemon: @unchecked Sendable {
  let process: Process
  let url: String
  let log: String

  private init(process: Process, url: String, log: String) {
    self.process = process
    self.url = url
    self.log = log
  }

  var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

  /// Starts xsmd on port 0 (the port it reports), or on random high ports when it cannot report one.
  static func start(state: String, scratch: LiveScratch, arguments extra: [String] = []) async throws -> LiveDaemon {
    let xsmd = try #require(LiveBinaries.xsmd)
    var lastLog = ""
    // Fallback ports differ between test processes (seeded by the pid), so two runs do not collide.
    var ports = TestEnvironment.random(seed: UInt64(ProcessInfo.processInfo.processIdentifier))
    for attempt in 0..<6 {
      let port = attempt == 0 ? 0 : Int.random(in: 20_000...60_000, using: &ports)
      // These tests are about answers, not authentication (AuthTests): the header names the caller.
      let (process, log) = try launchXSMD(
        xsmd, ["--port", "\(port)", "--state", state, "--trust-caller-header"] + extra, scratch: scratch)
      // Two minutes, and one last look after them: under a loaded machine this task may not run for a long while.
      let deadline = ContinuousClock.now + .seconds(120)
      var url: String? = port == 0 ? nil : "http://127.0.0.1:\(port)"
      var lastLook = false
      while !lastLook && process.isRunning {
        lastLook = ContinuousClock.now >= deadline
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        if url == nil, let found = reportedURL(text) { url = found }
        if let url, let r = try? await LiveHTTP.request("GET", url + "/readyz", caller: nil), r.status == 200,
          process.isRunning
        {
          return LiveDaemon(process: process, url: url, log: log)
        }
        try await Task.sleep(for: .milliseconds(100))
      }
      lastLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        Issue.record("xsmd did not become ready within two minutes: \(lastLog)")
        throw CancellationError()
      }
    }
    Issue.record("xsmd would not start: \(lastLog)")
    throw CancellationError()
  }

  /// The first `http://HOST:PORT` xsmd printed, with a port other than 0.
  static func reportedURL(_ text: String) -> String? {
    guard let range = text.range(of: #"http://[0-9A-Za-z.\[\]:]+:[1-9][0-9]*"#, options: .regularExpression) else {
      return nil
    }
    return String(text[range])
  }

  /// SIGTERM, then wait (SIGKILL after ten seconds).
  func stop() async {
    guard process.isRunning else { return }
    process.terminate()
    let deadline = ContinuousClock.now + .seconds(10)
    while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// Starts xsmd with `arguments`, its output going to a new log file in `scratch`.
private func launchXSMD(_ xsmd: String, _ arguments: [String], scratch: LiveScratch) throws -> (Process, String) {
  let log = scratch.file("xsmd-\(UUID().uuidString).log")
  _ = FileManager.default.createFile(atPath: log, contents: nil)
  let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
  let process = Process()
  process.executableURL = URL(fileURLWithPath: xsmd)
  process.arguments = arguments
  process.standardOutput = handle
  process.standardError = handle
  process.standardInput = FileHandle.nullDevice
  try process.run()
  try? handle.close()
  return (process, log)
}

/// Runs the built xsmq.
@discardableResult
private func liveXSMQ(_ arguments: [String]) throws
  -> (status: Int32, out: String, err: String)
{
  try TestEnvironment.run(try #require(LiveBinaries.xsmq), arguments, in: NSTemporaryDirectory())
}

/// The project policy, with `extra` appended to a module, built.
private func livePolicy(extra: String, scratch: LiveScratch) async throws -> [UInt8] {
  let dir = scratch.file("policy-" + UUID().uuidString)
  try FileManager.default.copyItem(atPath: LiveBinaries.packageRoot + "/policy", toPath: dir)
  let module = dir + "/modules/stubdm.te"
  try (try String(contentsOfFile: module, encoding: .utf8) + "\n" + extra + "\n")
    .write(toFile: module, atomically: true, encoding: .utf8)
  return try await TestPolicies.compile(tree: dir).binary
}

@Suite(
  "Live", .serialized,
  .enabled(if: LiveBinaries.ready, "xsmd or xsmq is not built next to the tests (swift build builds both)"))
struct LiveTests {
  /// `xsmq can` prints and exits the same with --server as on its own, for
  /// every option it has: --module, --all-modules, --why, --json, --arg,
  /// --object, --situation and each device option (errors: the same exit status).
  @Test func canAnswersAsLocally() async throws {
    let scratch = try LiveScratch()
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch)
    defer { Task { await daemon.stop() } }
    let questions: [[String]] = [
      ["can", "dom3", "domctl.pause", "dom5"],
      ["can", "dom0", "domctl.pause", "dom5"],
      ["can", "dom0", "domctl.pause", "dom0", "--why"],
      ["can", "web-dm", "dm.set_pci_intx_level", "web", "--all-modules", "--why"],
      ["can", "dom4", "evtchn.bind_interdomain", "dom5", "--all-modules", "--json"],
      ["can", "dom3", "domctl.pause", "dom5", "--module", "dummy", "--json"],
      ["can", "dom0", "domctl.getdomaininfo"],
      ["can", "db", "evtchn.status", "web", "--arg", "remote=dom0", "--why"],
      ["can", "dom0", "domctl.set_target", "web-dm", "--object", "web"],
      ["can", "dom0", "domctl.set_target", "web-dm", "--object", "db", "--why", "--json"],
      ["can", "web", "grant.map_grant_ref", "dom0", "--situation", "readonly", "--json"],
      ["can", "web", "domctl.assign_device", "web", "--pci", "00:02.0", "--situation", "pci", "--why"],
      ["can", "dom0", "domctl.assign_device", "web", "--dt", "/soc/uart", "--all-modules"],
      ["can", "dom0", "domctl.iomem_permission", "web", "--iomem", "0xfee00", "--situation", "revoke", "--why"],
      ["can", "dom0", "domctl.ioport_permission", "web", "--ioport", "0x3f8", "--json"],
      ["can", "web", "physdev.map_pirq", "--irq", "3", "--why"],
      ["can", "web", "domctl.bind_pt_irq", "web", "--irq", "5", "--situation", "arm", "--module", "silo"],
      ["can", "web", "domctl.bind_pt_irq", "web", "--irq", "5", "--all-modules", "--json"],
    ]
    for question in questions {
      let local = try liveXSMQ(question)
      let served = try liveXSMQ(question + ["--server", daemon.url])
      #expect(served.status == local.status, "\(question): \(served.err)")
      // The same answer; only the host line (and JSON's `host`) says who answered.
      #expect(CommandGolden.withoutHost(served.out) == CommandGolden.withoutHost(local.out), "\(question)")
    }
    // Questions that do not fit the op: a usage error (exit 2) either way, naming the option.
    for question in [
      ["can", "dom0", "domctl.pause", "dom5", "--irq", "3"], ["can", "dom0", "domctl.pause", "dom5", "--object", "web"],
      ["can", "dom0", "domctl.iomem_permission", "web", "--iomem", "lots"],
    ] {
      let local = try liveXSMQ(question)
      let served = try liveXSMQ(question + ["--server", daemon.url])
      #expect(local.status == 2 && served.status == 2, "\(question): \(local.err) / \(served.err)")
      let option = question[4].dropFirst(2)
      #expect(served.err.contains(option) && local.err.contains(option), "\(served.err)")
    }
    let denied = try liveXSMQ(["can", "dom3", "domctl.pause", "dom5", "--server", daemon.url])
    #expect(denied.status == 1)
    #expect(denied.out == """
      dom3 (web-dm) domctl.pausedomain dom5 (web): denied (-EACCES) under flask
      host: default (xsmd at \(daemon.url)), module flask

      """, "\(denied.out)")
    let allowed = try liveXSMQ(["can", "dom0", "domctl.pause", "dom5", "--server", daemon.url])
    #expect(allowed.status == 0)

    // Errors: an unknown op is a usage error either way; an unreachable server is exit 2.
    let typo = try liveXSMQ(["can", "dom0", "domctl.pasue", "dom5", "--server", daemon.url])
    #expect(typo.status == 2)
    #expect(typo.err.contains("did you mean `domctl.pause`?"), "\(typo.err)")
    await daemon.stop()
    let gone = try liveXSMQ(["can", "dom0", "domctl.pause", "dom5", "--server", daemon.url])
    #expect(gone.status == 2)
    #expect(gone.err.contains("xsmq: error: cannot reach xsmd at \(daemon.url)"), "\(gone.err)")
  }

  /// `xsmq explain` prints the same bytes (and exits the same) through xsmd as
  /// on a local host with the same system: on the embedded host, and on a host
  /// whose policy is the project's tree (macro calls and neverallow checks);
  /// after a policy is loaded into xsmd at run time, those are unavailable.
  @Test func explainAnswersAsLocally() async throws {
    let scratch = try LiveScratch()
    let log = LiveBinaries.packageRoot + "/examples/logs/xl-dmesg.log"
    let malformed = scratch.file("malformed.log")
    try "(XEN) avc:  denied  { pause } for source=dX scontext=a:b:c tcontext=a:b:c tclass=domain\nnoise\n"
      .write(toFile: malformed, atomically: true, encoding: .utf8)
    try FileManager.default.copyItem(atPath: LiveBinaries.packageRoot + "/policy", toPath: scratch.file("policy"))
    let system = try String(contentsOfFile: LiveBinaries.packageRoot + "/examples/systems/default.toml", encoding: .utf8)
      .replacingOccurrences(of: "policy = \"embedded\"", with: "policy = \"policy\"")
    try system.write(toFile: scratch.file("host.toml"), atomically: true, encoding: .utf8)

    for hostArguments in [[], ["--system", scratch.file("host.toml")]] {
      let daemon = try await LiveDaemon.start(state: scratch.file("state-\(hostArguments.count).sqlite"), scratch: scratch,
        arguments: hostArguments)
      defer { Task { await daemon.stop() } }
      for question in [["explain", log], ["explain", log, "--json"], ["explain", malformed, log]] {
        let local = try liveXSMQ(question + hostArguments)
        let served = try liveXSMQ(question + ["--server", daemon.url])
        #expect(served.status == local.status, "\(question): \(served.err)")
        #expect(CommandGolden.withoutHost(served.out) == CommandGolden.withoutHost(local.out), "\(question) \(hostArguments)")
        #expect(served.err == local.err, "\(question) \(hostArguments)")
        #expect(!served.out.isEmpty)
      }
      let served = try liveXSMQ(["explain", malformed, "--server", daemon.url])
      #expect(served.status == 1)
      #expect(served.err.contains("\(malformed):1: warning: not an avc line Xen prints"), "\(served.err)")
      let text = try liveXSMQ(["explain", log, "--server", daemon.url]).out
      if hostArguments.isEmpty {
        #expect(text.contains("macro calls: unavailable: the host's policy is the embedded binary, not a policy tree"))
      } else {
        // The tree's own macro that grants domain:pause (policy/support/toolstack.spt).
        #expect(text.contains("(the tree's macro at "), "\(text)")
        #expect(!text.contains("macro calls: unavailable"))
        #expect(text.contains("check   passes: no neverallow of `policy` forbids it"), "\(text)")
      }
      await daemon.stop()
    }

    // A policy loaded at run time is not the system's tree: no macro calls, no neverallow check.
    let daemon = try await LiveDaemon.start(state: scratch.file("state-loaded.sqlite"), scratch: scratch,
      arguments: ["--system", scratch.file("host.toml")])
    defer { Task { await daemon.stop() } }
    let load = try await LiveHTTP.request("POST", daemon.url + "/v1/flask/load",
      binary: Data(try await livePolicy(extra: "", scratch: scratch)))
    #expect(load.status == 200, "\(load.text)")
    let loaded = try liveXSMQ(["explain", log, "--server", daemon.url])
    #expect(loaded.status == 0, "\(loaded.err)")
    #expect(loaded.out.contains("macro calls: unavailable: the policy in force is a policy loaded at run time (FLASK_LOAD), not the system's policy tree"), "\(loaded.out)")
    #expect(loaded.out.contains("check   not checked (the policy in force is a policy loaded at run time (FLASK_LOAD)"))

    // The route's limits and access rule: lines, then the caller, as every read-only route.
    let tooLong = try await LiveHTTP.request("POST", daemon.url + "/v1/explain",
      json: #"{"inputs": [{"name": "big", "text": ""# + String(repeating: "\\n", count: ExplainRequestV1.maximumLines) + #""}]}"#)
    #expect(tooLong.status == 413, "\(tooLong.text)")
    #expect(tooLong.text.contains("explain.too-large"))
    let nobody = try await LiveHTTP.request("POST", daemon.url + "/v1/explain", caller: "dom99", json: #"{"inputs": []}"#)
    #expect(nobody.status == 404, "\(nobody.text)")
    let anonymous = try await LiveHTTP.request("POST", daemon.url + "/v1/explain", caller: nil, json: #"{"inputs": []}"#)
    #expect(anonymous.status == 400, "\(anonymous.text)")
    let unknownField = try await LiveHTTP.request("POST", daemon.url + "/v1/explain", json: #"{"lines": []}"#)
    #expect(unknownField.status == 400, "\(unknownField.text)")
    let question = try liveXSMQ(["explain", "--caller", "dom3", "--op", "domctl.pause", "--target", "dom5", "--server", daemon.url])
    #expect(question.status == 2)
    #expect(question.err.contains("--caller/--op explains on a local host"), "\(question.err)")
  }

  /// `xsmd --avc-log FILE` writes each denial /v1/can decides as Xen's avc
  /// line; `xsmq explain` reads the file as it reads Xen's log.
  @Test func denialsAreWrittenAsXensAVCLines() async throws {
    let scratch = try LiveScratch()
    let avcLog = scratch.file("avc.log")
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch,
      arguments: ["--avc-log", avcLog])
    defer { Task { await daemon.stop() } }
    let questions: [[String]] = [
      ["can", "web", "domctl.pause", "db"],
      ["can", "dom0", "domctl.pause", "web"],
      ["can", "web", "physdev.map_pirq", "--irq", "3"],
      ["can", "dom0", "domctl.assign_device", "web", "--dt", "/soc/uart"],
      ["can", "web", "domctl.assign_device", "web", "--pci", "00:02.0", "--situation", "pci", "--why"],
    ]
    for question in questions { try liveXSMQ(question + ["--server", daemon.url]) }
    await daemon.stop()
    let text = try String(contentsOfFile: avcLog, encoding: .utf8)
    var log = AVCLog()
    log.read(text, input: avcLog)
    #expect(log.malformed.isEmpty, "\(log.malformed)")
    #expect(log.entries.count >= 4, "\(text)")
    #expect(log.entries.allSatisfy { $0.record.verdict == .denied })
    // domain_has_perm's audit data: both domains; avc_current_has_perm's: the caller and the device.
    #expect(text.contains("avc:  denied  { pause } for source=d5 target=d4 scontext="),
      "\(text)")
    #expect(log.entries.contains { $0.record.current?.text == "d0" && $0.record.details.first?.name == "dtdevice" },
      "\(text)")
    #expect(!text.contains("{ pause } for source=d0"), "the allowed question wrote nothing")

    let explained = try liveXSMQ(["explain", avcLog])
    #expect(explained.err.isEmpty || !explained.err.contains("not an avc line"), "\(explained.err)")
    #expect(explained.out.contains("domctl.pause"), "\(explained.out)")
  }

  @Test func identityAndMatrixComeFromTheServer() async throws {
    let scratch = try LiveScratch()
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch)
    defer { Task { await daemon.stop() } }
    let served = try liveXSMQ(["identity", "--server", daemon.url])
    #expect(served.status == 0, "\(served.err)")
    #expect(served.out.contains("module    flask"))
    #expect(served.out.contains("enforcing yes"))
    let local = try liveXSMQ(["identity", "--json"])
    let remote = try liveXSMQ(["identity", "--json", "--server", daemon.url])
    let decoder = WireJSON.makeDecoder()
    let a = try decoder.decode(IdentityV1.self, from: Data(local.out.utf8))
    let b = try decoder.decode(IdentityV1.self, from: Data(remote.out.utf8))
    #expect(a.module == b.module && a.policyDigest == b.policyDigest && a.booleans == b.booleans)

    let matrixArguments = ["matrix", "--family", "evtchn", "--format", "csv"]
    let localMatrix = try liveXSMQ(matrixArguments)
    let servedMatrix = try liveXSMQ(matrixArguments + ["--server", daemon.url])
    #expect(servedMatrix.status == 0, "\(servedMatrix.err)")
    #expect(servedMatrix.out == localMatrix.out)
  }

  @Test func flaskOpsAreGuardedLikeXen() async throws {
    let scratch = try LiveScratch()
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch)
    defer { Task { await daemon.stop() } }
    func flask(_ arguments: [String], as caller: String = "dom0") throws -> (status: Int32, out: String, err: String) {
      try liveXSMQ(["flask"] + arguments + ["--server", daemon.url, "--as", caller])
    }

    // Without a server: a clear refusal.
    let noServer = try liveXSMQ(["flask", "getenforce"])
    #expect(noServer.status == 2)
    #expect(noServer.err.contains("flask_op commands change state and need xsmd"))

    // getenforce / setenforce.
    #expect(try flask(["getenforce"]).out == "Enforcing\n")
    #expect(try flask(["getenforce"], as: "web").out == "Enforcing\n", "getenforce is unchecked")
    let guest = try flask(["setenforce", "0"], as: "web")
    #expect(guest.status == 1, "a guest may not switch to permissive")
    #expect(guest.err.contains("guard.denied") && guest.err.contains("-EACCES"), "\(guest.err)")
    #expect(guest.err.contains("  flask: security:setenforce current -> security_t"), "the refusing check: \(guest.err)")
    #expect(try flask(["setenforce", "1"], as: "web").status == 0, "no change, no check")
    let permissive = try flask(["setenforce", "0"])
    #expect(permissive.status == 0, "\(permissive.err)")
    #expect(permissive.out == "Permissive\n")
    #expect(try flask(["getenforce"]).out == "Permissive\n")
    // Permissive means the guard's denials are not enforced: even a guest may switch back.
    #expect(try flask(["setenforce", "1"], as: "web").status == 0)
    #expect(try flask(["getenforce", "--json"]).out.contains("\"enforcing\" : true"))

    // Booleans: pending until committed.
    #expect(try flask(["getbool", "guest_vpmu"]).out == "guest_vpmu: 0\n")
    let pending = try flask(["setbool", "guest_vpmu", "1", "--no-commit"])
    #expect(pending.status == 0, "\(pending.err)")
    #expect(pending.out == "guest_vpmu: 0 (pending 1)\n")
    #expect(try flask(["setbool", "guest_vpmu", "0"], as: "web").status == 1)
    #expect(try flask(["commitbools"], as: "web").status == 1)
    #expect(try flask(["commitbools"]).status == 0)
    #expect(try flask(["getbool", "guest_vpmu"], as: "web").out == "guest_vpmu: 1\n")
    #expect(try flask(["setbool", "guest_vpmu", "off"]).out == "guest_vpmu: 0\n")
    #expect(try flask(["getbool", "nosuchbool"]).status == 2)

    // SIDs and contexts, both ways.
    let sid = try flask(["context-to-sid", "user_1:vm_r:domU_t"])
    #expect(sid.status == 0, "\(sid.err)")
    let number = try #require(UInt32(sid.out.trimmingCharacters(in: .whitespacesAndNewlines)))
    #expect(try flask(["sid-to-context", "\(number)"]).out == "user_1:vm_r:domU_t\n")
    #expect(try flask(["context-to-sid", "user_1:vm_r:domU_t"], as: "web").status == 1)
    let access = try flask(["access", "system_u:system_r:dom0_t", "\(number)", "domain", "pause", "unpause"])
    #expect(access.status == 0, "\(access.out)\(access.err)")
    let refused = try flask(["access", "user_1:vm_r:dm_dom_t", "\(number)", "domain", "pause"])
    #expect(refused.status == 1, "\(refused.out)")
    #expect(try flask(["policyvers"]).out == "30\n")
    #expect(try flask(["mls"]).out == "MLS disabled\n")

    // Loading a policy: dom0 may, a guest may not.
    let file = scratch.file("policy.bin")
    try Data(EmbeddedDefaults.policyBinary).write(to: URL(fileURLWithPath: file))
    let load = try flask(["load", file])
    #expect(load.status == 0, "\(load.err)")
    let guestLoad = try flask(["load", file], as: "web")
    #expect(guestLoad.status == 1)
    #expect(guestLoad.err.contains("load_policy"), "\(guestLoad.err)")
    #expect(try flask(["load", scratch.file("missing.bin")]).status == 2)
  }

  /// Booleans, SIDs and domains survive SIGTERM and a restart on the same state file.
  @Test func stateSurvivesARestart() async throws {
    let scratch = try LiveScratch()
    let state = scratch.file("state.sqlite")
    var daemon = try await LiveDaemon.start(state: state, scratch: scratch)
    let first = daemon
    defer { Task { await first.stop() } }
    func flask(_ arguments: [String]) throws -> String {
      let r = try liveXSMQ(["flask"] + arguments + ["--server", daemon.url])
      #expect(r.status == 0, "\(arguments): \(r.err)")
      return r.out
    }
    _ = try flask(["setbool", "guest_vpmu", "1"])
    _ = try flask(["setbool", "guest_writeconsole", "0", "--no-commit"])
    let sid = try flask(["context-to-sid", "system_u:object_r:nic_io_t"])
    let added = try await LiveHTTP.request(
      "POST", daemon.url + "/v1/domains",
      json: #"{"domid": 42, "name": "extra", "context": "user_1:vm_r:domU_t"}"#)
    #expect(added.status == 200 || added.status == 201, "\(added.text)")
    _ = try flask(["setenforce", "0"])

    func answers() async throws -> [String] {
      let domains = try await LiveHTTP.request("GET", daemon.url + "/v1/domains", caller: nil)
      let records = try LiveHTTP.decode([DomainRecordV1].self, domains)
      return [
        try flask(["getbool", "guest_vpmu"]), try flask(["getbool", "guest_writeconsole"]),
        try flask(["context-to-sid", "system_u:object_r:nic_io_t"]), try flask(["getenforce"]),
        // Without the host line and field: they name the server's URL, and the restarted xsmd has another port.
        CommandGolden.withoutHost(try liveXSMQ(["can", "dom0", "domctl.pause", "extra", "--server", daemon.url]).out),
        CommandGolden.withoutHost(
          try liveXSMQ(["can", "dom5", "domctl.pause", "extra", "--server", daemon.url, "--json"]).out),
        records.map { "\($0.domid) \($0.name) \($0.context) \($0.sid.map(String.init) ?? "-")" }.joined(separator: "\n"),
      ]
    }
    let before = try await answers()
    #expect(before[0] == "guest_vpmu: 1\n")
    #expect(before[1] == "guest_writeconsole: 1 (pending 0)\n")
    #expect(before[2] == sid)
    #expect(before[4] == "dom0 domctl.pausedomain dom42 (extra): allowed (permissive) under flask\n"
      || before[4] == "dom0 domctl.pausedomain dom42 (extra): allowed under flask\n", "\(before[4])")
    #expect(before[6].contains("42 extra user_1:vm_r:domU_t"))

    await daemon.stop()
    #expect(!daemon.process.isRunning)
    daemon = try await LiveDaemon.start(state: state, scratch: scratch)
    let second = daemon
    defer { Task { await second.stop() } }
    let after = try await answers()
    #expect(after == before, "xsmd:\n\(daemon.logText)")
  }

  /// Eight clients ask while a ninth reloads two policies 200 times: no
  /// request fails and every answer is wholly the old or the new policy's.
  @Test func reloadUnderLoadIsAtomic() async throws {
    let scratch = try LiveScratch()
    let old = try await livePolicy(extra: "", scratch: scratch)
    let new = try await livePolicy(extra: "allow dm_dom_t domU_t_target:domain pause;", scratch: scratch)
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch)
    defer { Task { await daemon.stop() } }
    let url = daemon.url

    let question = #"{"caller": "dom3", "op": "domctl.pause", "target": "dom5"}"#
    let control = #"{"caller": "dom0", "op": "domctl.pause", "target": "dom5"}"#
    let decisions = { (body: String) async throws -> [DecisionV1] in
      let r = try await LiveHTTP.request("POST", url + "/v1/can", json: body)
      #expect(r.status == 200, "\(r.text)")
      let reply = try LiveHTTP.decode(CanReplyV1.self, r)
      return reply.decisions
    }
    let loadOld = try await LiveHTTP.request("POST", url + "/v1/flask/load", binary: Data(old))
    #expect(loadOld.status == 200, "\(loadOld.text)")
    let oldAnswer = try await decisions(question)
    let loadNew = try await LiveHTTP.request("POST", url + "/v1/flask/load", binary: Data(new))
    #expect(loadNew.status == 200, "\(loadNew.text)")
    let newAnswer = try await decisions(question)
    let controlAnswer = try await decisions(control)
    #expect(oldAnswer.first?.verdict == .denied)
    #expect(newAnswer.first?.verdict == .allowed)
    #expect(oldAnswer != newAnswer)

    struct Tally: Sendable {
      var requests = 0
      var failures: [String] = []
      var old = 0
      var new = 0
    }
    let done = LiveFlag()
    // 20 reloads under load in the default suite, 200 with XSM_SLOW_TESTS=1.
    let reloads = TestEnvironment.count(20, slow: 200)
    let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
      for client in 0..<8 {
        group.addTask {
          let configuration = URLSessionConfiguration.ephemeral
          configuration.timeoutIntervalForRequest = 60
          let session = URLSession(configuration: configuration)
          var tally = Tally()
          var round = 0
          while !done.isSet || round < 5 {
            let asked = (round + client) % 4 == 0 ? control : question
            round += 1
            tally.requests += 1
            do {
              let r = try await LiveHTTP.request("POST", url + "/v1/can", json: asked, session: session)
              guard r.status == 200 else {
                tally.failures.append("HTTP \(r.status): \(r.text)")
                continue
              }
              let got = try LiveHTTP.decode(CanReplyV1.self, r).decisions
              if asked == control {
                if got != controlAnswer { tally.failures.append("control answer changed: \(got)") }
              } else if got == oldAnswer {
                tally.old += 1
              } else if got == newAnswer {
                tally.new += 1
              } else {
                tally.failures.append("neither policy's answer: \(got)")
              }
            } catch {
              tally.failures.append("\(error)")
            }
          }
          return tally
        }
      }
      group.addTask {
        var tally = Tally()
        defer { done.set() }
        for i in 0..<reloads {
          tally.requests += 1
          let r = try await LiveHTTP.request("POST", url + "/v1/flask/load", binary: Data(i % 2 == 0 ? old : new))
          if r.status != 200 { tally.failures.append("load \(i): HTTP \(r.status): \(r.text)") }
        }
        return tally
      }
      var all: [Tally] = []
      for try await t in group { all.append(t) }
      return all
    }
    let failures = tallies.flatMap(\.failures)
    #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5))")
    let asked = tallies.map(\.requests).reduce(0, +) - reloads
    #expect(asked > 8 * 5)
    let answered: Int = tallies.reduce(0) { $0 + $1.old + $1.new }
    #expect(answered > 0)
  }
}

/// A flag set once, read from many tasks.
private final class LiveFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isSet: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}

// MARK: xl's and flask-utils' spellings

extension LiveTests {
  /// The names and output of xl (loadpolicy, getenforce, setenforce) and
  /// flask-utils (flask-get-bool, flask-set-bool, flask-label-pci), against a
  /// running xsmd: the README's table of commands, each run.
  @Test func xlAndFlaskUtilsCommandsWork() async throws {
    let scratch = try LiveScratch()
    let daemon = try await LiveDaemon.start(state: scratch.file("state.sqlite"), scratch: scratch)
    defer { Task { await daemon.stop() } }
    func flask(_ arguments: [String], as caller: String = "dom0") throws -> (status: Int32, out: String, err: String) {
      try liveXSMQ(["flask"] + arguments + ["--server", daemon.url, "--as", caller])
    }

    // xl loadpolicy / getenforce / setenforce Enforcing|Permissive|1|0.
    let file = scratch.file("policy.bin")
    try Data(EmbeddedDefaults.policyBinary).write(to: URL(fileURLWithPath: file))
    let load = try flask(["loadpolicy", file])
    #expect(load.status == 0, "\(load.err)")
    for (mode, shown) in [("Permissive", "Permissive"), ("ENFORCING", "Enforcing"), ("0", "Permissive"), ("1", "Enforcing")] {
      let set = try flask(["setenforce", mode])
      #expect(set.status == 0 && set.out == shown + "\n", "\(mode): \(set.out)\(set.err)")
      #expect(try flask(["getenforce"]).out == shown + "\n")
    }

    // flask-get-bool NAME / -a and flask-set-bool NAME enabled|disabled|y|n.
    #expect(try flask(["get-bool", "guest_vpmu"]).out == "guest_vpmu: 0\n")
    #expect(try flask(["set-bool", "guest_vpmu", "enabled"]).out == "guest_vpmu: 1\n")
    #expect(try flask(["set-bool", "guest_vpmu", "n", "--no-commit"]).out == "guest_vpmu: 1 (pending 0)\n")
    let all = try flask(["get-bool", "-a"])
    #expect(all.status == 0, "\(all.err)")
    let lines = all.out.split(separator: "\n").map(String.init)
    #expect(lines.count == 5, "the project policy's five booleans: \(all.out)")
    #expect(lines.contains("guest_vpmu: 1 (pending 0)"))
    for (id, line) in lines.enumerated() {
      #expect(try flask(["getbool", "\(id)"]).out == line + "\n", "-a lists the booleans in id order")
    }
    #expect(try flask(["get-bool"]).status == 2, "a name or -a")
    #expect(try flask(["set-bool", "guest_vpmu", "maybe"]).status == 2)

    // flask-label-pci SBDF CONTEXT [IRQ-CONTEXT], from a sysfs tree laid out as Linux's.
    let device = scratch.file("sys/bus/pci/devices/0000:05:00.0")
    try FileManager.default.createDirectory(atPath: device, withIntermediateDirectories: true)
    try """
      0x000000000000d000 0x000000000000d01f 0x0000000000040101
      0x00000000fe000000 0x00000000fe00ffff 0x0000000000040200
      0x0000000000000000 0x0000000000000000 0x0000000000000000

      """.write(toFile: device + "/resource", atomically: true, encoding: .utf8)
    try "19\n".write(toFile: device + "/irq", atomically: true, encoding: .utf8)
    let context = "system_u:object_r:nic_dev_t"
    let irqContext = "system_u:object_r:nic_irq_t"
    let pci = try flask(["label-pci", "0000:05:00.0", context, irqContext, "--sysfs", scratch.file("sys")])
    #expect(pci.status == 0, "\(pci.err)")
    #expect(pci.out == """
      labelled pcidevice 0000:05:00.0 \(context)
      labelled ioport 0xd000-0xd01f \(context)
      labelled iomem 0xfe000-0xfe00f \(context)
      labelled pirq 19 \(irqContext)

      """, "\(pci.out)")
    // Each label is in place: removing it succeeds once (Xen answers -ENOENT for a missing one).
    #expect(try flask(["del-ocontext", "ioport", "0xd000", "0xd01f"]).status == 0)
    #expect(try flask(["del-ocontext", "iomem", "0xfe000", "0xfe00f"]).status == 0)
    #expect(try flask(["del-ocontext", "pirq", "19"]).status == 0)
    #expect(try flask(["del-ocontext", "pcidevice", "0000:05:00.0"]).status == 0)
    #expect(try flask(["del-ocontext", "pirq", "19"]).status != 0)
    let missing = try flask(["label-pci", "0000:06:00.0", context, "--sysfs", scratch.file("sys")])
    #expect(missing.status == 2 && missing.err.contains("unable to find PCI device 0000:06:00.0"), "\(missing.err)")
    let guest = try flask(["label-irq", "20", context], as: "web")
    #expect(guest.status == 1, "a guest may not add labels (security:add_ocontext): \(guest.out)\(guest.err)")
    #expect(try flask(["label-ioport", "0xd100-0xd10f", context]).out == "labelled ioport 0xd100-0xd10f \(context)\n")
    #expect(try flask(["label-iomem", "0xfe100", context]).out == "labelled iomem 0xfe100 \(context)\n")
    #expect(try flask(["label-ioport", "0xd1ff-0xd100", context]).status == 2, "LOW above HIGH")
    let json = try flask(["label-irq", "21", irqContext, "--json"])
    #expect(json.out.contains("\"kind\" : \"pirq\"") && json.out.contains("\"context\" : \"\(irqContext)\""), "\(json.out)")
  }
}

// MARK: Authentication, live

/// xsmd started with `arguments` (no --trust-caller-header), up once it prints where it listens.
final class AuthDaemon: @unchecked Sendable {
  let process: Process
  /// What xsmd printed after "listening on": `unix:PATH`, `http://...` or `https://...`.
  let address: String

  init(_ arguments: [String], scratch: LiveScratch) async throws {
    let log: String
    (process, log) = try launchXSMD(try #require(LiveBinaries.xsmd), arguments, scratch: scratch)
    // Two minutes, and one last look after them (a loaded machine may not run this task for a long while).
    let deadline = ContinuousClock.now + .seconds(120)
    var found: String?
    var lastLook = false
    while found == nil, !lastLook, process.isRunning {
      lastLook = ContinuousClock.now >= deadline
      let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      if let range = text.range(of: #"listening on [^ ]+"#, options: .regularExpression) {
        found = String(text[range].dropFirst("listening on ".count))
      } else {
        try await Task.sleep(for: .milliseconds(100))
      }
    }
    guard let found else {
      if process.isRunning { process.terminate() }
      throw LiveFailure("xsmd did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }
    address = found
  }

  func stop() {
    guard process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
  }

  deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

struct LiveFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

/// One request with curl: the status and the body.
private func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
  let run = try TestEnvironment.run("/usr/bin/curl", ["-s", "-w", "\n%{http_code}"] + arguments)
  let lines = run.out.split(separator: "\n", omittingEmptySubsequences: false)
  return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

/// The default host with a `[callers]` table.
func hostWithCallers(_ callers: String, scratch: LiveScratch) throws -> String {
  let path = scratch.file("host-\(UUID().uuidString).toml")
  let base = try String(contentsOfFile: LiveBinaries.packageRoot + "/examples/systems/default.toml", encoding: .utf8)
  try (base + "\n[callers]\n" + callers + "\n").write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

@Suite(
  "Live authentication", .serialized,
  // In CI curl is required (Scripts/setup.sh installs it): the suite fails there rather than skip.
  .enabled(if: LiveBinaries.ready && TestEnvironment.shouldRun(needing: "curl"),
    "xsmd or curl is missing"))
struct LiveAuthTests {
  @Test func aSocketCallerIsTheDomainItsUidMapsTo() async throws {
    let scratch = try LiveScratch()
    let socket = scratch.file("xsmd.sock")
    let uid = getuid()
    // The test's uid calls as the guest `web`: Xen's guards refuse it what they refuse a guest.
    let daemon = try await AuthDaemon(
      ["--socket", socket, "--system", try hostWithCallers("\(uid) = \"web\"", scratch: scratch)], scratch: scratch)
    defer { daemon.stop() }
    var info = stat()
    #expect(stat(socket, &info) == 0 && info.st_mode & 0o777 == 0o600, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
    func call(_ method: String, _ path: String, _ extra: [String] = []) throws -> (status: Int, body: String) {
      try curl(["--unix-socket", socket, "-X", method, "http://xsmd" + path] + extra)
    }
    let json = ["-H", "Content-Type: application/json", "--data"]
    #expect(try call("GET", "/v1/flask/enforce").status == 200)
    let refused = [
      try call("PUT", "/v1/flask/enforce", json + [#"{"enforcing":false}"#]),
      try call("POST", "/v1/flask/setbool", json + [#"{"name":"guest_vpmu","value":true,"commit":true}"#]),
      try call("POST", "/v1/domains/4/relabel", json + [#"{"context":"user_1:vm_r:domU_t"}"#]),
      try call("POST", "/v1/flask/load", ["-H", "Content-Type: application/octet-stream", "--data-binary",
        "@" + LiveBinaries.packageRoot + "/examples/systems/default.toml"]),
    ]
    for reply in refused {
      #expect(reply.status == 403 && reply.body.contains("guard.denied"), "\(reply)")
    }
    let spoof = try call("PUT", "/v1/flask/enforce", json + [#"{"enforcing":false}"#, "-H", "Xen-Caller: dom0"])
    #expect(spoof.status == 403 && spoof.body.contains("auth.caller-mismatch"), "\(spoof)")
    daemon.stop()

    // Mapped to dom0 (and a group-readable socket): the same change is allowed.
    let admin = try await AuthDaemon(
      ["--socket", socket, "--socket-mode", "0660", "--system",
        try hostWithCallers("\(uid) = \"dom0\"", scratch: scratch)], scratch: scratch)
    defer { admin.stop() }
    #expect(stat(socket, &info) == 0 && info.st_mode & 0o777 == 0o660)
    let allowed = try call("PUT", "/v1/flask/enforce", json + [#"{"enforcing":false}"#])
    #expect(allowed.status == 200, "\(allowed)")
    admin.stop()

    // A uid the table does not map is nobody.
    let stranger = try await AuthDaemon(
      ["--socket", socket, "--system", try hostWithCallers("\(uid + 1) = \"dom0\"", scratch: scratch)],
      scratch: scratch)
    defer { stranger.stop() }
    let unmapped = try call("GET", "/v1/flask/enforce", ["-H", "Xen-Caller: dom0"])
    #expect(unmapped.status == 401 && unmapped.body.contains("auth.unauthenticated"), "\(unmapped)")
  }

  @Test func tcpCallersSendATokenOverTLS() async throws {
    let scratch = try LiveScratch()
    let xsmd = try #require(LiveBinaries.xsmd)
    let state = scratch.file("state.sqlite")
    let (cert, key) = (scratch.file("cert.pem"), scratch.file("key.pem"))
    let openssl = try TestEnvironment.run("/usr/bin/openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    ])
    try #require(openssl.status == 0, "\(openssl.err)")
    // Remote service needs TLS.
    let refused = try TestEnvironment.run(xsmd, ["--host", "0.0.0.0", "--allow-remote", "--state", state])
    #expect(refused.status != 0 && refused.err.contains("needs TLS"), "\(refused)")

    let issued = try TestEnvironment.run(xsmd, ["--state", state, "--issue-token", "dom0"])
    try #require(issued.status == 0, "\(issued.err)")
    let token = issued.out.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(token.hasPrefix("xsmd_"))
    let daemon = try await AuthDaemon(
      ["--port", "0", "--state", state, "--tls-certificate", cert, "--tls-key", key], scratch: scratch)
    defer { daemon.stop() }
    #expect(daemon.address.hasPrefix("https://127.0.0.1:"), "\(daemon.address)")
    let url = daemon.address + "/v1/flask/enforce"
    let ok = try curl(["--cacert", cert, "-H", "Authorization: Bearer \(token)", url])
    #expect(ok.status == 200 && ok.body.contains("enforcing"), "\(ok)")
    let none = try curl(["--cacert", cert, "-H", "Xen-Caller: dom0", url])
    #expect(none.status == 401 && none.body.contains("auth.unauthenticated"), "\(none)")
    // Another last character (a token ending in 0 stayed valid with a 0 put back).
    let wrong = try curl(["--cacert", cert, "-H", "Authorization: Bearer \(token.dropLast())\(token.last == "0" ? "1" : "0")", url])
    #expect(wrong.status == 401, "\(wrong)")
    // Plain HTTP to the TLS port gets no answer.
    #expect(try curl([url.replacingOccurrences(of: "https://", with: "http://")]).status != 200)
  }

  @Test func xsmqSendsItsToken() async throws {
    let scratch = try LiveScratch()
    let xsmd = try #require(LiveBinaries.xsmd)
    let state = scratch.file("state.sqlite")
    let issued = try TestEnvironment.run(xsmd, ["--state", state, "--issue-token", "web"])
    try #require(issued.status == 0, "\(issued.err)")
    let tokenFile = scratch.file("token")
    try issued.out.write(toFile: tokenFile, atomically: true, encoding: .utf8)
    let daemon = try await AuthDaemon(["--port", "0", "--state", state], scratch: scratch)
    defer { daemon.stop() }
    func xsmq(_ environment: [String: String]) throws -> (status: Int32, out: String, err: String) {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: try #require(LiveBinaries.xsmq))
      process.arguments = ["flask", "getenforce", "--server", daemon.address]
      var env = ProcessInfo.processInfo.environment
      env["XSMQ_TOKEN"] = nil
      env["XSMQ_TOKEN_FILE"] = nil
      process.environment = env.merging(environment) { $1 }
      let out = Pipe()
      let err = Pipe()
      process.standardOutput = out
      process.standardError = err
      try process.run()
      process.waitUntilExit()
      return (process.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
        String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
    let withFile = try xsmq(["XSMQ_TOKEN_FILE": tokenFile])
    #expect(withFile.status == 0, "\(withFile)")
    let withToken = try xsmq(["XSMQ_TOKEN": issued.out])
    #expect(withToken.status == 0, "\(withToken)")
    let without = try xsmq([:])
    #expect(without.status == 2 && without.err.contains("auth.unauthenticated"), "\(without)")
  }
}
