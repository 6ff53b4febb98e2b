import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import XSMCatalog
import XSMEngine
import XSMService
import XSMProtocol
import XSMTestSupport

@testable import XSMServiceHTTP

// MARK: Fixtures

enum HTTPFixture {
  static let catalog: OpCatalog? = EmbeddedCatalog.load().0

  static func service(module: XSMModule? = nil) async throws -> FlaskService {
    let (spec, _) = EmbeddedDefaults.system()
    var system = try #require(spec)
    if let module { system.module = module }
    return try await FlaskService.start(system: system, catalog: try #require(catalog), statePath: nil)
  }

  /// Runs `body` against an in-process router of a fresh service.
  static func withClient<T: Sendable>(
    module: XSMModule? = nil, configuration: ServerConfiguration = ServerConfiguration(authentication: .callerHeader),
    _ body: @Sendable (any TestClientProtocol) async throws -> T
  ) async throws -> T {
    let app = try makeApplication(service: try await service(module: module), configuration: configuration)
    return try await app.test(.router, body)
  }

  static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }
}

extension TestClientProtocol {
  /// Sends a request: JSON when `json` is given, raw bytes when `bytes` is.
  func call(
    _ method: HTTPRequest.Method, _ uri: String, caller: String? = "dom0", json: String? = nil, bytes: [UInt8]? = nil,
    contentType: String? = nil
  ) async throws -> TestResponse {
    var headers: HTTPFields = [:]
    if let caller { headers[HTTPField.Name("Xen-Caller")!] = caller }
    var body: ByteBuffer?
    if let json {
      headers[.contentType] = contentType ?? "application/json"
      body = ByteBuffer(string: json)
    } else if let bytes {
      headers[.contentType] = contentType ?? "application/octet-stream"
      body = ByteBuffer(bytes: bytes)
    } else if let contentType {
      headers[.contentType] = contentType
    }
    return try await execute(uri: uri, method: method, headers: headers, body: body)
  }
}

extension TestResponse {
  var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }
  var object: [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
  }
  var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
  var errorMessage: String { (object["error"] as? [String: Any])?["message"] as? String ?? "" }
  var errno: String? { (object["error"] as? [String: Any])?["errno"] as? String }
}

/// Asserts an error reply: status, code, and the JSON error shape.
func expectError(
  _ response: TestResponse, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(response.status.code == status, "\(response.text)", sourceLocation: sourceLocation)
  #expect(response.errorCode == code, "\(response.text)", sourceLocation: sourceLocation)
  #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
  #expect(!response.errorMessage.isEmpty, sourceLocation: sourceLocation)
}

@Suite("HTTP")
struct HTTPTests {
  // MARK: Operations

  @Test func healthReadinessAndIdentity() async throws {
    try await HTTPFixture.withClient { client in
      let health = try await client.call(.get, "/healthz", caller: nil)
      #expect(health.status == .ok)
      #expect(health.text == #"{"status":"ok"}"#)
      let ready = try await client.call(.get, "/readyz", caller: nil)
      #expect(ready.status == .ok)
      #expect(ready.object["status"] as? String == "ready")

      let identity = try await client.call(.get, "/v1/xsm/identity", caller: nil)
      #expect(identity.status == .ok)
      #expect(identity.object["module"] as? String == "flask")
      #expect(identity.object["domains"] as? Int == 12)
      #expect(identity.object["policy_version"] as? Int == 30)
      #expect(identity.object["enforcing"] as? Bool == true)
      #expect(identity.object["booleans"] is [String: Any])
    }
  }

  // MARK: flask_op

  @Test func enforceAndPolicyFacts() async throws {
    try await HTTPFixture.withClient { client in
      let enforce = try await client.call(.get, "/v1/flask/enforce", caller: "web")
      #expect(enforce.status == .ok)
      #expect(enforce.text == #"{"enforcing":true}"#)

      // A guest may not switch enforcing; the same value needs no check.
      let denied = try await client.call(.put, "/v1/flask/enforce", caller: "web", json: #"{"enforcing":false}"#)
      expectError(denied, 403, "guard.denied")
      // The 403 carries the decision of `xsm.flask_op.setenforce`, in /v1/can's trace shape.
      let error = try #require(denied.object["error"] as? [String: Any])
      let trace = try #require(error["trace"] as? [[String: Any]], "\(denied.text)")
      #expect(trace.contains { step in
        step["outcome"] as? String == "fail" && step["layer"] as? String == "flask"
          && (step["text"] as? String)?.hasPrefix("security:setenforce current -> security_t") == true
          && step["subject"] is String && step["object"] is String
      }, "\(denied.text)")
      #expect(
        try await client.call(.put, "/v1/flask/enforce", caller: "web", json: #"{"enforcing":true}"#).status == .ok)
      let off = try await client.call(.put, "/v1/flask/enforce", caller: "dom0", json: #"{"enforcing":false}"#)
      #expect(off.status == .ok)
      #expect(off.text == #"{"enforcing":false}"#)
      #expect(try await client.call(.get, "/v1/flask/enforce").text == #"{"enforcing":false}"#)
      #expect(
        try await client.call(.put, "/v1/flask/enforce", caller: "dom0", json: #"{"enforcing":true}"#).status == .ok)

      let version = try await client.call(.get, "/v1/flask/policyvers")
      #expect(version.status == .ok)
      #expect(version.object["version"] is Int)
      let mls = try await client.call(.get, "/v1/flask/mls")
      #expect(mls.text == #"{"mls":false}"#)
    }
  }

  @Test func avcThresholdAndStatistics() async throws {
    try await HTTPFixture.withClient { client in
      let threshold = try await client.call(.get, "/v1/flask/avc-threshold")
      #expect(threshold.status == .ok)
      #expect(threshold.object["threshold"] is Int)
      let set = try await client.call(.put, "/v1/flask/avc-threshold", json: #"{"threshold": 1024}"#)
      #expect(set.status == .ok)
      #expect(set.object["threshold"] as? Int == 1024)
      #expect(try await client.call(.get, "/v1/flask/avc-threshold").object["threshold"] as? Int == 1024)
      expectError(
        try await client.call(.put, "/v1/flask/avc-threshold", caller: "web", json: #"{"threshold": 8}"#), 403,
        "guard.denied")

      let hash = try await client.call(.get, "/v1/flask/avc-hashstats")
      #expect(hash.status == .ok)
      #expect(Set(hash.object.keys) == ["entries", "buckets_used", "buckets_total", "max_chain_length"])

      let cache = try await client.call(.get, "/v1/flask/avc-cachestats?cpu=0")
      #expect(cache.status == .ok)
      #expect(cache.object["cpu"] as? Int == 0)
      #expect(Set(cache.object.keys) == ["cpu", "lookups", "hits", "misses", "allocations", "reclaims", "frees"])
      #expect(try await client.call(.get, "/v1/flask/avc-cachestats").status == .ok)
      expectError(try await client.call(.get, "/v1/flask/avc-cachestats?cpu=7"), 404, "avc.no-cpu")
      expectError(try await client.call(.get, "/v1/flask/avc-cachestats?cpu=seven"), 400, "request.malformed")
    }
  }

  @Test func sidsAndComputations() async throws {
    try await HTTPFixture.withClient { client in
      let dom0 = try await client.call(
        .post, "/v1/flask/context-to-sid", json: #"{"context":"system_u:system_r:dom0_t"}"#)
      #expect(dom0.status == .ok)
      let dom0SID = try #require(dom0.object["sid"] as? Int)
      let domU = try #require(
        try await client.call(.post, "/v1/flask/context-to-sid", json: #"{"context":"system_u:system_r:domU_t"}"#)
          .object["sid"] as? Int)
      expectError(
        try await client.call(.post, "/v1/flask/context-to-sid", json: #"{"context":"nobody:nothing:none_t"}"#), 422,
        "context.invalid")

      let back = try await client.call(.post, "/v1/flask/sid-to-context", json: #"{"sid":\#(dom0SID)}"#)
      #expect(back.status == .ok)
      #expect(back.object["context"] as? String == "system_u:system_r:dom0_t")
      expectError(try await client.call(.post, "/v1/flask/sid-to-context", json: #"{"sid":99999}"#), 404,
        "flask.unknown-sid")

      let access = try await client.call(
        .post, "/v1/flask/access", json: #"{"ssid":\#(dom0SID),"tsid":\#(domU),"tclass":"domain"}"#)
      #expect(access.status == .ok)
      #expect((access.object["allowed_names"] as? [String])?.contains("pause") == true)
      #expect(Set(access.object.keys) == ["allowed", "audit_allow", "audit_deny", "sequence", "allowed_names"])
      let byNumber = try await client.call(
        .post, "/v1/flask/access", json: #"{"ssid":\#(dom0SID),"tsid":\#(domU),"tclass":"domain","requested":1}"#)
      #expect(byNumber.status == .ok)
      expectError(
        try await client.call(
          .post, "/v1/flask/access", json: #"{"ssid":\#(dom0SID),"tsid":\#(domU),"tclass":"no_such_class"}"#), 400,
        "flask.unknown-class")
      expectError(
        try await client.call(.post, "/v1/flask/access", json: #"{"ssid":99999,"tsid":\#(domU),"tclass":"domain"}"#),
        404, "flask.unknown-sid")

      for command in ["create", "relabel", "member"] {
        let reply = try await client.call(
          .post, "/v1/flask/\(command)", json: #"{"ssid":\#(domU),"tsid":\#(domU),"tclass":"domain"}"#)
        #expect(reply.status == .ok, "\(command): \(reply.text)")
        #expect(reply.object["sid"] is Int, "\(command)")
      }
    }
  }

  @Test func booleans() async throws {
    try await HTTPFixture.withClient { client in
      let byName = try await client.call(.post, "/v1/flask/getbool", caller: "web", json: #"{"name":"guest_vpmu"}"#)
      #expect(byName.status == .ok)
      #expect(byName.object["name"] as? String == "guest_vpmu")
      #expect(byName.object["enforcing"] as? Bool == false)
      let id = try #require(byName.object["id"] as? Int)
      #expect(try await client.call(.post, "/v1/flask/getbool", json: #"{"id":\#(id)}"#).object["name"] as? String
        == "guest_vpmu")
      expectError(try await client.call(.post, "/v1/flask/getbool", json: #"{"name":"no_such_bool"}"#), 404,
        "boolean.unknown")

      expectError(
        try await client.call(
          .post, "/v1/flask/setbool", caller: "web", json: #"{"name":"guest_vpmu","value":true,"commit":true}"#),
        403, "guard.denied")
      let pending = try await client.call(
        .post, "/v1/flask/setbool", json: #"{"name":"guest_vpmu","value":true,"commit":false}"#)
      #expect(pending.status == .ok)
      #expect(pending.object["pending"] as? Bool == true)
      #expect(pending.object["enforcing"] as? Bool == false)
      expectError(try await client.call(.post, "/v1/flask/commitbools", caller: "web"), 403, "guard.denied")
      let commit = try await client.call(.post, "/v1/flask/commitbools")
      #expect(commit.status == .ok)
      #expect(commit.text == "{}")
      let after = try await client.call(.post, "/v1/flask/getbool", json: #"{"name":"guest_vpmu"}"#)
      #expect(after.object["enforcing"] as? Bool == true)
    }
  }

  @Test func ocontexts() async throws {
    try await HTTPFixture.withClient { client in
      let sid = try #require(
        try await client.call(.post, "/v1/flask/context-to-sid", json: #"{"context":"system_u:object_r:device_t"}"#)
          .object["sid"] as? Int)
      let other = try #require(
        try await client.call(.post, "/v1/flask/context-to-sid", json: #"{"context":"system_u:system_r:domU_t"}"#)
          .object["sid"] as? Int)
      let add = try await client.call(
        .post, "/v1/flask/add-ocontext", json: #"{"kind":"pirq","sid":\#(sid),"low":77}"#)
      #expect(add.status == .ok, "\(add.text)")
      #expect(add.text == "{}")
      expectError(
        try await client.call(.post, "/v1/flask/add-ocontext", json: #"{"kind":"pirq","sid":\#(other),"low":77}"#),
        409, "ocontext.exists")
      expectError(
        try await client.call(
          .post, "/v1/flask/add-ocontext", caller: "web", json: #"{"kind":"pirq","sid":\#(sid),"low":78}"#), 403,
        "guard.denied")
      expectError(
        try await client.call(.post, "/v1/flask/add-ocontext", json: #"{"kind":"bogus","sid":\#(sid),"low":1}"#), 400,
        "ocontext.unknown-kind")
      expectError(
        try await client.call(
          .post, "/v1/flask/add-ocontext", json: #"{"kind":"ioport","sid":\#(sid),"low":9,"high":1}"#), 400,
        "ocontext.bad-range")
      #expect(
        try await client.call(.post, "/v1/flask/del-ocontext", json: #"{"kind":"pirq","low":77}"#).status == .ok)
      expectError(try await client.call(.post, "/v1/flask/del-ocontext", json: #"{"kind":"pirq","low":77}"#), 404,
        "ocontext.not-found")

      let label = try await client.call(
        .post, "/v1/flask/devicetree-label", json: #"{"sid":\#(sid),"path":"/soc/uart@0"}"#)
      #expect(label.status == .ok, "\(label.text)")
      expectError(
        try await client.call(.post, "/v1/flask/devicetree-label", json: #"{"sid":\#(sid),"path":"/soc/uart@0"}"#),
        409, "ocontext.exists")
      expectError(
        try await client.call(
          .post, "/v1/flask/devicetree-label", caller: "web", json: #"{"sid":0,"path":"/soc/uart@0"}"#), 403,
        "guard.denied")
      #expect(
        try await client.call(.post, "/v1/flask/devicetree-label", json: #"{"sid":0,"path":"/soc/uart@0"}"#).status
          == .ok)
      expectError(
        try await client.call(.post, "/v1/flask/devicetree-label", json: #"{"sid":0,"path":"/soc/uart@0"}"#), 404,
        "ocontext.not-found")
    }
  }

  @Test func peerSIDAndRelabelDomain() async throws {
    try await HTTPFixture.withClient { client in
      let peer = try await client.call(.post, "/v1/flask/get-peer-sid", caller: "web", json: #"{"port":3}"#)
      #expect(peer.status == .ok)
      let list = try await client.call(.get, "/v1/domains", caller: nil)
      let records = try #require(try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [[String: Any]])
      let webDM = try #require(records.first { $0["domid"] as? Int == 3 })
      #expect(peer.object["sid"] as? Int == webDM["sid"] as? Int)
      expectError(try await client.call(.post, "/v1/flask/get-peer-sid", caller: "web", json: #"{"port":5}"#), 400,
        "evtchn.not-interdomain")

      let domU = try #require(
        try await client.call(.post, "/v1/flask/context-to-sid", json: #"{"context":"system_u:system_r:domU_t"}"#)
          .object["sid"] as? Int)
      expectError(
        try await client.call(.post, "/v1/flask/relabel-domain", json: #"{"domid":11,"sid":99999}"#), 404,
        "flask.unknown-sid")
      expectError(
        try await client.call(.post, "/v1/flask/relabel-domain", json: #"{"domid":4242,"sid":\#(domU)}"#), 404,
        "domain.unknown")
      expectError(
        try await client.call(.post, "/v1/flask/relabel-domain", caller: "web", json: #"{"domid":11,"sid":\#(domU)}"#),
        403, "guard.denied")
      let relabel = try await client.call(.post, "/v1/flask/relabel-domain", json: #"{"domid":11,"sid":\#(domU)}"#)
      #expect([200, 403].contains(relabel.status.code), "\(relabel.text)")
      if relabel.status == .ok { #expect(relabel.text == "{}") }
    }
  }

  @Test func loadPolicy() async throws {
    try await HTTPFixture.withClient { client in
      let before = try #require(
        try await client.call(.get, "/v1/xsm/identity", caller: nil).object["sequence"] as? Int)
      let policy = EmbeddedDefaults.policyBinary
      expectError(try await client.call(.post, "/v1/flask/load", caller: "web", bytes: policy), 403, "guard.denied")
      expectError(
        try await client.call(.post, "/v1/flask/load", bytes: policy, contentType: "text/plain"), 415,
        "request.unsupported-media-type")
      expectError(try await client.call(.post, "/v1/flask/load", bytes: [1, 2, 3, 4]), 422, "policy.invalid")
      // Truncated and corrupted binaries are refused whole, never half-loaded.
      for length in [0, 8, 16, 64, 1000, policy.count / 2, policy.count - 1] {
        let response = try await client.call(.post, "/v1/flask/load", bytes: Array(policy.prefix(length)))
        #expect(response.status.code == 422, "\(length) bytes: \(response.text)")
      }
      var corrupted = policy
      for index in stride(from: 40, to: corrupted.count, by: 997) { corrupted[index] ^= 0xFF }
      #expect(try await client.call(.post, "/v1/flask/load", bytes: corrupted).status.code < 500)
      let load = try await client.call(.post, "/v1/flask/load", bytes: policy)
      #expect(load.status == .ok, "\(load.text)")
      #expect(load.text == "{}")
      let after = try #require(
        try await client.call(.get, "/v1/xsm/identity", caller: nil).object["sequence"] as? Int)
      #expect(after > before)
      #expect(
        try await client.call(.get, "/v1/xsm/identity", caller: nil).object["policy_source"] as? String == "loaded")

      let tooLarge = [UInt8](repeating: 0, count: FlaskService.maximumPolicySize + 1)
      expectError(try await client.call(.post, "/v1/flask/load", bytes: tooLarge), 413, "request.too-large")
    }
  }

  @Test func flaskOpUnderDummyIsNotImplemented() async throws {
    try await HTTPFixture.withClient(module: .dummy) { client in
      let enforce = try await client.call(.get, "/v1/flask/enforce")
      expectError(enforce, 501, "module.no-flask-op")
      #expect(enforce.errno == "-ENOSYS")
      expectError(try await client.call(.post, "/v1/flask/load", bytes: EmbeddedDefaults.policyBinary), 501,
        "module.no-flask-op")
      expectError(try await client.call(.put, "/v1/flask/enforce", json: #"{"enforcing":false}"#), 501,
        "module.no-flask-op")
      expectError(
        try await client.call(.post, "/v1/flask/setbool", json: #"{"name":"guest_vpmu","value":true,"commit":true}"#),
        501, "module.no-flask-op")
      let identity = try await client.call(.get, "/v1/xsm/identity", caller: nil)
      #expect(identity.object["module"] as? String == "dummy")
      let can = try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web"}"#)
      #expect(can.status == .ok)
      #expect(can.object["verdict"] as? String == "allowed")
    }
  }

  // MARK: Decisions and domains

  @Test func canAndBatch() async throws {
    try await HTTPFixture.withClient { client in
      let can = try await client.call(.post, "/v1/can", caller: "web-dm", json: #"{"op":"domctl.pause","target":"web"}"#)
      #expect(can.status == .ok, "\(can.text)")
      #expect(Set(can.object.keys).isSuperset(of: ["caller", "op", "target", "verdict", "decisions"]))
      #expect(can.object["caller"] as? String == "dom3 (web-dm)")
      let all = try await client.call(
        .post, "/v1/can", json: #"{"caller":"web","op":"domctl.pause","target":"db","all_modules":true}"#)
      #expect((all.object["decisions"] as? [Any])?.count == 3)
      #expect(all.object["verdict"] as? String == "denied")
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"domctl.no_such_op"}"#), 404, "op.unknown")
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"nobody"}"#), 404,
        "domain.unknown")

      let batch = try await client.call(
        .post, "/v1/can/batch",
        json: #"{"queries":[{"caller":"dom0","op":"domctl.pause","target":"web"},{"caller":"web","op":"domctl.pause","target":"db"}]}"#
      )
      #expect(batch.status == .ok)
      #expect(batch.object["verdicts"] as? [String] == ["allowed", "denied"])
      // The op's arguments, as `xsmq can --arg` takes them; a question that does not fit is a 400 listing them.
      let status = try await client.call(
        .post, "/v1/can", caller: "db", json: #"{"op":"evtchn.status","target":"web","arguments":["remote=dom0"],"all_modules":true}"#)
      #expect(status.status == .ok, "\(status.text)")
      #expect(status.object["arguments"] as? [String] == ["owner=web", "remote=dom0"])
      let missing = try await client.call(.post, "/v1/can", caller: "db", json: #"{"op":"evtchn.status"}"#)
      expectError(missing, 400, "can.bad-argument")
      #expect(missing.errorMessage.contains("needs the argument `remote`"))
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"sysctl.physinfo","target":"web"}"#), 400,
        "can.bad-argument")
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web","situations":["bogus"]}"#),
        400, "can.bad-argument")
      let foreign = try await client.call(
        .post, "/v1/can/batch",
        json: #"{"module":"dummy","queries":[{"caller":"web","op":"memory.add_to_physmap_batch.gmfn_foreign","target":"self","arguments":["foreign=web"]},{"caller":"dom0","op":"memory.add_to_physmap_batch.gmfn_foreign","target":"web","arguments":["foreign=ci"]}]}"#)
      #expect(foreign.status == .ok, "\(foreign.text)")
      // xen/arch/x86/mm/p2m.c p2m_add_foreign: foreign == caller is -EPERM before the hook; dummy.h
      // xsm_map_gmfn_foreign is XSM_TARGET from the physmap owner (web), which has no rights over ci.
      #expect(foreign.object["verdicts"] as? [String] == ["invalid", "denied"])
      let readonly = try await client.call(
        .post, "/v1/can/batch",
        json: #"{"queries":[{"caller":"web","op":"grant.map_grant_ref","arguments":["granter=dom0"],"situations":["readonly"]},{"caller":"web","op":"grant.map_grant_ref","arguments":["granter=dom0"],"situations":["bogus"]}]}"#)
      expectError(readonly, 400, "can.bad-argument")
      let nested = try await client.call(
        .post, "/v1/can/batch", json: #"{"queries":[{"caller":"dom0","op":"domctl.pause","tagret":"web"}]}"#)
      expectError(nested, 400, "request.unknown-field")
      #expect(nested.errorMessage.contains("queries[0].tagret"))
    }
  }

  /// `/v1/can` and the batch route take the second domain and the devices as `xsmq can` does.
  @Test func canTakesTheObjectAndDevices() async throws {
    try await HTTPFixture.withClient { client in
      let object = try await client.call(.post, "/v1/can", json: #"{"op":"domctl.set_target","target":"web-dm","object":"web"}"#)
      #expect(object.status == .ok, "\(object.text)")
      #expect(object.object["arguments"] as? [String] == ["dm=web-dm", "target=web"])
      let pci = try await client.call(.post, "/v1/can", caller: "web",
        json: #"{"op":"domctl.assign_device","target":"web","pci":"00:02.0","situations":["pci"]}"#)
      #expect(pci.object["arguments"] as? [String] == ["target=web", "pci=true", "pci_device=00:02.0"], "\(pci.text)")
      let irq = try await client.call(.post, "/v1/can", caller: "web", json: #"{"op":"physdev.map_pirq","irq":3}"#)
      #expect(irq.object["arguments"] as? [String] == ["target=self", "irq=3"], "\(irq.text)")
      let noObject = try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web","object":"db"}"#)
      expectError(noObject, 400, "can.bad-argument")
      #expect(noObject.errorMessage.contains("takes no second domain"))
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web","dt":"/x"}"#), 400,
        "can.bad-argument")
      expectError(try await client.call(.post, "/v1/can", json: #"{"op":"physdev.map_pirq","irq":-3}"#), 400,
        "request.malformed")
      let batch = try await client.call(.post, "/v1/can/batch",
        json: #"{"queries":[{"caller":"dom0","op":"domctl.set_target","target":"web-dm","object":"web"},{"caller":"web","op":"physdev.map_pirq","irq":3},{"caller":"web","op":"physdev.map_pirq","irq":3}]}"#)
      #expect(batch.status == .ok, "\(batch.text)")
      #expect(batch.object["verdicts"] as? [String] == [
        object.object["verdict"] as? String ?? "?", irq.object["verdict"] as? String ?? "?",
        irq.object["verdict"] as? String ?? "?",
      ])
      expectError(try await client.call(.post, "/v1/can/batch",
        json: #"{"queries":[{"caller":"dom0","op":"domctl.pause","target":"web","ioport":"0x3f8"}]}"#), 400, "can.bad-argument")
    }
  }

  /// `GET /v1/decisions`: the questions `/v1/can` answered, paged and filtered.
  @Test func decisionLog() async throws {
    try await HTTPFixture.withClient { client in
      let start = Date().timeIntervalSince1970
      let asked: [(String, String)] = [
        ("dom0", #"{"op":"domctl.pause","target":"web"}"#), ("web", #"{"op":"domctl.pause","target":"db"}"#),
        ("web", #"{"op":"domctl.unpause","target":"db"}"#), ("dom0", #"{"op":"domctl.pause","target":"db"}"#),
        ("web-dm", #"{"op":"domctl.pause","target":"web","module":"dummy"}"#),
      ]
      for (caller, body) in asked {
        #expect(try await client.call(.post, "/v1/can", caller: caller, json: body).status == .ok)
      }
      func page(_ query: String) async throws -> DecisionPageV1 {
        let r = try await client.call(.get, "/v1/decisions" + query)
        #expect(r.status == .ok, "\(query): \(r.text)")
        return try WireJSON.makeDecoder().decode(DecisionPageV1.self, from: Data(r.body.readableBytesView))
      }
      let all = try await page("")
      #expect(all.decisions.count == 5)
      #expect(all.next == nil)
      #expect(all.decisions.map(\.id) == all.decisions.map(\.id).sorted())
      #expect(all.decisions[0].caller == "dom0" && all.decisions[0].op == "domctl.pausedomain")
      #expect(all.decisions[0].verdict == .allowed && all.decisions[1].verdict == .denied)
      #expect(all.decisions[4].module == .dummy)
      #expect(all.decisions.allSatisfy { $0.time >= start - 1 })
      // Pages of two: the cursor walks the same entries.
      var walked: [DecisionLogEntryV1] = []
      var after: Int64 = 0
      while true {
        let p = try await page("?limit=2&after=\(after)")
        walked += p.decisions
        guard let next = p.next else { break }
        after = next
      }
      #expect(walked == all.decisions)
      // Filters: a caller by name or domN, an op by alias, a verdict, a time range.
      #expect(try await page("?caller=web").decisions.count == 2)
      #expect(try await page("?caller=dom5").decisions.count == 2)
      #expect(try await page("?op=domctl.pause").decisions.count == 4)
      #expect(try await page("?verdict=denied&caller=web").decisions.map(\.op) == ["domctl.pausedomain", "domctl.unpausedomain"])
      #expect(try await page("?since=\(start - 60)&until=\(start + 3600)").decisions.count == 5)
      #expect(try await page("?until=2000-01-01T00:00:00Z").decisions.isEmpty)
      for bad in ["?limit=0", "?limit=1001", "?after=x", "?verdict=maybe", "?since=yesterday"] {
        expectError(try await client.call(.get, "/v1/decisions" + bad), 400, "request.malformed")
      }
      expectError(try await client.call(.get, "/v1/decisions", caller: "nobody"), 404, "domain.unknown")
    }
  }

  @Test func matrix() async throws {
    try await HTTPFixture.withClient { client in
      let matrix = try await client.call(
        .post, "/v1/matrix", json: #"{"ops":["domctl.pause"],"modules":["dummy","flask"]}"#)
      #expect(matrix.status == .ok)
      #expect((matrix.object["rows"] as? [Any])?.count == 1)
      #expect((matrix.object["domains"] as? [Any])?.count == 12)
      #expect(matrix.object["modules"] as? [String] == ["dummy", "flask"])
      #expect(matrix.object["class_of"] is [Int])
      expectError(try await client.call(.post, "/v1/matrix", json: #"{"families":["nope"]}"#), 404,
        "op.unknown-family")
      expectError(try await client.call(.post, "/v1/matrix", json: #"{"modules":["selinux"]}"#), 400,
        "request.malformed")
    }
  }

  @Test func domains() async throws {
    try await HTTPFixture.withClient { client in
      let list = try await client.call(.get, "/v1/domains", caller: nil)
      #expect(list.status == .ok)
      let records = try #require(try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [[String: Any]])
      #expect(records.count == 12)
      #expect(records.map { $0["name"] as? String ?? "" }.prefix(3) == ["dom0", "xenstore", "netdrv"])

      let add = try await client.call(
        .post, "/v1/domains", json: #"{"domid":20,"name":"extra","context":"system_u:system_r:domU_t"}"#)
      #expect(add.status == .created, "\(add.text)")
      #expect(add.object["name"] as? String == "extra")
      #expect(add.object["domid"] as? Int == 20)
      expectError(
        try await client.call(
          .post, "/v1/domains", json: #"{"domid":20,"name":"extra2","context":"system_u:system_r:domU_t"}"#), 409,
        "domain.exists")
      expectError(
        try await client.call(
          .post, "/v1/domains", caller: "web", json: #"{"domid":21,"name":"x","context":"system_u:system_r:domU_t"}"#),
        403, "guard.denied")
      let badContext = try await client.call(
        .post, "/v1/domains", json: #"{"domid":22,"name":"y","context":"bad:bad:bad_t"}"#)
      #expect(badContext.status.code == 422, "\(badContext.text)")

      let relabel = try await client.call(
        .post, "/v1/domains/20/relabel", json: #"{"context":"system_u:system_r:domU_t"}"#)
      #expect([200, 403].contains(relabel.status.code), "\(relabel.text)")
      expectError(
        try await client.call(.post, "/v1/domains/4242/relabel", json: #"{"context":"system_u:system_r:domU_t"}"#),
        404, "domain.unknown")
      expectError(
        try await client.call(.post, "/v1/domains/20/relabel", json: #"{"context":"nope"}"#), 422, "context.invalid")

      expectError(try await client.call(.delete, "/v1/domains/20", caller: "web"), 403, "guard.denied")
      let remove = try await client.call(.delete, "/v1/domains/20")
      #expect(remove.status == .ok, "\(remove.text)")
      #expect(remove.text == "{}")
      expectError(try await client.call(.delete, "/v1/domains/20"), 404, "domain.unknown")
      expectError(try await client.call(.delete, "/v1/domains/twenty"), 400, "request.malformed")
      let count = try JSONSerialization.jsonObject(
        with: Data(try await client.call(.get, "/v1/domains", caller: nil).body.readableBytesView)) as? [Any]
      #expect(count?.count == 12)
    }
  }

  // MARK: Request errors

  @Test func everyCallerRouteNeedsTheHeader() async throws {
    let routes = RouteTable.shared.routes.filter(\.needsCaller)
    #expect(routes.count == 37)
    try await HTTPFixture.withClient { client in
      for route in routes {
        let uri = route.path.replacingOccurrences(of: "{domid}", with: "5")
        for caller: String? in [nil, "  "] {
          let response = try await client.call(route.method, uri, caller: caller)
          expectError(response, 400, "request.no-caller")
          #expect(response.errorMessage.contains("Xen-Caller"))
        }
      }
      // Routes without a caller answer without one.
      for uri in ["/v1/xsm/identity", "/v1/domains", "/healthz", "/readyz", "/metrics", "/openapi.json"] {
        #expect(try await client.call(.get, uri, caller: nil).status == .ok, "\(uri)")
      }
      expectError(try await client.call(.get, "/v1/flask/enforce", caller: "dom99"), 404, "domain.unknown")
      expectError(try await client.call(.get, "/v1/flask/enforce", caller: "wbe"), 404, "domain.unknown")
      #expect(try await client.call(.get, "/v1/flask/enforce", caller: "dom5").status == .ok)
    }
  }

  @Test func malformedRequests() async throws {
    try await HTTPFixture.withClient(configuration: ServerConfiguration(maxJSONBody: 64, authentication: .callerHeader)) { client in
      let unknown = try await client.call(.put, "/v1/flask/enforce", json: #"{"enforcing":true,"enforce":1}"#)
      expectError(unknown, 400, "request.unknown-field")
      #expect(unknown.errorMessage.contains("`enforce`"))
      // camelCase spellings are not the API's.
      expectError(
        try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","allModules":true}"#), 400,
        "request.unknown-field")

      for body in [#"{"enforcing":"#, "{", "nonsense", #"{"enforcing":true}}"#] {
        expectError(try await client.call(.put, "/v1/flask/enforce", json: body), 400, "request.malformed")
      }
      let wrongType = try await client.call(.put, "/v1/flask/enforce", json: #"{"enforcing":"yes"}"#)
      expectError(wrongType, 400, "request.malformed")
      #expect(wrongType.errorMessage.contains("enforcing"))
      let missing = try await client.call(.put, "/v1/flask/enforce", json: "{}")
      expectError(missing, 400, "request.malformed")
      #expect(missing.errorMessage.contains("missing field `enforcing`"))
      expectError(try await client.call(.put, "/v1/flask/enforce", json: "[true]"), 400, "request.malformed")
      expectError(try await client.call(.post, "/v1/flask/sid-to-context", json: #"{"sid":-1}"#), 400,
        "request.malformed")
      expectError(
        try await client.call(.post, "/v1/flask/sid-to-context", json: #"{"sid":1}"#, contentType: "text/plain"), 415,
        "request.unsupported-media-type")
      expectError(
        try await client.call(.post, "/v1/flask/sid-to-context", json: #"{"sid":1}"#, contentType: "application/xml"),
        415, "request.unsupported-media-type")
      #expect(
        try await client.call(
          .post, "/v1/flask/sid-to-context", json: #"{"sid":1}"#, contentType: "application/json; charset=utf-8"
        ).status == .ok)
      let big = #"{"context":"\#(String(repeating: "a", count: 100))"}"#
      expectError(try await client.call(.post, "/v1/flask/context-to-sid", json: big), 413, "request.too-large")

      expectError(try await client.call(.get, "/v1/nothing-here"), 404, "request.no-route")
      let wrongMethod = try await client.call(.get, "/v1/can")
      expectError(wrongMethod, 405, "request.method-not-allowed")
      #expect(wrongMethod.headers[.allow] == "POST")
      let deep = String(repeating: "[", count: 100_000)
      expectError(try await client.call(.post, "/v1/can", json: deep), 413, "request.too-large")
    }
  }

  /// Whatever arrives, the answer is a JSON reply below 500.
  @Test func garbageNeverCrashesOrFails() async throws {
    var corpus: [String] = [
      "", "null", "[]", "{}", "1", "-1", "true", "\"text\"", "{\"a\":", "{\"sid\":1e999}", "{\"sid\":18446744073709551616}",
      "{\"context\":null}", "{\"queries\":[1,2,3]}", "{\"queries\":{}}", "{\"op\":[]}", "{\"tclass\":{}}",
      "\u{0}\u{1}\u{2}", "{\"\u{FFFF}\":1}", "{\"port\":9223372036854775807}", "{\"domid\":-9999,\"sid\":1}",
      "{\"threshold\":-5}", "{\"kind\":\"pirq\",\"low\":18446744073709551615,\"high\":0}",
      String(repeating: "{\"a\":", count: 40), String(repeating: "[", count: 30) + String(repeating: "]", count: 30),
    ]
    var generator = TestEnvironment.random(seed: 0xB0D1E5)
    for _ in 0..<20 {
      corpus.append(String(decoding: (0..<Int.random(in: 1...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self))
    }
    let routes = RouteTable.shared.routes
    let inputs = corpus
    try await HTTPFixture.withClient { client in
      for route in routes where route.path.hasPrefix("/v1") {
        let uri = route.path.replacingOccurrences(of: "{domid}", with: "7")
        for body in inputs {
          let response = try await client.call(route.method, uri, caller: "dom0", json: body)
          #expect(response.status.code < 500, "\(route.method) \(uri) \(body.debugDescription): \(response.text)")
          #expect(
            (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) != nil,
            "\(route.method) \(uri): \(response.text)")
        }
      }
    }
  }

  // MARK: Limits

  /// The limiter's arithmetic is tested with explicit instants; this checks
  /// the wiring. A burst of 12 requests at one token a second has some
  /// refused however slowly a loaded machine serves them (two requests in a
  /// row could be a second apart, and both admitted).
  @Test func rateLimit() async throws {
    let configuration = ServerConfiguration(maxConcurrentRequests: 100, maxRequestsPerSecond: 1, authentication: .callerHeader)
    try await HTTPFixture.withClient(configuration: configuration) { client in
      let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
        for _ in 0..<12 { group.addTask { try await client.call(.get, "/v1/flask/enforce") } }
        return try await group.reduce(into: [TestResponse]()) { $0.append($1) }
      }
      let limited = responses.filter { $0.status.code == 429 }
      #expect(responses.allSatisfy { $0.status == .ok || $0.status.code == 429 }, "\(responses.map { "\($0.status.code) \($0.text)" })")
      #expect(limited.count >= 1 && limited.count < responses.count, "at least one served, at least one refused")
      let refusal = try #require(limited.first)
      expectError(refusal, 429, "server.rate-limited")
      #expect(refusal.headers[.retryAfter] == "1")
      // Health and metrics are not limited.
      #expect(try await client.call(.get, "/healthz", caller: nil).status == .ok)
      #expect(try await client.call(.get, "/metrics", caller: nil).text.contains(#"status="429"} \#(limited.count)"#))
    }
  }

  @Test func concurrencyLimit() async throws {
    try await HTTPFixture.withClient(configuration: ServerConfiguration(maxConcurrentRequests: 0, authentication: .callerHeader)) { client in
      let busy = try await client.call(.get, "/v1/xsm/identity", caller: nil)
      expectError(busy, 503, "server.busy")
      #expect(busy.headers[.retryAfter] == "1")
      #expect(try await client.call(.get, "/readyz", caller: nil).status == .ok)
    }
    let limiter = RequestLimiter(maxConcurrent: 2, ratePerSecond: 1000)
    #expect(limiter.admit() == .admitted)
    #expect(limiter.admit() == .admitted)
    #expect(limiter.admit() == .busy)
    limiter.release()
    #expect(limiter.admit() == .admitted)
    #expect(limiter.inFlight == 2)

    let bucket = RequestLimiter(maxConcurrent: 100, ratePerSecond: 2)
    let start = ContinuousClock.now
    #expect(bucket.admit(now: start) == .admitted)
    bucket.release()
    #expect(bucket.admit(now: start) == .admitted)
    bucket.release()
    #expect(bucket.admit(now: start) == .rateLimited)
    #expect(bucket.admit(now: start + .milliseconds(600)) == .admitted)
  }

  @Test func loopbackAddresses() {
    for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
      #expect(ServerConfiguration.isLoopback(host), "\(host)")
    }
    for host in ["0.0.0.0", "10.0.0.1", "::", "example.com", "127.0.0.300", "128.0.0.1"] {
      #expect(!ServerConfiguration.isLoopback(host), "\(host)")
    }
  }

  // MARK: Metrics

  @Test func metrics() async throws {
    try await HTTPFixture.withClient { client in
      _ = try await client.call(.get, "/v1/flask/enforce")
      _ = try await client.call(.get, "/v1/flask/enforce")
      _ = try await client.call(.get, "/v1/flask/enforce", caller: nil)
      _ = try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web"}"#)
      _ = try await client.call(.delete, "/v1/domains/4242")
      _ = try await client.call(.get, "/nowhere")
      let metrics = try await client.call(.get, "/metrics", caller: nil)
      #expect(metrics.status == .ok)
      #expect(metrics.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
      let text = metrics.text
      for line in [
        #"xsmd_requests_total{route="/v1/flask/enforce",method="GET",status="200"} 2"#,
        #"xsmd_requests_total{route="/v1/flask/enforce",method="GET",status="400"} 1"#,
        #"xsmd_requests_total{route="/v1/can",method="POST",status="200"} 1"#,
        #"xsmd_requests_total{route="/v1/domains/{domid}",method="DELETE",status="404"} 1"#,
        #"xsmd_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        #"xsmd_request_duration_seconds_bucket{route="/v1/flask/enforce",le="+Inf"} 3"#,
        #"xsmd_request_duration_seconds_count{route="/v1/flask/enforce"} 3"#,
        "# TYPE xsmd_request_duration_seconds histogram",
        "# TYPE xsmd_requests_total counter",
        "# TYPE xsmd_decisions_total counter",
        #"xsmd_decisions_total{module="flask",family="domctl",verdict="allowed"} 1"#,
        #"xsmd_decisions_total{module="flask",family="domctl",verdict="denied"} 0"#,
        "xsmd_domains 12.0",
      ] {
        #expect(text.contains(line + "\n"), "\(line)")
      }
      for name in [
        "xsmd_decision_cache_hits_total", "xsmd_decision_cache_misses_total", "xsmd_policy_sequence",
        "xsmd_decisions_logged", "xsmd_request_duration_seconds_sum",
      ] {
        #expect(text.contains("\n\(name)"), "\(name)")
      }
      #expect(text.contains("\nxsmd_decisions_logged 1.0\n"))
      // Golden: the metric names and types (keep them stable for dashboards).
      let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.dropFirst(7)) }.sorted()
      if let difference = Snapshot.difference(types.joined(separator: "\n") + "\n", named: "service/metric-names.txt") {
        Issue.record("\(difference)")
      }
      // A batch counts each of its decisions.
      _ = try await client.call(.post, "/v1/can/batch",
        json: #"{"module":"dummy","queries":[{"caller":"web","op":"domctl.pause","target":"db"},{"caller":"web","op":"domctl.pause","target":"db"},{"caller":"dom0","op":"evtchn.status","target":"web","arguments":["remote=dom0"]}]}"#)
      let after = try await client.call(.get, "/metrics", caller: nil).text
      #expect(after.contains(#"xsmd_decisions_total{module="dummy",family="domctl",verdict="denied"} 2"# + "\n"), "\(after)")
      #expect(after.contains(#"xsmd_decisions_total{module="dummy",family="evtchn",verdict="allowed"} 1"# + "\n"))
      // Histogram buckets are cumulative.
      let buckets = text.split(separator: "\n").filter {
        $0.hasPrefix(#"xsmd_request_duration_seconds_bucket{route="/v1/flask/enforce""#)
      }.compactMap { Int($0.split(separator: " ").last ?? "") }
      #expect(buckets.count == RequestMetrics.bucketBounds.count + 1)
      #expect(buckets == buckets.sorted())
    }
  }

  // MARK: OpenAPI

  @Test func openAPIDocumentMatchesRoutesAndCommittedCopy() async throws {
    let document = openAPIDocument()
    let committed = try String(
      contentsOf: HTTPFixture.repositoryRoot.appendingPathComponent("docs/openapi.json"), encoding: .utf8)
    #expect(document == committed, "docs/openapi.json is stale: run `xsmd --openapi > docs/openapi.json`")

    try await HTTPFixture.withClient { client in
      let served = try await client.call(.get, "/openapi.json", caller: nil)
      #expect(served.status == .ok)
      #expect(served.headers[.contentType] == "application/json")
      #expect(served.text == document)
    }

    let root = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
    #expect(root["openapi"] as? String == "3.0.3")
    let paths = try #require(root["paths"] as? [String: [String: Any]])
    let routes = RouteTable.shared.routes
    #expect(paths.values.map(\.count).reduce(0, +) == routes.count)
    for route in routes {
      let operation = try #require(paths[route.path]?[route.method.rawValue.lowercased()] as? [String: Any])
      #expect(operation["operationId"] as? String == route.operationID)
      let parameters = operation["parameters"] as? [[String: Any]] ?? []
      let hasCaller = parameters.contains { $0["$ref"] as? String == "#/components/parameters/XenCaller" }
      #expect(hasCaller == route.needsCaller, "\(route.path)")
    }
    #expect(Set(routes.map { "\($0.method.rawValue) \($0.path)" }).count == routes.count)

    // Every reference resolves.
    var references: [String] = []
    func collect(_ value: Any) {
      if let object = value as? [String: Any] {
        if let ref = object["$ref"] as? String { references.append(ref) }
        object.values.forEach(collect)
      } else if let array = value as? [Any] {
        array.forEach(collect)
      }
    }
    collect(root)
    #expect(!references.isEmpty)
    for reference in Set(references) {
      let parts = reference.dropFirst(2).split(separator: "/").map(String.init)
      var node: Any? = root
      for part in parts { node = (node as? [String: Any])?[part] }
      #expect(node != nil, "\(reference)")
    }

    // Request schemas name the fields the types decode, in snake_case.
    let schemas = try #require((root["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
    let can = try #require(schemas["CanRequest"]?["properties"] as? [String: Any])
    #expect(Set(can.keys) == [
      "caller", "op", "target", "module", "all_modules", "why", "arguments", "situations", "object", "irq", "pci",
      "iomem", "ioport", "dt",
    ])
    #expect(schemas["CanRequest"]?["required"] as? [String] == ["op"])
    #expect(schemas["HostDomain"]?["properties"].flatMap { ($0 as? [String: Any])?["self_sid"] } != nil)
    #expect(JSONKeys.snakeCase("selfSID") == "self_sid")
    #expect(JSONKeys.snakeCase("allowedNames") == "allowed_names")
  }
}
