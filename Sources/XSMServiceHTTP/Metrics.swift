import Foundation
import Synchronization
import XSMService

/// Request counters and latency histograms, rendered in the Prometheus text
/// exposition format 0.0.4 together with the service's own gauges.
final class RequestMetrics: Sendable {
  /// Upper bounds (seconds) of the latency histogram buckets.
  static let bucketBounds: [Double] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]

  struct RequestKey: Hashable, Comparable {
    var route: String
    var method: String
    var status: Int
    static func < (a: Self, b: Self) -> Bool {
      (a.route, a.method, a.status) < (b.route, b.method, b.status)
    }
  }
  struct Histogram {
    var buckets = [Int](repeating: 0, count: RequestMetrics.bucketBounds.count)
    var count = 0
    var sum = 0.0
  }
  struct Counters {
    var requests: [RequestKey: Int] = [:]
    var durations: [String: Histogram] = [:]
    var refusedBusy = 0
    var refusedRateLimited = 0
  }

  private let counters = Mutex(Counters())

  func record(route: String, method: String, status: Int, seconds: Double) {
    counters.withLock { c in
      c.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
      var histogram = c.durations[route] ?? Histogram()
      if let bucket = Self.bucketBounds.firstIndex(where: { seconds <= $0 }) { histogram.buckets[bucket] += 1 }
      histogram.count += 1
      histogram.sum += seconds
      c.durations[route] = histogram
    }
  }

  var snapshot: Counters { counters.withLock { $0 } }

  /// The `/metrics` page.
  func render(gauges: ServiceGauges, inFlight: Int) -> String {
    let c = snapshot
    var out = ""
    func line(_ text: String) { out += text + "\n" }

    line("# HELP xsmd_requests_total HTTP requests answered, by route template, method and status.")
    line("# TYPE xsmd_requests_total counter")
    for key in c.requests.keys.sorted() {
      line(
        "xsmd_requests_total{route=\"\(escape(key.route))\",method=\"\(escape(key.method))\",status=\"\(key.status)\"} \(c.requests[key]!)"
      )
    }

    line("# HELP xsmd_request_duration_seconds Time to answer a request, by route template.")
    line("# TYPE xsmd_request_duration_seconds histogram")
    for (route, h) in c.durations.sorted(by: { $0.key < $1.key }) {
      let label = "route=\"\(escape(route))\""
      var cumulative = 0
      for (bound, n) in zip(Self.bucketBounds, h.buckets) {
        cumulative += n
        line("xsmd_request_duration_seconds_bucket{\(label),le=\"\(format(bound))\"} \(cumulative)")
      }
      line("xsmd_request_duration_seconds_bucket{\(label),le=\"+Inf\"} \(h.count)")
      line("xsmd_request_duration_seconds_sum{\(label)} \(format(h.sum))")
      line("xsmd_request_duration_seconds_count{\(label)} \(h.count)")
    }

    line("# HELP xsmd_requests_in_flight Requests being answered now.")
    line("# TYPE xsmd_requests_in_flight gauge")
    line("xsmd_requests_in_flight \(inFlight)")
    line("# HELP xsmd_decision_cache_hits_total Access vector cache hits.")
    line("# TYPE xsmd_decision_cache_hits_total counter")
    line("xsmd_decision_cache_hits_total \(gauges.cacheHits)")
    line("# HELP xsmd_decision_cache_misses_total Access vector cache misses.")
    line("# TYPE xsmd_decision_cache_misses_total counter")
    line("xsmd_decision_cache_misses_total \(gauges.cacheMisses)")
    line("# HELP xsmd_decision_cache_entries Entries in the access vector cache.")
    line("# TYPE xsmd_decision_cache_entries gauge")
    line("xsmd_decision_cache_entries \(gauges.cacheEntries)")
    line("# HELP xsmd_policy_sequence The security server's sequence number (moves on load, commit, enforcing).")
    line("# TYPE xsmd_policy_sequence gauge")
    line("xsmd_policy_sequence \(gauges.sequence)")
    line("# HELP xsmd_domains Domains on the simulated host.")
    line("# TYPE xsmd_domains gauge")
    line("xsmd_domains \(gauges.domains)")
    line("# HELP xsmd_decisions_logged Decisions in the decision log.")
    line("# TYPE xsmd_decisions_logged gauge")
    line("xsmd_decisions_logged \(gauges.decisionsLogged)")
    return out
  }

  private func escape(_ value: String) -> String {
    value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }

  private func format(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
  }
}
