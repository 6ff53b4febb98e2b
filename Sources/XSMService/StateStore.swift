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

/// Why the state file cannot be used; start-up stops with it (the file is never overwritten).
public struct StateFileError: Error, Sendable, CustomStringConvertible {
  /// `state.unreadable` (not a database, no permission, a schema this xsmd does not know) or
  /// `state.damaged` (integrity check failed, a row missing or NULL where a value must be).
  public var code: String
  public var message: String
  public var description: String { "\(code): \(message)" }

  static func damaged(_ message: String) -> StateFileError { StateFileError(code: "state.damaged", message: message) }
}

/// The SQLite file behind xsmd (GRDB): the loaded policy, booleans
/// (committed and pending), enforcing, the SID table, domains, runtime
/// device labels, caller tokens and the decision log. Each save is one
/// transaction in WAL mode with `synchronous = FULL`, committed before the
/// change is published or answered, so a crash leaves the old state or the new one.
final class StateStore: Sendable {
  let pool: DatabasePool
  /// Decisions kept in the log; older ones are deleted.
  static let retention = 100_000
  /// The migrations this xsmd knows, oldest first. `v1` is the layout every
  /// state file has had since the first xsmd; a file listing a migration not
  /// here was written by a newer xsmd and is refused.
  static let migrationNames = ["v1", "v2-caller-tokens", "v3-decision-batches", "v4-domain-kind"]

  /// Checks an existing file through a read-only connection — `PRAGMA
  /// integrity_check`, the schema's migrations, and (for the current layout)
  /// every saved row — then opens it for writing (WAL) and applies the
  /// migrations it lacks; a file that fails a check is refused before anything
  /// is written to it. `busyTimeout` is how long a write waits for another
  /// connection's lock before failing.
  init(path: String, busyTimeout: Double = 2) throws(StateFileError) {
    if FileManager.default.fileExists(atPath: path) { try Self.check(path) }
    var configuration = Configuration()
    configuration.busyMode = .timeout(busyTimeout)
    configuration.prepareDatabase { db in
      // Every commit reaches the disk before the call returns (WAL is set by DatabasePool).
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
      try Self.migrator.migrate(pool)
    } catch {
      throw StateFileError(code: "state.unreadable", message: "cannot open `\(path)` for writing: \(error)")
    }
  }

  /// The read-only checks of `init`.
  private static func check(_ path: String) throws(StateFileError) {
    var configuration = Configuration()
    configuration.readonly = true
    do {
      let queue = try DatabaseQueue(path: path, configuration: configuration)
      defer { try? queue.close() }
      try queue.read { db in
        let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
        guard problems == ["ok"] else {
          throw StateFileError.damaged("`\(path)` fails SQLite's integrity check: \(problems.prefix(3).joined(separator: "; "))")
        }
        let applied = try migrator.appliedIdentifiers(db)
        if applied.isEmpty {
          let tables = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
          guard tables.isEmpty else {
            throw StateFileError(code: "state.unreadable",
              message: "`\(path)` is an SQLite database but not an xsmd state file (tables \(tables.prefix(5).joined(separator: ", ")))")
          }
        }
        let unknown = applied.subtracting(migrationNames)
        guard unknown.isEmpty else {
          throw StateFileError(code: "state.unreadable",
            message: "`\(path)` was written by a newer xsmd (schema \(unknown.sorted().joined(separator: ", "))); this one knows \(migrationNames.joined(separator: ", "))")
        }
        // A file of an earlier layout is read once migrated; one of this layout is read now.
        if applied == Set(migrationNames) {
          _ = try decode(db)
          _ = try CallerTokens.records(db)
          try DecisionBatch.checkAll(db)
        }
      }
    } catch let error as StateFileError {
      throw error
    } catch {
      throw StateFileError(code: "state.unreadable", message: "cannot read `\(path)` as an SQLite database: \(error)")
    }
  }

  static var migrator: DatabaseMigrator {
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
    migrator.registerMigration("v2-caller-tokens") { db in
      // Bearer tokens for TCP callers: only the SHA-256 of each token is kept.
      try db.execute(sql: """
        CREATE TABLE tokens (id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, domid INTEGER NOT NULL,
          created REAL NOT NULL);
        """)
    }
    migrator.registerMigration("v3-decision-batches") { db in
      // The decision log as batches: one row per write of the log, its entries packed in a blob
      // (`DecisionBatch`), instead of a row per decision — a row each cost the writer more than
      // deciding the question did. Entries logged before keep their ids and order.
      try db.execute(sql: """
        CREATE TABLE decision_batches (first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,
          count INTEGER NOT NULL, first_time REAL NOT NULL, last_time REAL NOT NULL, entries BLOB NOT NULL);
        """)
      var pending: [DecisionLog.Entry] = []
      let rows = try Row.fetchCursor(db, sql: "SELECT * FROM decisions ORDER BY id")
      while let row = try rows.next() {
        guard let id: Int64 = row["id"], let time: Double = row["time"], let caller: String = row["caller"],
          let op: String = row["op"], let target: String = row["target"], let module: String = row["module"],
          let verdict: String = row["verdict"], let sequence: Int64 = row["sequence"]
        else { throw StateFileError.damaged("a row of `decisions` has a NULL") }
        pending.append(DecisionLog.Entry(id: id, time: time, caller: caller, op: op, target: target, module: module,
          verdict: verdict, sequence: UInt64(bitPattern: sequence)))
        if pending.count == DecisionLog.batch {
          try DecisionBatch.insert(pending, db)
          pending.removeAll(keepingCapacity: true)
        }
      }
      if !pending.isEmpty { try DecisionBatch.insert(pending, db) }
      try db.execute(sql: "DROP TABLE decisions")
    }
    migrator.registerMigration("v4-domain-kind") { db in
      // Whether each domain is PV, HVM or PVH (Xen's is_hvm_domain and paging_mode_translate decide
      // dm_op, HVM and memory ops by it). Files written before this layout did not keep it, and the
      // xsmd that wrote them read every domain back as PV: their rows stay PV.
      try db.execute(sql: "ALTER TABLE domains ADD COLUMN kind TEXT NOT NULL DEFAULT 'pv'")
    }
    return migrator
  }

  /// The saved state; nil for a file that holds none yet (every state table empty).
  func loadSnapshot() throws(StateFileError) -> SavedState? {
    do {
      return try pool.read { db throws -> SavedState? in try Self.decode(db) }
    } catch let error as StateFileError {
      throw error
    } catch {
      throw StateFileError(code: "state.unreadable", message: "cannot read the saved state: \(error)")
    }
  }

  private static func decode(_ db: Database) throws -> SavedState? {
    let policyRows = try Row.fetchAll(db, sql: "SELECT binary, source FROM policy WHERE id = 1")
    guard let policyRow = policyRows.first else {
      let stored = try Int.fetchOne(db, sql: """
        SELECT (SELECT COUNT(*) FROM meta) + (SELECT COUNT(*) FROM booleans) + (SELECT COUNT(*) FROM sids)
          + (SELECT COUNT(*) FROM domains) + (SELECT COUNT(*) FROM labels)
        """) ?? 0
      if stored == 0 { return nil }
      throw StateFileError.damaged("the policy row is missing but \(stored) other rows are saved")
    }
    func required<T: DatabaseValueConvertible>(_ row: Row, _ column: String, _ table: String, _ key: String) throws -> T {
      guard let value: T = row[column] else {
        throw StateFileError.damaged("\(table).\(column) is NULL or not a \(T.self) (row \(key))")
      }
      return value
    }
    let blob: Data = try required(policyRow, "binary", "policy", "1")
    let source: String = try required(policyRow, "source", "policy", "1")
    var meta: [String: String] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
      let key: String = try required(row, "key", "meta", "?")
      meta[key] = try required(row, "value", "meta", key) as String
    }
    if let digest = meta["policy_sha256"], digest != sha256Hex(Array(blob)) {
      throw StateFileError.damaged("the saved policy's bytes do not match their SHA-256 (meta.policy_sha256)")
    }
    var booleans: [String: Bool] = [:]
    var pending: [String: Bool] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT name, value, pending FROM booleans") {
      let name: String = try required(row, "name", "booleans", "?")
      booleans[name] = (try required(row, "value", "booleans", name) as Int64) != 0
      if let p: Int64 = row["pending"] { pending[name] = p != 0 }
    }
    var contexts: [String] = []
    for row in try Row.fetchAll(db, sql: "SELECT sid, context FROM sids ORDER BY sid") {
      let sid: Int64 = try required(row, "sid", "sids", "?")
      guard sid == contexts.count + 1 else {
        throw StateFileError.damaged("the SID table skips from \(contexts.count) to \(sid)")
      }
      contexts.append(try required(row, "context", "sids", String(sid)))
    }
    var domains: [DomainSpec] = []
    for row in try Row.fetchAll(db, sql: "SELECT * FROM domains ORDER BY domid") {
      let domid: Int64 = try required(row, "domid", "domains", "?")
      let key = "domid \(domid)"
      var flags = Set<DomainFlag>()
      for text in (try required(row, "flags", "domains", key) as String).split(separator: ",") {
        guard let flag = DomainFlag(rawValue: String(text)) else {
          throw StateFileError.damaged("domains.flags of \(key) has an unknown flag `\(text)`")
        }
        flags.insert(flag)
      }
      let iommuText: String = try required(row, "iommu", "domains", key)
      guard let iommu = IOMMUMode(rawValue: iommuText) else {
        throw StateFileError.damaged("domains.iommu of \(key) is `\(iommuText)`, not intremap, nointremap or none")
      }
      let kindText: String = try required(row, "kind", "domains", key)
      guard let kind = DomainKind(rawValue: kindText) else {
        throw StateFileError.damaged("domains.kind of \(key) is `\(kindText)`, not pv, hvm or pvh")
      }
      domains.append(DomainSpec(domid: Int(domid), name: try required(row, "name", "domains", key),
        context: try required(row, "context", "domains", key), flags: flags, target: row["target"], iommu: iommu,
        kind: kind))
    }
    var labels: [RuntimeLabels.Entry] = []
    for row in try Row.fetchAll(db, sql: "SELECT * FROM labels") {
      let kindText: String = try required(row, "kind", "labels", "?")
      guard let kind = RuntimeLabels.Kind(rawValue: kindText) else {
        throw StateFileError.damaged("labels.kind `\(kindText)` is not a label kind")
      }
      let low: Int64 = try required(row, "low", "labels", kindText)
      let high: Int64 = try required(row, "high", "labels", kindText)
      let sid: Int64 = try required(row, "sid", "labels", kindText)
      guard let sid32 = UInt32(exactly: sid) else { throw StateFileError.damaged("labels.sid \(sid) is not a SID") }
      labels.append(RuntimeLabels.Entry(kind: kind, low: UInt64(bitPattern: low), high: UInt64(bitPattern: high),
        path: row["path"], sid: sid32))
    }
    return SavedState(
      policy: Array(blob), policySource: source, enforcing: meta["enforcing"].map { $0 == "1" },
      booleans: booleans, pending: pending, contexts: contexts, domains: domains, labels: labels,
      cacheThreshold: meta["cache_threshold"].flatMap { Int($0) })
  }

  /// Replaces the saved state in one transaction; returns once it is on disk.
  func save(_ s: SavedState) async throws {
    try await pool.write { db in
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
      if let policy = s.policy {
        // Checked at start-up: SQLite's integrity check cannot see damage inside a blob.
        try db.execute(sql: "INSERT INTO meta VALUES ('policy_sha256', ?)", arguments: [sha256Hex(policy)])
      }
      try db.execute(sql: "DELETE FROM booleans")
      for (name, value) in s.booleans {
        try db.execute(sql: "INSERT INTO booleans VALUES (?, ?, ?)",
          arguments: [name, value ? 1 : 0, s.pending[name].map { $0 ? 1 : 0 }])
      }
      try Self.replaceSIDs(db, s.contexts)
      try db.execute(sql: "DELETE FROM domains")
      for d in s.domains {
        try db.execute(sql: "INSERT INTO domains (domid, name, context, flags, target, iommu, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
          arguments: [d.domid, d.name, d.context, d.flags.map(\.rawValue).sorted().joined(separator: ","), d.target,
            d.iommu.rawValue, d.kind.rawValue])
      }
      try db.execute(sql: "DELETE FROM labels")
      for e in s.labels {
        try db.execute(sql: "INSERT INTO labels VALUES (?, ?, ?, ?, ?)",
          arguments: [e.kind.rawValue, Int64(bitPattern: e.low), Int64(bitPattern: e.high), e.path, Int64(e.sid)])
      }
    }
  }

  func saveSIDs(_ contexts: [String]) async throws {
    try await pool.write { db in try Self.replaceSIDs(db, contexts) }
  }

  private static func replaceSIDs(_ db: Database, _ contexts: [String]) throws {
    let stored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sids") ?? 0
    if stored > contexts.count { try db.execute(sql: "DELETE FROM sids") }
    for (i, context) in contexts.enumerated() {
      try db.execute(sql: "INSERT OR REPLACE INTO sids VALUES (?, ?)", arguments: [i + 1, context])
    }
  }

  /// Appends decisions (ids already given) as one batch and trims the log to
  /// about `retention` entries (whole batches go).
  func append(_ entries: [DecisionLog.Entry]) throws {
    guard let last = entries.last else { return }
    try pool.write { db in
      try DecisionBatch.insert(entries, db)
      try db.execute(sql: "DELETE FROM decision_batches WHERE last_id <= ?", arguments: [last.id - Int64(Self.retention)])
    }
  }

  /// Decisions the state file's log holds.
  func decisionCount() -> Int {
    (try? pool.read { db in try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(count), 0) FROM decision_batches") ?? 0 }) ?? 0
  }

  /// The id after the newest logged decision (1 for an empty log).
  func nextDecisionID() throws -> Int64 {
    try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(last_id) FROM decision_batches") ?? 0 } + 1
  }

  /// One page of the decision log, oldest first: the batches that can hold
  /// an entry after `after` within the time bounds are read in order, and
  /// their entries filtered, until the page is full.
  func decisions(_ q: DecisionQueryV1) throws -> [DecisionLog.Entry] {
    var sql = "SELECT entries FROM decision_batches WHERE last_id > ?"
    var values: [any DatabaseValueConvertible] = [q.after]
    if let since = q.since {
      sql += " AND last_time >= ?"
      values.append(since)
    }
    if let until = q.until {
      sql += " AND first_time < ?"
      values.append(until)
    }
    sql += " ORDER BY first_id"
    return try pool.read { db in
      var page: [DecisionLog.Entry] = []
      let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(values))
      while page.count < q.limit, let row = try rows.next() {
        let blob: Data = row[0]
        for entry in try DecisionBatch.entries([UInt8](blob)) where entry.id > q.after && q.admits(entry) {
          page.append(entry)
          if page.count == q.limit { break }
        }
      }
      return page
    }
  }
}

extension DecisionQueryV1 {
  /// Whether an entry passes the filters other than `after` and `limit`.
  func admits(_ e: DecisionLog.Entry) -> Bool {
    (caller == nil || caller == e.caller) && (op == nil || op == e.op) && (verdict == nil || verdict?.rawValue == e.verdict)
      && (since.map { e.time >= $0 } ?? true) && (until.map { e.time < $0 } ?? true)
  }
}

/// A batch of the decision log as the state file keeps it: the entries one
/// after another, each its id, time and sequence (8 bytes each, little
/// endian) and its caller, op, target, module and verdict (a 2-byte length,
/// then UTF-8).
enum DecisionBatch {
  static func encode(_ entries: [DecisionLog.Entry]) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(entries.count * 128)
    for e in entries {
      append(word: UInt64(bitPattern: e.id), to: &bytes)
      append(word: e.time.bitPattern, to: &bytes)
      bytes.append(contentsOf: e.facts.encoded)
    }
    return bytes
  }

  static func append(word value: UInt64, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
  }

  static func append(text value: String, to bytes: inout [UInt8]) {
    let utf8 = value.utf8.prefix(Int(UInt16.max))
    withUnsafeBytes(of: UInt16(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: utf8)
  }

  /// The entries of a batch; `state.damaged` when its bytes end inside one.
  static func entries(_ bytes: [UInt8]) throws(StateFileError) -> [DecisionLog.Entry] {
    var entries: [DecisionLog.Entry] = []
    var at = 0
    func fail() -> StateFileError {
      StateFileError.damaged("a decision-log batch ends inside an entry (byte \(at) of \(bytes.count))")
    }
    func word() throws(StateFileError) -> UInt64 {
      guard at + 8 <= bytes.count else { throw fail() }
      var value: UInt64 = 0
      for k in 0..<8 { value |= UInt64(bytes[at + k]) << (8 * UInt64(k)) }
      at += 8
      return value
    }
    func text() throws(StateFileError) -> String {
      guard at + 2 <= bytes.count else { throw fail() }
      let count = Int(bytes[at]) | Int(bytes[at + 1]) << 8
      at += 2
      guard at + count <= bytes.count else { throw fail() }
      defer { at += count }
      return String(decoding: bytes[at..<(at + count)], as: UTF8.self)
    }
    while at < bytes.count {
      let id = Int64(bitPattern: try word())
      let time = Double(bitPattern: try word())
      let sequence = try word()
      entries.append(DecisionLog.Entry(id: id, time: time, caller: try text(), op: try text(), target: try text(),
        module: try text(), verdict: try text(), sequence: sequence))
    }
    return entries
  }

  static func insert(_ entries: [DecisionLog.Entry], _ db: Database) throws {
    guard let first = entries.first, let last = entries.last else { return }
    let times = entries.map(\.time)
    try db.execute(
      sql: "INSERT INTO decision_batches (first_id, last_id, count, first_time, last_time, entries) VALUES (?, ?, ?, ?, ?, ?)",
      arguments: [first.id, last.id, entries.count, times.min() ?? 0, times.max() ?? 0, Data(encode(entries))])
  }

  /// Start-up check: every batch reads back whole, with the count and ids its row states.
  static func checkAll(_ db: Database) throws {
    let rows = try Row.fetchCursor(db, sql: "SELECT first_id, last_id, count, entries FROM decision_batches")
    while let row = try rows.next() {
      guard let firstID: Int64 = row[0], let lastID: Int64 = row[1], let count: Int = row[2], let blob: Data = row[3]
      else { throw StateFileError.damaged("a row of `decision_batches` has a NULL") }
      let entries = try Self.entries([UInt8](blob))
      guard entries.count == count, entries.first?.id == firstID, entries.last?.id == lastID else {
        throw StateFileError.damaged("the decision-log batch starting at id \(firstID) does not hold what its row says")
      }
    }
  }
}

/// The decision log: `can` answers are buffered in memory and written to
/// the state file by a writer of their own, when 1024 have gathered and
/// otherwise once a second (and at a graceful stop), so logging costs a
/// request neither a transaction nor a wait for one. A kill -9 loses at most
/// the entries of the last second; an append that fails is retried at the
/// next flush (the oldest entries beyond `StateStore.retention` are
/// dropped). Without a state file the log keeps the last `memoryRetention`
/// entries in memory.
final class DecisionLog: Sendable {
  struct Entry: Sendable {
    /// Given by the log when the entry is recorded: one more than the last, across restarts.
    var id: Int64 = 0
    /// Seconds since 1970, given by the log when the entry is recorded.
    var time: Double = 0
    /// What was asked and answered, shared by every entry of a repeated answer (recording one
    /// copies a reference, not five strings).
    let facts: Facts
    var caller: String { facts.caller }
    var op: String { facts.op }
    var target: String { facts.target }
    var module: String { facts.module }
    var verdict: String { facts.verdict }
    var sequence: UInt64 { facts.sequence }

    init(
      id: Int64 = 0, time: Double = 0, caller: String, op: String, target: String, module: String, verdict: String,
      sequence: UInt64
    ) {
      self.id = id
      self.time = time
      facts = Facts(caller: caller, op: op, target: target, module: module, verdict: verdict, sequence: sequence)
    }
  }

  /// The caller, op, target, module, verdict and policy sequence of a logged decision, with
  /// their bytes as a batch keeps them, packed the first time a batch holds them and kept: every
  /// repeat of a memo reply shares its facts, so writing a batch of repeats copies bytes instead of
  /// encoding 1024 entries in one burst of the writer, and a request never packs them.
  final class Facts: Sendable {
    let caller: String
    let op: String
    let target: String
    let module: String
    let verdict: String
    let sequence: UInt64
    private let packed = Mutex<[UInt8]?>(nil)

    init(caller: String, op: String, target: String, module: String, verdict: String, sequence: UInt64) {
      self.caller = caller
      self.op = op
      self.target = target
      self.module = module
      self.verdict = verdict
      self.sequence = sequence
    }

    /// `sequence` and the five texts in `DecisionBatch`'s layout.
    var encoded: [UInt8] {
      packed.withLock { packed in
        if let packed { return packed }
        var bytes: [UInt8] = []
        DecisionBatch.append(word: sequence, to: &bytes)
        for text in [caller, op, target, module, verdict] { DecisionBatch.append(text: text, to: &bytes) }
        packed = bytes
        return bytes
      }
    }
  }

  let store: StateStore?
  /// Entries recorded and not written yet, and the id the next one gets.
  private struct Pending {
    var entries: [Entry] = []
    var nextID: Int64
  }
  private let buffer: Mutex<Pending>
  let logged = Atomic<Int>(0)
  /// Writes batches in the order they filled, off the requests' threads and below their priority.
  let writer = BackgroundThread(name: "xsmd-log-writer")
  /// The log itself when there is no state file: the newest entries.
  let memory = Mutex<[Entry]>([])
  static let batch = 1024
  static let memoryRetention = 10_000
  /// How often buffered entries are written when fewer than a batch gathered.
  static let flushInterval: Duration = .seconds(1)
  private let flusher = Mutex<Task<Void, Never>?>(nil)

  /// A log over `store` continues its ids (a log it cannot read starts at 1: its writes then fail and
  /// are retried, and the failure shows in the log's page route).
  init(store: StateStore?) {
    self.store = store
    buffer = Mutex(Pending(nextID: (try? store?.nextDecisionID()) ?? 1))
  }

  var count: Int { logged.load(ordering: .relaxed) + buffer.withLock { $0.entries.count } }

  /// Records `answered` (its id and time are given here).
  func record(_ answered: Entry) {
    var entry = answered
    entry.time = Date().timeIntervalSince1970
    let full: [Entry]? = buffer.withLock { b in
      entry.id = b.nextID
      b.nextID += 1
      b.entries.append(entry)
      guard b.entries.count >= Self.batch else { return nil }
      defer { b.entries.removeAll(keepingCapacity: true) }
      return b.entries
    }
    if let full { writer.async { self.write(full) } }
  }

  /// Starts the background writer that flushes once an interval (once).
  func startFlushing(every interval: Duration = flushInterval) {
    flusher.withLock { task in
      guard task == nil else { return }
      task = Task.detached { [weak self] in
        while !Task.isCancelled {
          try? await Task.sleep(for: interval)
          guard let self else { return }
          self.flushLater()
        }
      }
    }
  }

  /// Stops the background writer and writes what is buffered (at shutdown).
  func stop() {
    flusher.withLock { task in
      task?.cancel()
      task = nil
    }
    flush()
  }

  /// Writes what is buffered and waits for the writer (at shutdown, before a read, in tests).
  func flush() {
    writer.sync { self.writeBuffered() }
  }

  /// Has the writer write what is buffered, without waiting for it: the once-a-second flush runs
  /// on a thread of Swift's shared pool, which must not sit through a transaction and its fsync
  /// while requests wait for that thread.
  func flushLater() {
    writer.async { self.writeBuffered() }
  }

  private func writeBuffered() {
    let pending = buffer.withLock { b -> [Entry] in
      defer { b.entries.removeAll(keepingCapacity: true) }
      return b.entries
    }
    if !pending.isEmpty { write(pending) }
  }

  /// One page of the log (everything recorded so far, buffered entries included).
  func page(_ q: DecisionQueryV1) throws -> [Entry] {
    flush()
    if let store { return try store.decisions(q) }
    return memory.withLock { entries in
      var found: [Entry] = []
      for e in entries where e.id > q.after && q.admits(e) {
        found.append(e)
        if found.count == q.limit { break }
      }
      return found
    }
  }

  /// Appends `entries` to the state file (on failure they go back to the
  /// front of the buffer, for the next flush) or to the in-memory log.
  private func write(_ entries: [Entry]) {
    guard let store else {
      memory.withLock { kept in
        kept.append(contentsOf: entries)
        if kept.count > Self.memoryRetention { kept.removeFirst(kept.count - Self.memoryRetention) }
      }
      logged.add(entries.count, ordering: .relaxed)
      return
    }
    do {
      try store.append(entries)
      logged.add(entries.count, ordering: .relaxed)
    } catch {
      buffer.withLock { b in
        b.entries.insert(contentsOf: entries, at: 0)
        if b.entries.count > StateStore.retention { b.entries.removeFirst(b.entries.count - StateStore.retention) }
      }
    }
  }
}
