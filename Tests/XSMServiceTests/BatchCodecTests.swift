import Foundation
import Testing
@testable import XSMServiceHTTP
import XSMService
import XSMProtocol

@Suite("Batch route codec")
struct BatchCodecTests {
  func decode(_ text: String) throws(ServiceError) -> BatchRequestV1 { try BatchCodec.decode(Array(text.utf8)) }

  @Test func readsTheShapeWithEscapesAndNulls() throws {
    let r = try decode(#" { "module" : "silo", "queries": [ {"caller":"dom0","op":"domctl.pause","target":"we\u0062"}, {"op":"x\"y\\z\/\n","caller":"d\uD83D\uDE00","target":null} , {"caller":"a","op":"b"} ] } "#)
    #expect(r.module == .silo)
    #expect(r.queries.count == 3)
    #expect(r.queries[0].target == "web")
    #expect(r.queries[1].op == "x\"y\\z/\n")
    #expect(r.queries[1].caller == "d😀")
    #expect(r.queries[1].target == nil && r.queries[2].target == nil)
    #expect(try decode(#"{"queries":[]}"#).queries.isEmpty)
  }

  @Test(arguments: [
    (#"{"queries":[{"caller":"a","op":"b","tagret":"c"}]}"#, "request.unknown-field"),
    (#"{"querys":[]}"#, "request.unknown-field"),
    (#"{"queries":[{"op":"b"}]}"#, "request.malformed"),
    (#"{"queries":[{"caller":"a","op":"b"}"#, "request.malformed"),
    (#"{"queries":[{"caller":"a","op":"b"}]} x"#, "request.malformed"),
    (#"{"module":"selinux","queries":[]}"#, "request.malformed"),
    (#"{"queries":[{"caller":"a\q","op":"b"}]}"#, "request.malformed"),
    (#"{"queries":[{"caller":"\uD800","op":"b"}]}"#, "request.malformed"),
    ("", "request.malformed"),
    ("[1,2]", "request.malformed"),
    (#"{"module":"dummy"}"#, "request.malformed"),
  ])
  func rejectsBadInput(_ text: String, _ code: String) {
    do {
      _ = try decode(text)
      Issue.record("accepted \(text)")
    } catch {
      #expect(error.code == code && error.status == 400, "\(text): \(error)")
    }
  }

  @Test func writesSortedKeys() {
    let reply = BatchCodec.encode(BatchReplyV1(verdicts: [.allowed, .denied, .invalid], sequence: 7))
    #expect(String(decoding: reply.body, as: UTF8.self) == #"{"sequence":7,"verdicts":["allowed","denied","invalid"]}"#)
  }
}
