import Foundation
import Prometheus
import Synchronization
import XSMCatalog
import XSMEngine

/// The Prometheus registry of xsmd (swift-prometheus), and the decisions
/// counted in it by module, op family and verdict:
/// `xsmd_decisions_total{module="flask",family="domctl",verdict="denied"}`.
/// The HTTP layer adds its request counters and gauges to the same registry.
public final class DecisionMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()
  static let name = "xsmd_decisions_total"
  static let help = "Decisions answered by /v1/can and /v1/can/batch, by module, op family and verdict."
  /// One counter per (module, family, verdict), made up front so counting takes no lock.
  private let counters: [Key: Counter]
  /// For a family the catalog did not have at start (none today).
  private let late = Mutex<[Key: Counter]>([:])
  /// `/v1/can` replies given again from a snapshot's memo, and decided afresh.
  let replyMemoHits: Counter
  let replyMemoMisses: Counter

  struct Key: Hashable {
    var module: XSMModule
    var family: String
    var verdict: Verdict
  }

  /// Counters for every family of `catalog`, at zero.
  init(catalog: OpCatalog) {
    var made: [Key: Counter] = [:]
    for family in catalog.families {
      for module in XSMModule.allCases {
        for verdict in [Verdict.allowed, .denied, .invalid] {
          let key = Key(module: module, family: family, verdict: verdict)
          made[key] = Self.counter(key, in: registry)
        }
      }
    }
    counters = made
    replyMemoHits = registry.makeCounter(descriptor: .xsmd("xsmd_reply_memo_hits_total",
      "/v1/can replies given again from the current snapshot's memo (nothing decoded, decided or encoded)."))
    replyMemoMisses = registry.makeCounter(descriptor: .xsmd("xsmd_reply_memo_misses_total",
      "/v1/can replies decided afresh (not in the current snapshot's memo, or the memo is off)."))
  }

  private static func counter(_ key: Key, in registry: PrometheusCollectorRegistry) -> Counter {
    registry.makeCounter(descriptor: .xsmd(name, help),
      labels: [("module", key.module.rawValue), ("family", key.family), ("verdict", key.verdict.rawValue)])
  }

  func count(module: XSMModule, family: String, verdict: Verdict, by amount: Int = 1) {
    counter(module: module, family: family, verdict: verdict).increment(by: Int64(amount))
  }

  /// The counter of one (module, family, verdict).
  func counter(module: XSMModule, family: String, verdict: Verdict) -> Counter {
    let key = Key(module: module, family: family, verdict: verdict)
    return counters[key] ?? late.withLock { made in
      if let known = made[key] { return known }
      let new = Self.counter(key, in: registry)
      made[key] = new
      return new
    }
  }
}

extension MetricNameDescriptor {
  /// A metric named in full (no namespace or unit parts), with its help line.
  public static func xsmd(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
  }
}

/// The file `xsmd --avc-log` appends denials to, one avc line each, as Xen
/// prints them on its console (`xsmq explain FILE` reads it).
public final class AVCLogFile: Sendable {
  let path: String
  private let handle: Mutex<FileHandle>

  /// Opens `path` for appending, creating it (mode 0640) when missing.
  public init(path: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
      guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]) else {
        throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
      }
    }
    let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try file.seekToEnd()
    self.path = path
    handle = Mutex(file)
  }

  /// Appends the lines in one write (lines of one question stay together).
  func write(_ lines: [String]) {
    guard !lines.isEmpty else { return }
    let data = Data(lines.map { $0 + "\n" }.joined().utf8)
    handle.withLock { file in try? file.write(contentsOf: data) }
  }
}
