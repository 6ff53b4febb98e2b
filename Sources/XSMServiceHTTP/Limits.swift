import Foundation
import Synchronization

/// How xsmd listens and how much it takes.
public struct ServerConfiguration: Sendable, Equatable {
  /// Address to bind (loopback by default).
  public var host: String
  public var port: Int
  /// When set, listen on this Unix domain socket instead of `host:port`.
  public var unixSocket: String?
  /// Requests served at once; more get 503 `server.busy`.
  public var maxConcurrentRequests: Int
  /// Requests per second (a token bucket holding one second's worth); more get 429 `server.rate-limited`.
  public var maxRequestsPerSecond: Int
  /// Largest JSON request body in bytes; larger get 413.
  public var maxJSONBody: Int
  /// How the calling domain is known (credentials unless a test or a developer asks otherwise).
  public var authentication: CallerAuthentication
  /// PEM files of the server's certificate chain and private key: TCP is served over TLS when both are set.
  public var tlsCertificate: String?
  public var tlsKey: String?
  /// How long a client may take to send a request; a slower one is disconnected.
  public var timeouts: ConnectionTimeouts

  public init(
    host: String = "127.0.0.1", port: Int = 8780, unixSocket: String? = nil, maxConcurrentRequests: Int = 256,
    maxRequestsPerSecond: Int = 100_000, maxJSONBody: Int = 1 << 20,
    authentication: CallerAuthentication = .credentials(uids: [:]), tlsCertificate: String? = nil,
    tlsKey: String? = nil, timeouts: ConnectionTimeouts = .init()
  ) {
    self.authentication = authentication
    self.tlsCertificate = tlsCertificate
    self.tlsKey = tlsKey
    self.timeouts = timeouts
    self.host = host
    self.port = port
    self.unixSocket = unixSocket
    self.maxConcurrentRequests = maxConcurrentRequests
    self.maxRequestsPerSecond = maxRequestsPerSecond
    self.maxJSONBody = maxJSONBody
  }

  /// True when `host` names the loopback interface (`127.0.0.0/8`, `::1`, `localhost`).
  public static func isLoopback(_ host: String) -> Bool {
    let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
    let octets = h.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
  }
}

/// Admission control: at most `maxConcurrent` requests in flight, and a
/// token bucket refilled at `ratePerSecond` holding at most one second's worth.
/// Lock-free: the count is an atomic, and the bucket is kept as the time it
/// would next be full (the generic cell rate algorithm, which admits exactly
/// what such a bucket admits), moved by compare-and-exchange.
final class RequestLimiter: Sendable {
  enum Admission: Equatable { case admitted, busy, rateLimited }

  let maxConcurrent: Int
  let ratePerSecond: Int
  private let inFlightCount = Atomic<Int>(0)
  /// Nanoseconds after `origin` at which the bucket would have a token again for every one taken
  /// (the "theoretical arrival time"); a request is admitted while that is at most `tolerance` ahead.
  private let arrival = Atomic<Int64>(0)
  private let origin: ContinuousClock.Instant
  /// Nanoseconds one token takes to come back, and how far ahead the arrival time may run (a full
  /// bucket's worth less one token).
  private let interval: Int64
  private let tolerance: Int64

  init(maxConcurrent: Int, ratePerSecond: Int, now: ContinuousClock.Instant = .now) {
    self.maxConcurrent = maxConcurrent
    self.ratePerSecond = max(0, ratePerSecond)
    origin = now
    interval = ratePerSecond > 0 ? 1_000_000_000 / Int64(ratePerSecond) : .max
    tolerance = ratePerSecond > 0 ? 1_000_000_000 - interval : -1
  }

  /// Takes a slot and a token, or says why not. Every `.admitted` must be
  /// followed by one `release()`.
  func admit(now: ContinuousClock.Instant = .now) -> Admission {
    guard inFlightCount.wrappingAdd(1, ordering: .acquiring).newValue <= maxConcurrent else {
      inFlightCount.wrappingSubtract(1, ordering: .releasing)
      return .busy
    }
    let t = max(0, origin.duration(to: now).nanoseconds)
    var expected = arrival.load(ordering: .relaxed)
    while true {
      let start = max(expected, t)
      guard start - t <= tolerance else {
        inFlightCount.wrappingSubtract(1, ordering: .releasing)
        return .rateLimited
      }
      let (exchanged, found) = arrival.compareExchange(
        expected: expected, desired: start + interval, ordering: .relaxed)
      if exchanged { return .admitted }
      expected = found
    }
  }

  func release() { inFlightCount.wrappingSubtract(1, ordering: .releasing) }

  var inFlight: Int { inFlightCount.load(ordering: .relaxed) }
}

extension Duration {
  /// Whole nanoseconds, from the duration's parts (dividing Durations costs a 128-bit division,
  /// too much for every request).
  var nanoseconds: Int64 {
    let parts = components
    return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
  }
}
