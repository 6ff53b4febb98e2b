import Foundation
import Testing
import XSMCatalog
import XSMEngine
import XSMProtocol
import XSMService
@testable import XSMServiceHTTP

// The /v1/can route reads its body and writes its reply by hand; these
// check it against what JSONDecoder and JSONEncoder (WireJSON) do.

@Suite("/v1/can codec")
struct CanCodecTests {
  func decode(_ text: String) throws(ServiceError) -> CanRequestV1 { try CanCodec.decode(Array(text.utf8)) }

  /// Every op of the catalog, asked with and without the trace, by three
  /// callers: the written reply is the encoder's bytes.
  @Test func writesWhatTheEncoderWrites() async throws {
    let service = try await HTTPFixture.service()
    let catalog = try #require(HTTPFixture.catalog)
    let encoder = WireJSON.makeEncoder()
    var compared = 0
    for op in catalog.ops {
      for caller in ["dom0", "web-dm", "web"] {
        for why in [false, true] {
          let target = op.positionalArgument == nil ? nil : "web"
          guard let reply = try? service.can(CanRequestV1(op: op.name, target: target, allModules: why ? true : nil,
            why: why), caller: Caller(caller)) else { continue }
          let written = CanCodec.encode(reply).body
          let expected = Array(try encoder.encode(reply))
          #expect(written == expected, "\(op.name) \(caller) why=\(why)")
          compared += 1
        }
      }
    }
    #expect(compared > 1000)
    // Strings the policy never holds, rule citations and every optional field.
    let citation = RuleCitationV1(kind: "allow", file: "a/b.te", line: 3, column: 0, rule: "allow a b:c d;",
      macroCalls: [MacroCallV1(name: "m", call: "m(a, b)", file: "x.spt", line: 9)], condition: "!flag")
    var step = TraceStepV1(outcome: .permissive, layer: "flask", text: "q\"u\\o/t\u{1}e\n\t\u{7f}é😀\u{2028}",
      subject: "s", object: "o", rules: ["r1", ""], source: "xen/x.c f")
    step.origins = [citation]
    step.closest = []
    step.switchedOff = [citation, citation]
    step.forbiddenBy = [citation]
    step.originNote = "note\r\u{8}\u{c}"
    let reply = CanReplyV1(caller: "c", op: "o", target: "-", verdict: .invalid,
      decisions: [DecisionV1(module: .silo, verdict: .denied, error: "-EPERM", trace: [step], wouldDeny: ["w"],
        returned: "<denied>", delivery: .value)], sequence: nil, arguments: nil)
    #expect(String(decoding: CanCodec.encode(reply).body, as: UTF8.self)
      == String(decoding: try encoder.encode(reply), as: UTF8.self))
  }

  @Test func readsWhatTheDecoderReads() throws {
    let text = #" {"caller":"dom0","op":"domctl.pause","target":"we\u0062","module":"silo","all_modules":false,"why":true,"arguments":["remote=dom0"],"situations":[],"object":null,"irq":7,"pci":"00:02.0","iomem":"0x1","ioport":"0x3f8","dt":"/a"} "#
    let fast = try decode(text)
    let slow = try WireJSON.makeDecoder().decode(CanRequestV1.self, from: Data(text.utf8))
    #expect(fast.caller == slow.caller && fast.op == slow.op && fast.target == "web" && slow.target == "web")
    #expect(fast.module == .silo && fast.allModules == false && fast.why == true)
    #expect(fast.arguments == ["remote=dom0"] && fast.situations == [] && fast.object == nil)
    #expect(fast.irq == 7 && fast.pci == slow.pci && fast.iomem == slow.iomem && fast.ioport == slow.ioport)
    #expect(fast.dt == "/a")
    #expect(try decode(#"{"op":"x"}"#).target == nil)
  }

  @Test(arguments: [
    ("", "request.malformed"), ("{}", "request.malformed"), (#"{"op":null}"#, "request.malformed"),
    (#"{"op":"a","op":"b"}"#, "request.malformed"), (#"{"op":"a",}"#, "request.malformed"),
    (#"{"op":"a"} {}"#, "request.malformed"), (#"{"op":"a","allModules":true}"#, "request.unknown-field"),
    (#"{"op":"a","why":"yes"}"#, "request.malformed"), (#"{"op":"a","module":"selinux"}"#, "request.malformed"),
    (#"{"op":"a","irq":-1}"#, "request.malformed"), (#"{"op":"a","arguments":"x=1"}"#, "request.malformed"),
    (#"{"op":1}"#, "request.malformed"), ("[]", "request.malformed"), (#"{"op":"a""#, "request.malformed"),
  ])
  func rejectsBadInput(_ text: String, _ code: String) {
    expectRefusal(text, code) { () throws(ServiceError) in _ = try decode(text) }
  }

  @Test func rejectsBytesThatAreNotUTF8() {
    #expect(throws: ServiceError.self) { _ = try CanCodec.decode([0x7B, 0x22, 0x6F, 0x70, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
  }
}
