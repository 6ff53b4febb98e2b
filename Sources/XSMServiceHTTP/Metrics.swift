import Foundation
import Prometheus
import Synchronization
import XSMService

/// The HTTP layer's metrics, kept with swift-prometheus in the service's
/// registry (which also counts decisions by module, op family and verdict):
/// requests by route, method and status, their latency, and the service's
/// gauges, read when `/metrics` is scraped. Rendered in the Prometheus text
/// exposition format 0.0.4.
final class RequestMetrics: Sendable {
  /// Upper bounds (seconds) of the latency histogram buckets.
  static let bucketBounds: [Double] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]

  struct RequestKey: Hashable {
    var route: String
    var method: String
    var status: Int
  }

  let registry: PrometheusCollectorRegistry
  /// Counters and histograms made so far (routes and statuses are few: unknown paths are pooled),
  /// under one lock: a request takes it once.
  private struct Made {
    var requests: [RequestKey: Counter] = [:]
    var durations: [String: ValueHistogram] = [:]
  }
  private let made = Mutex(Made())

  // The service's numbers, set at each scrape.
  private let inFlight: Gauge
  private let cacheEntries: Gauge
  private let sequence: Gauge
  private let domains: Gauge
  private let decisionsLogged: Gauge
  private let replyMemoEntries: Gauge
  private let cacheHits: Counter
  private let cacheMisses: Counter
  /// What the cache counters showed at the last scrape (they only go up by the difference).
  private let cacheShown = Mutex<(hits: Int, misses: Int)>((0, 0))

  init(registry: PrometheusCollectorRegistry) {
    self.registry = registry
    inFlight = registry.makeGauge(descriptor: .xsmd("xsmd_requests_in_flight", "Requests being answered now."))
    cacheHits = registry.makeCounter(descriptor: .xsmd("xsmd_decision_cache_hits_total", "Access vector cache hits."))
    cacheMisses = registry.makeCounter(
      descriptor: .xsmd("xsmd_decision_cache_misses_total", "Access vector cache misses."))
    cacheEntries = registry.makeGauge(
      descriptor: .xsmd("xsmd_decision_cache_entries", "Entries in the access vector cache."))
    sequence = registry.makeGauge(
      descriptor: .xsmd("xsmd_policy_sequence", "The security server's sequence number (moves on load, commit, enforcing)."))
    domains = registry.makeGauge(descriptor: .xsmd("xsmd_domains", "Domains on the simulated host."))
    decisionsLogged = registry.makeGauge(descriptor: .xsmd("xsmd_decisions_logged", "Decisions in the decision log."))
    replyMemoEntries = registry.makeGauge(
      descriptor: .xsmd("xsmd_reply_memo_entries", "/v1/can replies the current snapshot keeps (emptied by every change)."))
  }

  /// The counter of (route, method, status) and the route's histogram, made on first use.
  func handles(route: String, method: String, status: Int) -> (Counter, ValueHistogram) {
    let key = RequestKey(route: route, method: method, status: status)
    return made.withLock { made in
      let counter =
        made.requests[key]
        ?? {
          let new = registry.makeCounter(
            descriptor: .xsmd("xsmd_requests_total", "HTTP requests answered, by route template, method and status."),
            labels: [("route", route), ("method", method), ("status", String(status))])
          made.requests[key] = new
          return new
        }()
      let histogram =
        made.durations[route]
        ?? {
          let new = registry.makeValueHistogram(
            descriptor: .xsmd("xsmd_request_duration_seconds", "Time to answer a request, by route template."),
            labels: [("route", route)], buckets: Self.bucketBounds)
          made.durations[route] = new
          return new
        }()
      return (counter, histogram)
    }
  }

  /// The `/metrics` page: the service's numbers as of now, then everything in the registry.
  func render(gauges: ServiceGauges, inFlight requests: Int) -> [UInt8] {
    inFlight.set(Int64(requests))
    cacheEntries.set(Int64(gauges.cacheEntries))
    sequence.set(Int64(bitPattern: gauges.sequence))
    domains.set(Int64(gauges.domains))
    decisionsLogged.set(Int64(gauges.decisionsLogged))
    replyMemoEntries.set(Int64(gauges.replyMemoEntries))
    cacheShown.withLock { shown in
      // The server's counters restart with a new policy; a drop is counted from zero.
      let hits = gauges.cacheHits >= shown.hits ? gauges.cacheHits - shown.hits : gauges.cacheHits
      let misses = gauges.cacheMisses >= shown.misses ? gauges.cacheMisses - shown.misses : gauges.cacheMisses
      cacheHits.increment(by: Int64(hits))
      cacheMisses.increment(by: Int64(misses))
      shown = (gauges.cacheHits, gauges.cacheMisses)
    }
    return registry.emitToBuffer()
  }
}

/// One route's request metrics, kept with the route's handler: the handles of its last
/// (method, status) and its histogram, so a request neither hashes the route's name nor takes the
/// registry's lock; another method or status looks its counter up in `RequestMetrics` once.
/// Nothing is made before the route is first asked, so `/metrics` lists only what was asked.
final class RouteMeter: Sendable {
  let route: String
  private let metrics: RequestMetrics
  private struct Last {
    var method: String
    var status: Int
    var counter: Counter
    var histogram: ValueHistogram
  }
  private let last = Mutex<Last?>(nil)

  init(route: String, metrics: RequestMetrics) {
    self.route = route
    self.metrics = metrics
  }

  func record(method: String, status: Int, seconds: Double) {
    let handles = last.withLock { last -> (Counter, ValueHistogram)? in
      guard let last, last.status == status, last.method == method else { return nil }
      return (last.counter, last.histogram)
    }
    let (counter, histogram) =
      handles
      ?? {
        let made = metrics.handles(route: route, method: method, status: status)
        last.withLock { $0 = Last(method: method, status: status, counter: made.0, histogram: made.1) }
        return made
      }()
    counter.increment()
    histogram.record(seconds)
  }
}
