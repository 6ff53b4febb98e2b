import Testing

@testable import XSMService

/// The reply memo's bounds hold across its shards: the byte bound as well as the entry bound, a
/// replaced reply counted once, and requests keeping replies at once never holding more than the
/// bounds, nor counting a reply the memo does not hold.
@Suite struct ReplyMemoBoundsTests {
  static func reply(bytes: Int) -> ReplyMemo.Reply {
    let entry = DecisionLog.Entry(caller: "dom0", op: "domctl.pause", target: "web", module: "flask", verdict: "allowed",
      sequence: 1)
    return ReplyMemo.Reply(
      bytes: [UInt8](repeating: 0x20, count: bytes),
      effects: ServiceCore.CanEffects(counters: [], avcLines: nil, logEntry: entry))
  }

  /// A key whose body is `n` as 50 bytes: with caller `dom0` and a 46-byte reply, 100 bytes kept.
  static func key(_ n: Int) -> ReplyMemo.Key {
    let text = String(n)
    return ReplyMemo.Key(caller: "dom0", body: Array((text + String(repeating: " ", count: 50 - text.count)).utf8))
  }

  @Test func theByteBoundHoldsAndAReplacementIsCountedOnce() {
    let memo = ReplyMemo()
    let limits = ReplyMemo.Limits(entries: 100, bytes: 300)
    for n in 0..<5 { memo.keep(Self.key(n), Self.reply(bytes: 46), within: limits) }
    #expect(memo.count == 3)
    #expect((0..<5).filter { memo.reply(Self.key($0)) != nil }.count == 3)
    // A kept key replaced by a reply of the same size: still three, the new reply the one held.
    let kept = (0..<5).first { memo.reply(Self.key($0)) != nil }!
    let replacement = Self.reply(bytes: 46)
    memo.keep(Self.key(kept), replacement, within: limits)
    #expect(memo.count == 3)
    #expect(memo.reply(Self.key(kept)) === replacement)
    // A larger replacement that would pass the byte bound is refused, and the old reply stays.
    memo.keep(Self.key(kept), Self.reply(bytes: 47), within: limits)
    #expect(memo.reply(Self.key(kept)) === replacement)
  }

  @Test func concurrentKeepsNeverPassTheEntryBound() async {
    let memo = ReplyMemo()
    let limits = ReplyMemo.Limits(entries: 64, bytes: 1 << 20)
    await withTaskGroup(of: Void.self) { group in
      for worker in 0..<8 {
        group.addTask {
          for n in 0..<200 { memo.keep(Self.key(worker * 1000 + n), Self.reply(bytes: 46), within: limits) }
        }
      }
    }
    let held = (0..<8).flatMap { w in (0..<200).map { w * 1000 + $0 } }.filter { memo.reply(Self.key($0)) != nil }.count
    #expect(held == 64)
    #expect(memo.count == held)
  }
}
