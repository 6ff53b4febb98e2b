import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import XSMService

@testable import XSMServiceHTTP

@Suite("Binary hypercall endpoint over HTTP")
struct HypercallHTTPTests {
  /// A hypercall that reached the handler is 200 with the preamble, whatever
  /// its ret; HTTP errors stay HTTP: unknown op 404, wrong media type 415,
  /// no caller 400.
  @Test func statusesStayHTTP() async throws {
    try await HTTPFixture.withClient { client in
      let ok = try await client.call(.post, "/v1/hypercall/flask/getenforce", bytes: try HypercallWire.request("flask.getenforce"))
      #expect(ok.status == .ok && ok.headers[.contentType] == "application/octet-stream")
      let reply = try HypercallWire.reply("flask.getenforce", Array(buffer: ok.body))
      #expect(reply.ret == 1 && reply.record?["enforcing"] == 1)
      let malformed = try await client.call(.post, "/v1/hypercall/flask/access", bytes: [1, 0, 0])
      #expect(malformed.status == .ok)
      #expect(try HypercallWire.reply("flask.access", Array(buffer: malformed.body)).ret == XenErrno.einval)
      let identity = try await client.call(.post, "/v1/hypercall/xsmid/identity", bytes: try HypercallWire.request("xsmid.identity"))
      #expect(try HypercallWire.reply("xsmid.identity", Array(buffer: identity.body)).record?["module"] == 3)
      #expect(try await client.call(.post, "/v1/hypercall/flask/disable", bytes: []).status == .notFound)
      #expect(try await client.call(.post, "/v1/hypercall/flask/getenforce", json: "{}").status == .unsupportedMediaType)
      #expect(try await client.call(.post, "/v1/hypercall/flask/getenforce", caller: nil, bytes: []).status == .badRequest)
    }
  }
}
