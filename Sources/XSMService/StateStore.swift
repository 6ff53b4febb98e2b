import Foundation
import GRDB
import Synchronization
import XSMEngine
import XSMProtocol

/// Everything xsmd keeps across restarts.
struct SavedState {
  var policy: [UInt8]?
  var policySource: String
  var enforcing: Bool?
  var booleans: [String: Bool]
  var pending: [String: Bool]
  /// The SID table's contexts, SID 1 first.
  var contexts: [String]
  var domains: [DomainSpec]
  var labels: [RuntimeLabels.Entry]
  var cacheThreshold: Int?
}

/// The SQLite file behind xsmd (GRDB): the loaded policy, booleans
/// (committed and pending), enforcing, the SID table, domains, runtime
/// device labels and the decision log. Each save is one transaction, so a
/// crash leaves the old state or the new one.
final class StateStore: Sendable {
  let queue: DatabaseQueue
  /// Decisions kept in the log; older ones are deleted.
  static let retention = 100_000

  init(path: String) throws {
    queue = try DatabaseQueue(path: path)
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(sql: """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE policy (id INTEGER PRIMARY KEY CHECK (id = 1), binary BLOB NOT NULL, source TEXT NOT NULL);
        CREATE TABLE booleans (name TEXT PRIMARY KEY, value INTEGER NOT NULL, pending INTEGER);
        CREATE TABLE sids (sid INTEGER PRIMARY KEY, context TEXT NOT NULL);
        CREATE TABLE domains (domid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, context TEXT NOT NULL,
          flags TEXT NOT NULL, target TEXT, iommu TEXT NOT NULL);
        CREATE TABLE labels (kind TEXT NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL, path TEXT,
          sid INTEGER NOT NULL);
        CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, caller TEXT NOT NULL,
          op TEXT NOT NULL, target TEXT NOT NULL, module TEXT NOT NULL, verdict TEXT NOT NULL, sequence INTEGER NOT NULL);
        """)
    }
    try migrator.migrate(queue)
  }

  func loadSnapshot() throws -> SavedState? {
    try queue.read { db -> SavedState? in
      guard let policyRow = try Row.fetchOne(db, sql: "SELECT binary, source FROM policy WHERE id = 1") else { return nil }
      let blob: Data = policyRow["binary"]
      var meta: [String: String] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") { meta[row["key"]] = row["value"] }
      var booleans: [String: Bool] = [:]
      var pending: [String: Bool] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT name, value, pending FROM booleans") {
        let name: String = row["name"]
        booleans[name] = (row["value"] as Int) != 0
        if let p: Int = row["pending"] { pending[name] = p != 0 }
      }
      let contexts = try String.fetchAll(db, sql: "SELECT context FROM sids ORDER BY sid")
      let domains = try Row.fetchAll(db, sql: "SELECT * FROM domains ORDER BY domid").map { row -> DomainSpec in
        let flags = (row["flags"] as String).split(separator: ",").compactMap { DomainFlag(rawValue: String($0)) }
        return DomainSpec(domid: row["domid"], name: row["name"], context: row["context"], flags: Set(flags),
          target: row["target"], iommu: IOMMUMode(rawValue: row["iommu"]) ?? .intremap)
      }
      let labels = try Row.fetchAll(db, sql: "SELECT * FROM labels").compactMap { row -> RuntimeLabels.Entry? in
        guard let kind = RuntimeLabels.Kind(rawValue: row["kind"]) else { return nil }
        return RuntimeLabels.Entry(kind: kind, low: UInt64(row["low"] as Int64), high: UInt64(row["high"] as Int64),
          path: row["path"], sid: UInt32(row["sid"] as Int64))
      }
      return SavedState(
        policy: Array(blob), policySource: policyRow["source"], enforcing: meta["enforcing"].map { $0 == "1" },
        booleans: booleans, pending: pending, contexts: contexts, domains: domains, labels: labels,
        cacheThreshold: meta["cache_threshold"].flatMap { Int($0) })
    }
  }

  func save(_ s: SavedState) throws {
    try queue.write { db in
      if let policy = s.policy {
        try db.execute(sql: "INSERT OR REPLACE INTO policy (id, binary, source) VALUES (1, ?, ?)",
          arguments: [Data(policy), s.policySource])
      }
      try db.execute(sql: "DELETE FROM meta")
      if let enforcing = s.enforcing {
        try db.execute(sql: "INSERT INTO meta VALUES ('enforcing', ?)", arguments: [enforcing ? "1" : "0"])
      }
      if let threshold = s.cacheThreshold {
        try db.execute(sql: "INSERT INTO meta VALUES ('cache_threshold', ?)", arguments: [String(threshold)])
      }
      try db.execute(sql: "DELETE FROM booleans")
      for (name, value) in s.booleans {
        try db.execute(sql: "INSERT INTO booleans VALUES (?, ?, ?)",
          arguments: [name, value ? 1 : 0, s.pending[name].map { $0 ? 1 : 0 }])
      }
      try Self.replaceSIDs(db, s.contexts)
      try db.execute(sql: "DELETE FROM domains")
      for d in s.domains {
        try db.execute(sql: "INSERT INTO domains VALUES (?, ?, ?, ?, ?, ?)",
          arguments: [d.domid, d.name, d.context, d.flags.map(\.rawValue).sorted().joined(separator: ","), d.target,
            d.iommu.rawValue])
      }
      try db.execute(sql: "DELETE FROM labels")
      for e in s.labels {
        try db.execute(sql: "INSERT INTO labels VALUES (?, ?, ?, ?, ?)",
          arguments: [e.kind.rawValue, Int64(bitPattern: e.low), Int64(bitPattern: e.high), e.path, Int64(e.sid)])
      }
    }
  }

  func saveSIDs(_ contexts: [String]) throws {
    try queue.write { db in try Self.replaceSIDs(db, contexts) }
  }

  private static func replaceSIDs(_ db: Database, _ contexts: [String]) throws {
    let stored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sids") ?? 0
    if stored > contexts.count { try db.execute(sql: "DELETE FROM sids") }
    for (i, context) in contexts.enumerated() {
      try db.execute(sql: "INSERT OR REPLACE INTO sids VALUES (?, ?)", arguments: [i + 1, context])
    }
  }

  /// Appends decisions and trims the log to `retention` rows.
  func append(_ entries: [DecisionLog.Entry]) throws {
    try queue.write { db in
      for e in entries {
        try db.execute(sql: "INSERT INTO decisions (time, caller, op, target, module, verdict, sequence) VALUES (?, ?, ?, ?, ?, ?, ?)",
          arguments: [e.time, e.caller, e.op, e.target, e.module, e.verdict, Int64(bitPattern: e.sequence)])
      }
      try db.execute(sql: "DELETE FROM decisions WHERE id <= (SELECT MAX(id) FROM decisions) - ?",
        arguments: [Self.retention])
    }
  }

  func decisionCount() -> Int {
    (try? queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM decisions") ?? 0 }) ?? 0
  }

  /// One page of the decision log, oldest first.
  func decisions(_ q: DecisionQueryV1) throws -> [DecisionLog.Entry] {
    let filters: [(String, (any DatabaseValueConvertible)?)] = [
      ("caller = ?", q.caller), ("op = ?", q.op), ("verdict = ?", q.verdict?.rawValue), ("time >= ?", q.since),
      ("time < ?", q.until),
    ]
    var clauses = ["id > ?"]
    var values: [(any DatabaseValueConvertible)?] = [q.after]
    for case let (clause, value?) in filters {
      clauses.append(clause)
      values.append(value)
    }
    values.append(q.limit)
    let arguments = StatementArguments(values)
    let sql = "SELECT * FROM decisions WHERE " + clauses.joined(separator: " AND ") + " ORDER BY id LIMIT ?"
    return try queue.read { db in
      try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
        DecisionLog.Entry(id: row["id"], time: row["time"], caller: row["caller"], op: row["op"], target: row["target"],
          module: row["module"], verdict: row["verdict"], sequence: UInt64(bitPattern: row["sequence"] as Int64))
      }
    }
  }
}

/// The decision log: `can` answers are buffered in memory and written to
/// the state file in batches by a writer of their own, so logging costs a
/// request neither a transaction nor a wait for one. Up to `batch - 1`
/// answers are only in memory at a time: a crash (kill -9) loses them; a
/// graceful stop writes them (`flush`). Without a state file the log keeps
/// the last `memoryRetention` entries in memory.
final class DecisionLog: Sendable {
  struct Entry: Sendable {
    /// Assigned by the state file when written there; by the log when it lives in memory.
    var id: Int64 = 0
    var time: Double
    var caller: String
    var op: String
    var target: String
    var module: String
    var verdict: String
    var sequence: UInt64
  }

  let store: StateStore?
  let buffer = Mutex<[Entry]>([])
  let logged = Atomic<Int>(0)
  /// Writes batches in the order they filled, off the requests' threads.
  let writer = DispatchQueue(label: "xsmd.decision-log")
  /// The log itself when there is no state file: the newest entries, and the next id.
  let memory = Mutex<(entries: [Entry], nextID: Int64)>(([], 1))
  static let batch = 256
  static let memoryRetention = 10_000

  init(store: StateStore?) { self.store = store }

  var count: Int { logged.load(ordering: .relaxed) + buffer.withLock { $0.count } }

  func record(caller: String, op: String, target: String, module: String, verdict: String, sequence: UInt64) {
    let entry = Entry(time: Date().timeIntervalSince1970, caller: caller, op: op, target: target, module: module,
      verdict: verdict, sequence: sequence)
    let full: [Entry]? = buffer.withLock { b in
      b.append(entry)
      guard b.count >= Self.batch else { return nil }
      defer { b.removeAll(keepingCapacity: true) }
      return b
    }
    if let full { writer.async { self.write(full) } }
  }

  /// Writes what is buffered and waits for the writer (at shutdown, before a read, in tests).
  func flush() {
    writer.sync {
      let pending = buffer.withLock { b -> [Entry] in
        defer { b.removeAll(keepingCapacity: true) }
        return b
      }
      if !pending.isEmpty { write(pending) }
    }
  }

  /// One page of the log (everything recorded so far, buffered entries included).
  func page(_ q: DecisionQueryV1) throws -> [Entry] {
    flush()
    if let store { return try store.decisions(q) }
    return memory.withLock { m in
      var found: [Entry] = []
      for e in m.entries where e.id > q.after {
        if let caller = q.caller, e.caller != caller { continue }
        if let op = q.op, e.op != op { continue }
        if let verdict = q.verdict, e.verdict != verdict.rawValue { continue }
        if let since = q.since, e.time < since { continue }
        if let until = q.until, e.time >= until { continue }
        found.append(e)
        if found.count == q.limit { break }
      }
      return found
    }
  }

  private func write(_ entries: [Entry]) {
    guard let store else {
      memory.withLock { m in
        for var e in entries {
          e.id = m.nextID
          m.nextID += 1
          m.entries.append(e)
        }
        if m.entries.count > Self.memoryRetention { m.entries.removeFirst(m.entries.count - Self.memoryRetention) }
      }
      logged.add(entries.count, ordering: .relaxed)
      return
    }
    if (try? store.append(entries)) != nil { logged.add(entries.count, ordering: .relaxed) }
  }
}
