import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import XSMEngine
import XSMProtocol
@testable import XSMService
import XSMTestSupport

@testable import XSMServiceHTTP

// Who is calling, under authentication: bearer tokens over TCP (here through
// the router), the header that may only repeat the authenticated domain, and
// the token routes. The Unix socket's uid mapping is tested with the built
// xsmd in LiveAuthTests.

private struct TokenFixture: Sendable {
  let service: FlaskService
  let dom0: String
  let guest: String

  init() async throws {
    service = try await HTTPFixture.service()
    dom0 = try await service.tokens.issue(domid: 0).token
    // `web` (domid 5) is a domU_t guest.
    guest = try await service.tokens.issue(domid: 5).token
  }

  func withClient<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let configuration = ServerConfiguration(authentication: .credentials(uids: [:]))
    return try await makeApplication(service: service, configuration: configuration).test(.router, body)
  }
}

extension TestClientProtocol {
  /// A request with an optional bearer token and Xen-Caller header.
  fileprivate func send(
    _ method: HTTPRequest.Method, _ uri: String, token: String?, caller: String? = nil, json: String? = nil,
    bytes: [UInt8]? = nil
  ) async throws -> TestResponse {
    var headers: HTTPFields = [:]
    if let token { headers[.authorization] = "Bearer \(token)" }
    if let caller { headers[HTTPField.Name("Xen-Caller")!] = caller }
    var body: ByteBuffer?
    if let json {
      headers[.contentType] = "application/json"
      body = ByteBuffer(string: json)
    } else if let bytes {
      headers[.contentType] = "application/octet-stream"
      body = ByteBuffer(bytes: bytes)
    }
    return try await execute(uri: uri, method: method, headers: headers, body: body)
  }
}

@Suite("Caller authentication")
struct AuthTests {
  @Test func withoutAValidTokenEveryV1RouteIs401() async throws {
    let fixture = try await TokenFixture()
    try await fixture.withClient { client in
      for (method, path) in [
        (HTTPRequest.Method.get, "/v1/flask/enforce"), (.get, "/v1/xsm/identity"), (.get, "/v1/domains"),
        (.get, "/v1/auth/tokens"),
      ] {
        expectError(try await client.send(method, path, token: nil), 401, "auth.unauthenticated")
        expectError(try await client.send(method, path, token: "xsmd_00"), 401, "auth.unauthenticated")
        // The header alone grants nothing.
        expectError(try await client.send(method, path, token: nil, caller: "dom0"), 401, "auth.unauthenticated")
      }
      let basic = try await client.execute(
        uri: "/v1/flask/enforce", method: .get, headers: [.authorization: "Basic ZG9tMDo="], body: nil)
      expectError(basic, 401, "auth.unauthenticated")
      // Operations routes stay open.
      #expect(try await client.send(.get, "/healthz", token: nil).status == .ok)
      #expect(try await client.send(.get, "/openapi.json", token: nil).status == .ok)
    }
  }

  @Test func aGuestTokenIsRefusedWhatXenRefusesAGuest() async throws {
    let fixture = try await TokenFixture()
    let guest = fixture.guest
    try await fixture.withClient { client in
      // Reads a guest may make.
      #expect(try await client.send(.get, "/v1/flask/enforce", token: guest).status == .ok)
      // load, setenforce, setbool, relabel: Xen's guards refuse domU_t.
      expectError(
        try await client.send(.post, "/v1/flask/load", token: guest, bytes: EmbeddedDefaults.policyBinary), 403,
        "guard.denied")
      expectError(
        try await client.send(.put, "/v1/flask/enforce", token: guest, json: #"{"enforcing":false}"#), 403,
        "guard.denied")
      expectError(
        try await client.send(
          .post, "/v1/flask/setbool", token: guest, json: #"{"name":"guest_vpmu","value":true,"commit":true}"#), 403,
        "guard.denied")
      expectError(
        try await client.send(
          .post, "/v1/domains/4/relabel", token: guest, json: #"{"context":"user_1:vm_r:domU_t"}"#), 403,
        "guard.denied")
      // Naming dom0 in the header does not make the guest dom0.
      expectError(
        try await client.send(.put, "/v1/flask/enforce", token: guest, caller: "dom0", json: #"{"enforcing":false}"#),
        403, "auth.caller-mismatch")
      // The header may repeat the authenticated domain, by name or domN.
      #expect(try await client.send(.get, "/v1/flask/enforce", token: guest, caller: "web").status == .ok)
      #expect(try await client.send(.get, "/v1/flask/enforce", token: guest, caller: "dom5").status == .ok)
      // A guest does not manage tokens.
      expectError(
        try await client.send(.post, "/v1/auth/tokens", token: guest, json: #"{"domain":"web"}"#), 403,
        "auth.not-control")
    }
    #expect(fixture.service.identity().enforcing == true)
  }

  /// A token verified once is believed from memory afterwards, only when every byte matches.
  @Test func aVerifiedTokenIsComparedWhole() async throws {
    let fixture = try await TokenFixture()
    let dom0 = fixture.dom0
    try await fixture.withClient { client in
      #expect(try await client.send(.get, "/v1/flask/enforce", token: dom0).status == .ok)
      // Spaces and tabs around the token and the header are HTTP's optional white space.
      #expect(try await client.send(.get, "/v1/flask/enforce", token: " \t\(dom0)\t ", caller: " dom0\t").status == .ok)
      let last = dom0.last == "0" ? "1" : "0"
      for forged in [String(dom0.dropLast()) + last, String(dom0.dropLast()), dom0 + "0", dom0.uppercased()] {
        expectError(try await client.send(.get, "/v1/flask/enforce", token: forged), 401, "auth.unauthenticated")
      }
      func same(_ a: String, _ b: String) -> Bool {
        Array(a.utf8).withUnsafeBufferPointer { x in Array(b.utf8).withUnsafeBufferPointer { y in CallerTokens.sameBytes(x, y) } }
      }
      #expect(same("abc", "abc"))
      #expect(!same("abc", "abd"))
      #expect(!same("abc", "ab"))
    }
  }

  @Test func dom0IssuesAndRevokesTokens() async throws {
    let fixture = try await TokenFixture()
    let dom0 = fixture.dom0
    try await fixture.withClient { client in
      #expect(
        try await client.send(.put, "/v1/flask/enforce", token: dom0, json: #"{"enforcing":true}"#).status == .ok)
      let issued = try await client.send(.post, "/v1/auth/tokens", token: dom0, json: #"{"domain":"db"}"#)
      #expect(issued.status == .created, "\(issued.text)")
      let token = try #require(issued.object["token"] as? String)
      let id = try #require(issued.object["id"] as? String)
      #expect(issued.object["domid"] as? Int == 4)
      let asDB = try await client.send(
        .post, "/v1/can", token: token, json: #"{"op":"domctl.pause","target":"web"}"#)
      #expect(asDB.status == .ok)
      #expect(asDB.object["caller"] as? String == "dom4 (db)")
      let listed = try await client.send(.get, "/v1/auth/tokens", token: dom0)
      #expect(listed.text.contains(id))
      #expect(!listed.text.contains(token))
      #expect(try await client.send(.delete, "/v1/auth/tokens/\(id)", token: dom0).status == .ok)
      expectError(try await client.send(.get, "/v1/flask/enforce", token: token), 401, "auth.unauthenticated")
      expectError(try await client.send(.delete, "/v1/auth/tokens/\(id)", token: dom0), 404, "auth.unknown-token")
      expectError(
        try await client.send(.post, "/v1/auth/tokens", token: dom0, json: #"{"domain":"nobody"}"#), 404,
        "domain.unknown")
    }
  }

  @Test func tokensAreKeptHashedAcrossARestart() async throws {
    let scratch = NSTemporaryDirectory() + "xsmd-tokens-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let state = scratch + "/state.sqlite"
    let token: String
    do {
      let first = try await defaultService(statePath: state)
      token = try await first.tokens.issue(domid: 4).token
      first.close()
    }
    let bytes = try Data(contentsOf: URL(fileURLWithPath: state))
      + ((try? Data(contentsOf: URL(fileURLWithPath: state + "-wal"))) ?? Data())
    #expect(bytes.range(of: Data(token.utf8)) == nil, "the secret itself is in the state file")
    let second = try await defaultService(statePath: state)
    #expect(second.tokens.domid(forToken: token) == 4)
    #expect(second.tokens.domid(forToken: token + "0") == nil)
  }

  /// A token is checked in place where the header holds it; once verified it is found by its slot
  /// and compared whole, so a token sharing its slot (same length and last bytes) is refused, and a
  /// revoked token is refused although it was verified before.
  @Test func verifiedTokensAreComparedWholeAndForgottenOnRevocation() async throws {
    let service = try await defaultService()
    let issued = try await service.tokens.issue(domid: 3)
    let header = "Bearer  " + issued.token + " "
    let slice = try #require(CallerAuthenticator.bearerToken(header))
    #expect(slice == issued.token)
    #expect(service.tokens.domid(forToken: slice) == 3, "verified by its digest")
    #expect(service.tokens.domid(forToken: slice) == 3, "found again by its slot")
    var forged = Array(issued.token.utf8)
    forged[5] = forged[5] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
    #expect(service.tokens.domid(forToken: String(decoding: forged, as: UTF8.self)) == nil)
    #expect(service.tokens.domid(forToken: slice) == 3)
    try await service.tokens.revoke(id: issued.id)
    #expect(service.tokens.domid(forToken: slice) == nil)
    #expect(service.tokens.domid(forToken: issued.token) == nil)
  }
}
