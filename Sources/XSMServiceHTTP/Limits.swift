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
final class RequestLimiter: Sendable {
  enum Admission: Equatable { case admitted, busy, rateLimited }

  private struct State {
    var inFlight = 0
    var tokens: Double
    var lastRefill: ContinuousClock.Instant
  }
  private let state: Mutex<State>
  let maxConcurrent: Int
  let ratePerSecond: Int

  init(maxConcurrent: Int, ratePerSecond: Int) {
    self.maxConcurrent = maxConcurrent
    self.ratePerSecond = max(0, ratePerSecond)
    state = Mutex(State(tokens: Double(max(0, ratePerSecond)), lastRefill: .now))
  }

  /// Takes a slot and a token, or says why not. Every `.admitted` must be
  /// followed by one `release()`.
  func admit(now: ContinuousClock.Instant = .now) -> Admission {
    state.withLock { s in
      let elapsed = s.lastRefill.duration(to: now)
      if elapsed > .zero {
        let parts = elapsed.components
        let seconds = Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
        s.tokens = min(Double(ratePerSecond), s.tokens + seconds * Double(ratePerSecond))
        s.lastRefill = now
      }
      guard s.inFlight < maxConcurrent else { return .busy }
      guard s.tokens >= 1 else { return .rateLimited }
      s.tokens -= 1
      s.inFlight += 1
      return .admitted
    }
  }

  func release() { state.withLock { $0.inFlight -= 1 } }

  var inFlight: Int { state.withLock { $0.inFlight } }
}
