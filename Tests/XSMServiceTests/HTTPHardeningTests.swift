import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import XSMService

@testable import XSMServiceHTTP

#if canImport(Glibc)
  import Glibc
#endif

/// A plain TCP client for what HTTP clients will not send: stalled bodies,
/// bad chunk sizes, HTTP/1.0.
struct RawConnection {
  let fd: Int32

  init(port: Int) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
  }

  func send(_ text: String) {
    _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, 0) }
  }

  /// What arrives within `seconds`, and whether the server closed the connection.
  func receive(for seconds: Double) -> (text: String, closed: Bool) {
    var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
      if n < 0 { return (String(decoding: received, as: UTF8.self), false) }
      received += buffer[0..<n]
    }
  }

  func close() { _ = Glibc.close(fd) }
}

@Suite("HTTP hardening")
struct HTTPHardeningTests {
  @Test("JSON bodies are strict: trailing commas, duplicate keys and UTF-16 are 400 with their own codes")
  func strictJSON() async throws {
    try await HTTPFixture.withClient { client in
      let cases: [(String, String)] = [
        (#"{"enforcing": true,}"#, "request.malformed"),
        (#"{"enforcing": [true,]}"#, "request.malformed"),
        (#"{"enforcing": true, "enforcing": false}"#, "request.duplicate-key"),
        (#"{"enforcing": true} x"#, "request.malformed"),
        (#"{"enforcing": tru}"#, "request.malformed"),
        (#"{"enforcing": true, "x": 1}"#, "request.unknown-field"),
        (#"{"enforcing": 1}"#, "request.malformed"),
      ]
      for (body, code) in cases {
        let response = try await client.call(.put, "/v1/flask/enforce", json: body)
        #expect(response.status == .badRequest, "\(body)")
        #expect(String(buffer: response.body).contains(#""code":"\#(code)""#), "\(body): \(String(buffer: response.body))")
      }
      let utf16: [UInt8] = [0xFF, 0xFE] + Array(#"{"enforcing":true}"#.utf8).flatMap { [$0, 0] }
      let wide = try await client.call(.put, "/v1/flask/enforce", bytes: utf16, contentType: "application/json")
      #expect(String(buffer: wide.body).contains(#""code":"request.not-utf8""#))
      let good = try await client.call(.put, "/v1/flask/enforce", json: #" {"enforcing" : true} "#)
      #expect(good.status == .ok)
    }
  }

  @Test("the tree decoder reads what JSONDecoder reads: snake_case keys, nested values, exact integers")
  func treeDecoder() throws {
    struct Inner: Decodable, Equatable { var someValue: UInt32 }
    struct Outer: Decodable, Equatable {
      var firstName: String
      var items: [Inner]
      var flag: Bool?
      var ratio: Double
      var map: [String: Int]
    }
    let text = #"{"first_name":"a\u00e9\n","items":[{"some_value":4294967295}],"ratio":-1.5e2,"map":{"k":-3}}"#
    let value = try StrictJSON.parse(Array(text.utf8))
    let decoded = try Outer(from: JSONTreeDecoder(value))
    #expect(decoded == Outer(firstName: "aé\n", items: [Inner(someValue: .max)], flag: nil, ratio: -150, map: ["k": -3]))
    let tooBig = try StrictJSON.parse(Array(#"{"some_value":4294967296}"#.utf8))
    #expect(throws: DecodingError.self) { try Inner(from: JSONTreeDecoder(tooBig)) }
  }

  @Test("HEAD answers where GET does, with no body")
  func head() async throws {
    try await HTTPFixture.withClient { client in
      let response = try await client.execute(uri: "/healthz", method: .head)
      #expect(response.status == .ok)
      #expect(response.body.readableBytes == 0)
      let identity = try await client.execute(uri: "/v1/xsm/identity", method: .head, headers: [HTTPField.Name("Xen-Caller")!: "dom0"])
      #expect(identity.status == .ok)
    }
  }

  @Test("over a real socket: a bad chunk size is 400, HTTP/1.0 is closed after the reply, stalled clients are dropped")
  func realSocket() async throws {
    let timeouts = ConnectionTimeouts(requestHead: .seconds(1), requestBody: .seconds(1), idle: .seconds(1))
    let configuration = ServerConfiguration(
      port: 0, maxConcurrentRequests: 1, authentication: .callerHeader, timeouts: timeouts)
    let (addresses, announce) = AsyncStream.makeStream(of: String.self)
    let app = try makeApplication(service: try await HTTPFixture.service(), configuration: configuration) { address in
      announce.yield(address)
    }
    let server = Task { try await app.runService() }
    defer { server.cancel() }
    var iterator = addresses.makeAsyncIterator()
    let address = try #require(await iterator.next())
    let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })

    let chunked = try RawConnection(port: port)
    chunked.send("PUT /v1/flask/enforce HTTP/1.1\r\nHost: x\r\nXen-Caller: dom0\r\nContent-Type: application/json\r\n"
      + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    let framing = chunked.receive(for: 30)
    #expect(framing.text.hasPrefix("HTTP/1.1 400"), "\(framing)")
    #expect(framing.text.contains("request.bad-framing"))
    chunked.close()

    let old = try RawConnection(port: port)
    old.send("GET /healthz HTTP/1.0\r\n\r\n")
    let reply = old.receive(for: 30)
    #expect(reply.text.hasPrefix("HTTP/1.1 200") && reply.closed, "\(reply)")
    #expect(reply.text.lowercased().contains("connection: close"))
    old.close()

    // Headers and one body byte, then nothing: with one request slot, the
    // stalled client is dropped and the slot is free again.
    let stalled = try RawConnection(port: port)
    stalled.send("PUT /v1/flask/enforce HTTP/1.1\r\nHost: x\r\nXen-Caller: dom0\r\nContent-Type: application/json\r\n"
      + "Content-Length: 20\r\n\r\n{")
    #expect(stalled.receive(for: 30).closed)
    stalled.close()
    let after = try RawConnection(port: port)
    after.send("GET /v1/flask/enforce HTTP/1.1\r\nHost: x\r\nXen-Caller: dom0\r\n\r\n")
    let afterReply = after.receive(for: 30)
    #expect(afterReply.text.hasPrefix("HTTP/1.1 200"), "\(afterReply)")
    // ... and the keep-alive connection is closed once idle.
    #expect(afterReply.closed, "\(afterReply)")
    after.close()

    let halfHead = try RawConnection(port: port)
    halfHead.send("GET /healthz HTTP/1.1\r\nHo")
    #expect(halfHead.receive(for: 30).closed)
    halfHead.close()
  }
}
