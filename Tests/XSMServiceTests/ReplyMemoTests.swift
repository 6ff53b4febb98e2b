import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import XSMProtocol
import XSMService

@testable import XSMServiceHTTP

/// `/v1/can`'s reply memo: a caller's repeat of a body already answered on
/// the current snapshot gets the first answer's bytes, and is logged and
/// counted as the first was; every change publishes an empty memo, as Xen's
/// `avc_ss_reset` (xen/xsm/flask/avc.c) empties its access vector cache on a
/// load and a boolean commit (`security_load_policy`, `security_set_bools` in
/// ss/services.c) and when enforcing is turned on (`flask_security_setenforce`
/// in flask_op.c).
@Suite struct ReplyMemoTests {
  static let dom0 = Caller("dom0")

  /// The route's path through the memo: request bytes in, reply bytes out.
  static func ask(_ service: FlaskService, _ body: String, caller: Caller = dom0) throws(ServiceError) -> String {
    let bytes = try service.can(
      body: Array(body.utf8), caller: caller, decode: CanCodec.decode, encode: { CanCodec.encode($0).body })
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The same question decided afresh, without the memo.
  static func fresh(_ service: FlaskService, _ body: String, caller: Caller = dom0) throws -> String {
    String(decoding: CanCodec.encode(try service.can(try CanCodec.decode(Array(body.utf8)), caller: caller)).body,
      as: UTF8.self)
  }

  static func verdict(_ reply: String) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any])?["verdict"] as? String
  }

  /// Samples of a counter on `/metrics`'s page (0 when absent).
  static func metric(_ service: FlaskService, _ name: String) -> Double {
    let page = String(decoding: service.metricsRegistry.emitToBuffer(), as: UTF8.self)
    return page.split(separator: "\n").filter { $0.hasPrefix(name + " ") }
      .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
  }

  /// A guest pausing another guest: no allow rule gives `web_t` `domain:pause` over `db_t`, so flask refuses it
  /// while enforcing; permissive, `avc_has_perm_noaudit` (xen/xsm/flask/avc.c) grants what it denied and returns 0.
  static let guestPausesGuest = #"{"op":"domctl.pause","target":"db"}"#

  @Test func aRepeatGetsTheSameBytesAndIsLoggedAndCountedAgain() async throws {
    let service = try await HTTPFixture.service()
    let web = Caller("web")
    let first = try Self.ask(service, Self.guestPausesGuest, caller: web)
    #expect(Self.verdict(first) == "denied", "\(first)")
    let logged = service.gauges.decisionsLogged
    let denied = Self.metric(service, #"xsmd_decisions_total{module="flask",family="domctl",verdict="denied"}"#)
    let second = try Self.ask(service, Self.guestPausesGuest, caller: web)
    #expect(second == first)
    #expect(second == (try Self.fresh(service, Self.guestPausesGuest, caller: web)))
    // The repeat is one more log entry and one more denial counted, as a decided answer is.
    #expect(service.gauges.decisionsLogged == logged + 2)  // the repeat and the fresh answer
    #expect(Self.metric(service, #"xsmd_decisions_total{module="flask",family="domctl",verdict="denied"}"#) == denied + 2)
    #expect(Self.metric(service, "xsmd_reply_memo_hits_total") == 1)
    #expect(Self.metric(service, "xsmd_reply_memo_misses_total") == 1)
    #expect(service.gauges.replyMemoEntries == 1)
    // The same bytes from another caller are another question (the caller is part of the key).
    let asDom0 = try Self.ask(service, Self.guestPausesGuest)
    #expect(Self.verdict(asDom0) == "allowed", "\(asDom0)")
    #expect(service.gauges.replyMemoEntries == 2)
  }

  @Test func everyChangeStartsAnEmptyMemo() async throws {
    let service = try await HTTPFixture.service()
    let web = Caller("web")
    #expect(Self.verdict(try Self.ask(service, Self.guestPausesGuest, caller: web)) == "denied")
    _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: Self.dom0)
    #expect(service.gauges.replyMemoEntries == 0)
    let permissive = try Self.ask(service, Self.guestPausesGuest, caller: web)
    #expect(Self.verdict(permissive) == "allowed", "\(permissive)")
    #expect(permissive == (try Self.fresh(service, Self.guestPausesGuest, caller: web)))
    _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: true), caller: Self.dom0)
    #expect(Self.verdict(try Self.ask(service, Self.guestPausesGuest, caller: web)) == "denied")
    #expect(Self.metric(service, "xsmd_reply_memo_hits_total") == 0)
  }

  @Test func errorsAreNotKeptAndTheBoundsHold() async throws {
    let service = try await HTTPFixture.service()
    for _ in 0..<2 {
      await #expect(throws: ServiceError.self) { try Self.ask(service, #"{"op":"domctl.pasue","target":"db"}"#) }
    }
    #expect(service.gauges.replyMemoEntries == 0)
    service.keepReplies(entries: 2)
    for target in ["db", "web", "web-dm"] { _ = try Self.ask(service, #"{"op":"domctl.pause","target":"\#(target)"}"#) }
    #expect(service.gauges.replyMemoEntries == 2)
    // A full memo still answers what it does not hold, and the same as a fresh decision.
    let third = #"{"op":"domctl.pause","target":"web-dm"}"#
    #expect(try Self.ask(service, third) == (try Self.fresh(service, third)))
    // Off: every question decided afresh, nothing kept, no hit counted.
    service.keepReplies(entries: 0)
    _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: true), caller: Self.dom0)
    let hits = Self.metric(service, "xsmd_reply_memo_hits_total")
    for _ in 0..<3 { _ = try Self.ask(service, #"{"op":"domctl.pause","target":"db"}"#) }
    #expect(service.gauges.replyMemoEntries == 0)
    #expect(Self.metric(service, "xsmd_reply_memo_hits_total") == hits)
    // A body longer than the memo keeps is answered and not kept.
    service.keepReplies(entries: 10)
    let padded = #"{"op":"domctl.pause","target":"db"}"# + String(repeating: " ", count: 5000)
    #expect(Self.verdict(try Self.ask(service, padded)) == "allowed")
    #expect(service.gauges.replyMemoEntries == 0)
  }

  /// With `--avc-log`, a repeated denial is written again: the log has one line per denial answered.
  @Test func aRepeatedDenialIsWrittenToTheAVCLogAgain() async throws {
    let service = try await HTTPFixture.service()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memo-avc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("avc.log").path
    // Asked once before the log is set: that memo entry has no avc lines, so it is decided again.
    _ = try Self.ask(service, Self.guestPausesGuest, caller: Caller("web"))
    service.writeDenials(to: try AVCLogFile(path: path))
    for _ in 0..<3 { _ = try Self.ask(service, Self.guestPausesGuest, caller: Caller("web")) }
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 3, "\(lines)")
    #expect(Set(lines).count == 1)
    #expect(lines.first?.contains("avc:  denied  { pause }") == true, "\(lines)")
    // The first answer with the log set replaced the entry kept without avc lines: the later two were hits.
    #expect(Self.metric(service, "xsmd_reply_memo_hits_total") == 2)
  }

  /// Through the route: the reply of a repeat is byte-identical, and the route still refuses what it refused.
  @Test func theRouteAnswersRepeatsFromTheMemo() async throws {
    try await HTTPFixture.withClient { client in
      let body = #"{"op":"domctl.getdomaininfo","target":"web"}"#
      let first = try await client.call(.post, "/v1/can", caller: "db", json: body)
      let second = try await client.call(.post, "/v1/can", caller: "db", json: body)
      #expect(first.status == .ok && second.status == .ok)
      #expect(first.text == second.text)
      let unknownCaller = try await client.call(.post, "/v1/can", caller: "nosuch", json: body)
      #expect(unknownCaller.status == .notFound, "\(unknownCaller.text)")
      let metrics = try await client.call(.get, "/metrics", caller: nil)
      #expect(metrics.text.contains("xsmd_reply_memo_hits_total 1"), "\(metrics.text)")
      #expect(metrics.text.contains("xsmd_reply_memo_entries 1"))
    }
  }
}
