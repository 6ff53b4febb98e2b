import Foundation
import Testing
@testable import XSMServiceHTTP
import XSMEngine
import XSMService
import XSMProtocol
import XSMWire

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

  /// The second domain and the device, as `/v1/can` and `xsmq can` take them.
  @Test func readsTheObjectAndDeviceFields() throws {
    let r = try decode(#"{"queries":[{"caller":"dom0","op":"o","object":"web","irq":4294967295,"pci":"00:02.0","iomem":"0xfee00","ioport":"0x3f8","dt":"/soc/uart"},{"caller":"a","op":"b","irq":0,"object":null}]}"#)
    #expect(r.queries[0].object == "web")
    #expect(r.queries[0].irq == UInt32.max)
    #expect(r.queries[0].pci == "00:02.0")
    #expect(r.queries[0].iomem == "0xfee00")
    #expect(r.queries[0].ioport == "0x3f8")
    #expect(r.queries[0].dt == "/soc/uart")
    #expect(r.queries[1].irq == 0 && r.queries[1].object == nil)
  }

  @Test(arguments: [
    #"{"queries":[{"caller":"a","op":"b","irq":-1}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":1.5}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":1e3}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":"3"}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":4294967296}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":012}]}"#,
    #"{"queries":[{"caller":"a","op":"b","irq":}]}"#,
  ])
  func rejectsAnIRQThatIsNotAnUnsigned32BitInteger(_ text: String) {
    #expect(throws: ServiceError.self, "\(text)") { _ = try decode(text) }
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
    expectRefusal(text, code) { () throws(ServiceError) in _ = try decode(text) }
  }

  /// Folding repeated queries by their bytes keeps every query's place.
  @Test func foldsRepeatedQueriesByTheirBytes() throws {
    let a = #"{"caller":"dom0","op":"domctl.pause","target":"web"}"#
    let b = #"{"caller":"web","op":"evtchn.status","target":"db","arguments":["remote=dom0"],"irq":3}"#
    let c = #"{"caller":"dom0","op":"domctl.pause","target":"we\u0062"}"#
    let text = #"{"queries":["# + [a, b, a, c, b, a].joined(separator: " , ") + "]}"
    let folded = try BatchCodec.decodeDistinct(Array(text.utf8))
    #expect(folded.distinct.count == 3)
    #expect(folded.order == [0, 1, 0, 2, 1, 0])
    let plain = try decode(text).queries
    for (k, j) in folded.order.enumerated() {
      #expect(folded.distinct[Int(j)].caller == plain[k].caller && folded.distinct[Int(j)].target == plain[k].target)
    }
    // A bad query is reported at its own place, folded or not.
    let bad = #"{"queries":["# + a + "," + a + #",{"caller":"x","op":"y","nope":1}]}"#
    do {
      _ = try BatchCodec.decodeDistinct(Array(bad.utf8))
      Issue.record("accepted \(bad)")
    } catch let error as ServiceError {
      #expect(error.message.contains("queries[2].nope"), "\(error)")
    } catch {
      Issue.record("\(error)")
    }
  }

  /// Thousands of distinct queries (the fold's table grows several times) among repeats, with
  /// strings holding `}`, `]`, `{` and escaped quotes: each query keeps its place and its own question.
  @Test func foldKeepsEveryQueryAcrossGrowthAndTrickyStrings() throws {
    var queries: [String] = []
    for k in 0..<3000 {
      let target = ["web", #"a}b"#, #"c]\"d"#, #"{e["#][k % 4]
      queries.append(#"{"caller":"dom\#(k % 7)","op":"op\#(k)","target":"\#(target)"}"#)
      if k % 3 == 0 { queries.append(queries[k / 2]) }
    }
    let text = #"{"queries":["# + queries.joined(separator: ",") + "]}"
    let folded = try BatchCodec.decodeDistinct(Array(text.utf8))
    let plain = try decode(text).queries
    #expect(folded.distinct.count == 3000)
    #expect(folded.order.count == plain.count)
    for (k, j) in folded.order.enumerated() {
      let q = folded.distinct[Int(j)]
      #expect(q.caller == plain[k].caller && q.op == plain[k].op && q.target == plain[k].target, "query \(k)")
    }
  }

  /// Bytes made to collide cost the folding, never quadratic time: a probe stops after
  /// `QueryFold.maximumProbe` slots, and a query found nowhere is decoded as a new question.
  @Test func collidingHashesAreProbedABoundedDistance() {
    let bytes = Array((0..<200).map { "{\"n\":\($0 % 10)}" }.joined().utf8)
    var fold = QueryFold()
    let width = 7
    for k in 0..<100 { fold.insert((k * width)..<(k * width + width), hash: 42, index: Int32(k)) }
    // The first `maximumProbe` are kept and found; the rest found no free slot within reach.
    for k in 0..<QueryFold.maximumProbe {
      #expect(fold.index(of: (k * width)..<(k * width + width), hash: 42, in: bytes) == Int32(k % 10))
    }
    #expect(fold.index(of: (90 * width)..<(90 * width + width), hash: 42, in: bytes) == Int32(0))
    #expect(fold.index(of: 0..<width, hash: 43, in: bytes) == nil)
    #expect(QueryFold.hash(bytes, 0..<width) == QueryFold.hash(bytes, (10 * width)..<(11 * width)))
    #expect(QueryFold.hash(bytes, 0..<width) != QueryFold.hash(bytes, width..<(2 * width)))
  }

  /// The batch route reads a query's verdict from the memo only when it names no option;
  /// `namesNoOptions` must say so exactly when `OpQuestion.Options(query)` is empty, for every option
  /// the options have (a new one fails the count below until it is checked here and there).
  @Test func namesNoOptionsAgreesWithTheOptions() {
    #expect(Mirror(reflecting: OpQuestion.Options()).children.count == 6)
    var plain = BatchRequestV1.Query(caller: "dom0", op: "domctl.pause", target: "web")
    #expect(plain.namesNoOptions && OpQuestion.Options(plain) == OpQuestion.Options())
    let setters: [(inout BatchRequestV1.Query) -> Void] = [
      { $0.object = "web" }, { $0.irq = 0 }, { $0.pci = "00:02.0" }, { $0.iomem = "0xfee00" }, { $0.ioport = "0x3f8" },
      { $0.dt = "/soc" },
    ]
    for set in setters {
      var q = plain
      set(&q)
      #expect(!q.namesNoOptions && OpQuestion.Options(q) != OpQuestion.Options(), "\(q)")
    }
    plain.arguments = ["remote=dom0"]
    #expect(plain.namesNoOptions, "arguments are not options")
  }

  @Test func writesSortedKeys() {
    let reply = BatchCodec.encode(BatchReplyV1(verdicts: [.allowed, .denied, .invalid], sequence: 7))
    #expect(String(decoding: reply.body, as: UTF8.self) == #"{"sequence":7,"verdicts":["allowed","denied","invalid"]}"#)
  }
}

/// Asserts that `read` refuses `text` with a 400 of `code`.
func expectRefusal(_ text: String, _ code: String, sourceLocation: SourceLocation = #_sourceLocation,
  _ read: () throws(ServiceError) -> Void)
{
  do {
    try read()
    Issue.record("accepted \(text)", sourceLocation: sourceLocation)
  } catch {
    #expect(error.code == code && error.status == 400, "\(text): \(error)", sourceLocation: sourceLocation)
  }
}
