import Foundation
import HTTPTypes
import Testing

@testable import XSMServiceHTTP

/// The per-request pieces made cheaper for `/v1/can`: they must still say
/// what the slower versions said.
@Suite struct RequestPathTests {
  /// The bucket holds one second's worth: from one instant, however many threads ask at once,
  /// exactly that many are admitted (the compare-and-exchange loses none and doubles none).
  @Test func theLockFreeBucketAdmitsExactlyItsCapacity() async {
    let limiter = RequestLimiter(maxConcurrent: 1_000_000, ratePerSecond: 500)
    let now = ContinuousClock.now + .milliseconds(1)
    let admitted = await withTaskGroup(of: Int.self) { group in
      for _ in 0..<8 {
        group.addTask { (0..<200).reduce(0) { n, _ in n + (limiter.admit(now: now) == .admitted ? 1 : 0) } }
      }
      return await group.reduce(0, +)
    }
    #expect(admitted == 500)
    #expect(limiter.inFlight == 500)
    // Refused requests took no slot; a tenth of a second later, a tenth of a second's worth more.
    for _ in 0..<500 { limiter.release() }
    #expect(limiter.inFlight == 0)
    let later = (0..<100).filter { _ in limiter.admit(now: now + .milliseconds(100)) == .admitted }.count
    #expect(later == 50)
  }

  @Test func theInFlightBoundHoldsUnderConcurrency() async {
    let limiter = RequestLimiter(maxConcurrent: 64, ratePerSecond: 1_000_000)
    let admitted = await withTaskGroup(of: Int.self) { group in
      for _ in 0..<8 {
        group.addTask { (0..<100).reduce(0) { n, _ in n + (limiter.admit() == .admitted ? 1 : 0) } }
      }
      return await group.reduce(0, +)
    }
    #expect(admitted == 64)
    #expect(limiter.inFlight == 64)
  }

  @Test func bearerTokensAndSpaces() {
    #expect(CallerAuthenticator.bearerToken("Bearer abc") == "abc")
    #expect(CallerAuthenticator.bearerToken("bEaReR \t abc \t") == "abc")
    #expect(CallerAuthenticator.bearerToken("Bearer") == nil)
    #expect(CallerAuthenticator.bearerToken("Bearer    ") == nil)
    #expect(CallerAuthenticator.bearerToken("Basic abc") == nil)
    #expect(CallerAuthenticator.bearerToken("Bearerabc") == nil)
    #expect(CallerAuthenticator.bearerToken("Beare\u{72}\u{301} abc") == nil)
    #expect(CallerAuthenticator.trimmingSpaces(" \té😀 x\t ") == "é😀 x")
    #expect(CallerAuthenticator.trimmingSpaces("\u{301}a ") == "\u{301}a")
    #expect(CallerAuthenticator.trimmingSpaces(" \t ") == "")
    #expect(CallerAuthenticator.trimmingSpaces(" é\t") == "é")
    #expect(CallerAuthenticator.trimmingSpaces("x😀") == "x😀")
  }

  /// Fields read in one pass, repeated ones joined as `HTTPFields`' subscript joins them.
  @Test func headersInOnePass() {
    var fields: HTTPFields = [.contentType: "application/json", .authorization: "Bearer a"]
    fields.append(HTTPField(name: CallerAuthenticator.callerField, value: "dom0"))
    fields.append(HTTPField(name: .authorization, value: "Bearer b"))
    let values = RequestHeaderValues(fields)
    #expect(values.authorization == fields[.authorization])
    #expect(values.authorization == "Bearer a, Bearer b")
    #expect(values.caller == "dom0" && values.contentType == "application/json" && values.contentLength == nil)
  }
}
