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
  /// `ByteRangeTable.maximumProbe` slots, and a query found nowhere is decoded as a new question.
  @Test func collidingHashesAreProbedABoundedDistance() {
    typealias Fold = ByteRangeTable<Int32>
    let bytes = Array((0..<200).map { "{\"n\":\($0 % 10)}" }.joined().utf8)
    var fold = Fold()
    let width = 7
    for k in 0..<100 { fold.insert((k * width)..<(k * width + width), hash: 42, value: Int32(k)) }
    // The first `maximumProbe` are kept and found; the rest found no free slot within reach.
    #expect(fold.count == Fold.maximumProbe)
    for k in 0..<Fold.maximumProbe {
      #expect(fold.value(of: (k * width)..<(k * width + width), hash: 42, in: bytes) == Int32(k % 10))
    }
    #expect(fold.value(of: (90 * width)..<(90 * width + width), hash: 42, in: bytes) == Int32(0))
    #expect(fold.value(of: 0..<width, hash: 43, in: bytes) == nil)
    #expect(ByteHash.of(bytes, 0..<width) == ByteHash.of(bytes, (10 * width)..<(11 * width)))
    #expect(ByteHash.of(bytes, 0..<width) != ByteHash.of(bytes, width..<(2 * width)))
  }

  /// The one-pass hash up to the first `}` is the hash of that range, wherever the `}` falls in
  /// an eight-byte word and however near the end of the bytes; with no `}`, there is none.
  @Test func hashToTheFirstCloseIsTheRangesHash() {
    for length in 1..<40 {
      for close in 0..<length {
        var bytes = (0..<length).map { UInt8(0x41 + $0 % 26) }
        bytes[close] = 0x7D
        if close + 2 < length { bytes[close + 2] = 0x7D }
        for start in 0...close {
          let found = ByteHash.toFirstClose(bytes, from: start)
          #expect(found?.end == close + 1, "length \(length), } at \(close), from \(start)")
          #expect(found?.hash == ByteHash.of(bytes, start..<(close + 1)), "length \(length), } at \(close), from \(start)")
        }
      }
      #expect(ByteHash.toFirstClose((0..<length).map { UInt8(0x41 + $0 % 26) }, from: 0) == nil)
    }
    // Lengths differ in the hash even where the bytes read as the same words.
    #expect(ByteHash.of([0x7B, 0], 0..<1) != ByteHash.of([0x7B, 0], 0..<2))
  }

  /// A repeat is looked for up to its first `}` until a query holds one in a string, and at
  /// its true end after that: a body whose first such query comes late, and one where it
  /// comes first, fold as the plain decode reads them.
  @Test func foldFindsRepeatsBeforeAndAfterABraceInAString() throws {
    let plainQuery = #"{"caller":"dom0","op":"domctl.pause","target":"web"}"#
    let braced = #"{"caller":"dom0","op":"x}y","target":"web"}"#
    let prefixOfBraced = #"{"caller":"dom0","op":"x}"#
    for queries in [
      [plainQuery, plainQuery, braced, plainQuery, braced, braced],
      [braced, plainQuery, braced, plainQuery],
    ] {
      let text = #"{"queries":["# + queries.joined(separator: ",") + "]}"
      let folded = try BatchCodec.decodeDistinct(Array(text.utf8))
      #expect(folded.distinct.count == 2)
      let plain = try decode(text).queries
      for (k, j) in folded.order.enumerated() {
        #expect(folded.distinct[Int(j)].op == plain[k].op, "query \(k) of \(queries)")
      }
    }
    // An object cut at a `}` inside a string is not a query: it is malformed, folded or not.
    let cut = #"{"queries":["# + braced + "," + prefixOfBraced + "]}"
    expectRefusal(cut, "request.malformed") { () throws(ServiceError) in _ = try BatchCodec.decodeDistinct(Array(cut.utf8)) }
  }

  /// Strings are read once per body and reused by their bytes; a string with escapes is
  /// decoded where it stands, and past `maximumInterned` distinct strings each is decoded afresh.
  @Test func stringsAreReusedByTheirBytes() throws {
    let long = "a-domain-name-of-20b"
    var reader = BatchReader(bytes: Array(#" "dom0" "evtchn.bind_interdomain" "dom0" "a-domain-name-of-20\u0062" "evtchn.bind_interdomain" "a-domain-name-of-20b" "#.utf8))
    let read = try (0..<6).map { _ throws(ServiceError) in try reader.string() }
    #expect(read == ["dom0", "evtchn.bind_interdomain", "dom0", long, "evtchn.bind_interdomain", long])
    // Kept: the two longer than 15 bytes without escapes.
    #expect(reader.strings.count == 2)
    var many: [String] = []
    for k in 0..<(BatchReader.maximumInterned + 10) { many.append("\"string-number-\(k)\"") }
    var full = BatchReader(bytes: Array((many + many).joined(separator: " ").utf8))
    for round in 0..<2 {
      for k in 0..<many.count { #expect(try full.string() == "string-number-\(k)", "round \(round)") }
    }
    #expect(full.strings.count == BatchReader.maximumInterned)
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
    func text(_ reply: BatchReplyV1) -> String { String(decoding: BatchCodec.encode(reply).body, as: UTF8.self) }
    #expect(text(BatchReplyV1(verdicts: [.allowed, .denied, .invalid], sequence: 7))
      == #"{"sequence":7,"verdicts":["allowed","denied","invalid"]}"#)
    #expect(text(BatchReplyV1(verdicts: [.denied], sequence: nil)) == #"{"sequence":null,"verdicts":["denied"]}"#)
    #expect(text(BatchReplyV1(verdicts: [], sequence: 12)) == #"{"sequence":12,"verdicts":[]}"#)
    // The same as the JSON encoder's, for a long reply.
    let many = (0..<1000).map { VerdictV1.allCases[($0 * 7) % 3] }
    let encoded = try? JSONSerialization.jsonObject(with: Data(BatchCodec.encode(BatchReplyV1(verdicts: many, sequence: 3)).body))
    #expect((encoded as? [String: Any])?["verdicts"] as? [String] == many.map(\.rawValue))
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
