import Foundation
import GRDB
import Synchronization
import Testing
import XSMEngine
import XSMProtocol
import XSMTestSupport

@testable import XSMService

// The state file as the only truth: a change is answered only once it is
// committed, a failed commit changes nothing (in memory or on disk), and a
// file that cannot be read or is damaged stops start-up without being touched.

/// A temporary directory removed with the value.
private final class StateScratch: Sendable {
  let path = NSTemporaryDirectory() + "xsmd-durability-" + UUID().uuidString
  init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  var state: String { path + "/state.sqlite" }
}

/// Set once a task has finished.
private final class DoneFlag: Sendable {
  let value = Atomic<Bool>(false)
}

/// Start-up's error for `path`, or nil when it starts.
private func startError(_ path: String) async -> ServiceError? {
  do {
    _ = try await defaultService(statePath: path)
    return nil
  } catch let error as ServiceError {
    return error
  } catch {
    return ServiceError(0, "unexpected", "\(error)")
  }
}

/// A saved state with a non-default enforcing mode, closed.
private func savedState(_ path: String) async throws {
  let service = try await defaultService(statePath: path)
  _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: Caller("dom0"))
  service.close()
}

/// The file through a connection of its own that waits for locks: a service closed just before may
/// still be letting go of the file (its last connection checkpoints the WAL as it closes).
private func openWaiting(_ path: String) throws -> DatabaseQueue {
  var configuration = Configuration()
  configuration.busyMode = .timeout(10)
  return try DatabaseQueue(path: path, configuration: configuration)
}

/// Runs SQL on the file through a connection of its own (as another program would), and moves it
/// into the main file: a service closed just before may not have let go of its connection yet, and
/// then closing this one would leave the change in the WAL, for the next opener to checkpoint (and
/// so change the main file, which the refusals below check is untouched).
private func tamper(_ path: String, _ sql: String) throws {
  let queue = try openWaiting(path)
  try queue.writeWithoutTransaction { db in
    try db.execute(sql: sql)
    if try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal" {
      try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
  }
  try queue.close()
}

@Suite("State file durability")
struct DurabilityTests {
  @Test func aWriteTheFileRefusesIsA500AndChangesNothing() async throws {
    let scratch = try StateScratch()
    try await savedState(scratch.state)
    let service = try await defaultService(statePath: scratch.state)
    let dom0 = Caller("dom0")
    // Another connection holds the write lock (BEGIN IMMEDIATE) past xsmd's busy timeout.
    var configuration = Configuration()
    configuration.allowsUnsafeTransactions = true
    let locker = try DatabaseQueue(path: scratch.state, configuration: configuration)
    try await locker.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }

    // The write waits for the lock (up to the busy timeout); queries meanwhile are answered from the
    // published snapshot without waiting for it.
    let writeDone = DoneFlag()
    let write = Task { () async -> ServiceError? in
      defer { writeDone.value.store(true, ordering: .releasing) }
      do throws(ServiceError) {
        _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: true), caller: dom0)
        return nil
      } catch {
        return error
      }
    }
    try await Task.sleep(for: .milliseconds(100))
    #expect(try service.getEnforce(caller: dom0).enforcing == false)
    _ = try service.can(CanRequestV1(op: "domctl.pause", target: "web"), caller: dom0)
    _ = try service.matrix(MatrixRequestV1(ops: ["domctl.pause"]), caller: dom0)
    let finished = writeDone.value.load(ordering: .acquiring)
    #expect(!finished, "a query waited for the write in progress")
    let failure = await write.value
    #expect(failure?.status == 500 && failure?.code == "state.write-failed", "\(String(describing: failure))")
    do {
      _ = try await service.addDomain(AddDomainRequestV1(domid: 60, name: "late", context: "user_1:vm_r:domU_t"),
        caller: dom0)
      Issue.record("add-domain answered while the file was locked")
    } catch {
      #expect(error.code == "state.write-failed", "\(error)")
    }
    // Memory is as it was: the failed changes were never published.
    #expect(try service.getEnforce(caller: dom0).enforcing == false)
    #expect(!service.domains().contains { $0.domid == 60 })

    try await locker.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
    try locker.close()
    service.close()
    let restarted = try await defaultService(statePath: scratch.state)
    #expect(try restarted.getEnforce(caller: dom0).enforcing == false)
    #expect(!restarted.domains().contains { $0.domid == 60 })
    // Once the lock is gone, writes are answered and kept.
    #expect(try await restarted.setEnforce(SetEnforceRequestV1(enforcing: true), caller: dom0).enforcing)
    restarted.close()
    #expect(try await defaultService(statePath: scratch.state).getEnforce(caller: dom0).enforcing)
  }

  @Test func unreadableAndDamagedFilesStopStartUpUntouched() async throws {
    let scratch = try StateScratch()
    func refused(_ path: String, _ code: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation)
      async throws
    {
      let before = try Data(contentsOf: URL(fileURLWithPath: path))
      let error = await startError(path)
      #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
      #expect(error?.message.contains(words) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the file was changed",
        sourceLocation: sourceLocation)
    }

    let garbage = scratch.path + "/garbage.sqlite"
    try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: garbage))
    try await refused(garbage, "state.unreadable", garbage)

    let foreign = scratch.path + "/foreign.sqlite"
    try tamper(foreign, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')")
    try await refused(foreign, "state.unreadable", "not an xsmd state file")

    /// A saved state changed by `sql`, then refused with `code` and a message containing `words`.
    func refusedAfter(_ sql: String, _ code: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation)
      async throws
    {
      let path = scratch.path + "/\(UUID().uuidString).sqlite"
      try await savedState(path)
      try tamper(path, sql)
      try await refused(path, code, words, sourceLocation: sourceLocation)
    }
    /// SQL that rebuilds `table` with `columns` (without NOT NULL, as another program might), then runs `change`.
    func rebuilt(_ table: String, _ columns: String, then change: String) -> String {
      """
      CREATE TABLE rebuilt (\(columns)); INSERT INTO rebuilt SELECT * FROM \(table); DROP TABLE \(table);
      ALTER TABLE rebuilt RENAME TO \(table); \(change)
      """
    }
    try await refusedAfter("INSERT INTO grdb_migrations VALUES ('v9-from-the-future')", "state.unreadable", "newer xsmd")
    try await refusedAfter("DELETE FROM policy", "state.damaged", "policy row is missing")
    try await refusedAfter(
      rebuilt("booleans", "name TEXT PRIMARY KEY, value INTEGER, pending INTEGER",
        then: "UPDATE booleans SET value = NULL WHERE name = 'guest_vpmu'"),
      "state.damaged", "booleans.value is NULL")
    try await refusedAfter(
      rebuilt("domains", "domid INTEGER PRIMARY KEY, name TEXT, context TEXT, flags TEXT, target TEXT, iommu TEXT, kind TEXT",
        then: "UPDATE domains SET flags = NULL WHERE domid = 0"),
      "state.damaged", "domains.flags is NULL")
    try await refusedAfter("UPDATE domains SET flags = 'control,wizard' WHERE domid = 0", "state.damaged", "wizard")
    try await refusedAfter("UPDATE domains SET kind = 'hvm2' WHERE domid = 0", "state.damaged", "domains.kind of domid 0")
    try await refusedAfter("DELETE FROM sids WHERE sid = 3", "state.damaged", "SID table skips")
    // A decision-log batch cut short, or holding other ids than its row says.
    let logged = "INSERT INTO decision_batches VALUES (1, 1, 1, 0, 0, X'"
      + DecisionBatch.encode([DecisionLog.Entry(id: 1, time: 0, caller: "dom0", op: "domctl.pause", target: "web",
        module: "flask", verdict: "allowed", sequence: 1)]).map { String(format: "%02x", $0) }.joined() + "')"
    try await refusedAfter(logged + "; UPDATE decision_batches SET entries = substr(entries, 1, 30)", "state.damaged",
      "ends inside an entry")
    try await refusedAfter(logged + "; UPDATE decision_batches SET last_id = 7", "state.damaged",
      "does not hold what its row says")

    // Damage inside the policy blob, which SQLite's integrity check cannot see: its SHA-256 does.
    let blob = scratch.path + "/blob.sqlite"
    try await savedState(blob)
    try tamper(blob, "VACUUM")  // one copy of the blob: no stale copies on free pages
    try tamper(blob, "PRAGMA wal_checkpoint(TRUNCATE)")
    var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
    // The policy's first bytes (magic, then the length of "XenFlask"); the blob's first page holds them.
    let start = try #require(bytes.range(of: Data([0x8c, 0xff, 0x7c, 0xf9, 0x08, 0, 0, 0])), "the policy is in the file")
    bytes[start.lowerBound + 12] ^= 0x01
    try bytes.write(to: URL(fileURLWithPath: blob))
    try await refused(blob, "state.damaged", "SHA-256")

    // A damaged b-tree page (the domains table's root): SQLite's integrity check refuses it.
    let page = scratch.path + "/page.sqlite"
    try await savedState(page)
    try tamper(page, "PRAGMA wal_checkpoint(TRUNCATE)")
    let (root, pageSize) = try await openWaiting(page).read { db in
      (try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'domains'") ?? 0,
        try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096)
    }
    bytes = try Data(contentsOf: URL(fileURLWithPath: page))
    for i in ((root - 1) * pageSize + 8)..<(root * pageSize - 8) { bytes[i] = 0x5A }
    try bytes.write(to: URL(fileURLWithPath: page))
    let error = await startError(page)
    #expect(error?.code == "state.damaged" || error?.code == "state.unreadable", "\(String(describing: error))")
  }

  @Test func aFileOfTheFirstLayoutOpensAndIsMigrated() async throws {
    let scratch = try StateScratch()
    // A file as the first xsmd wrote it (rollback journal, only the `v1` migration).
    let queue = try DatabaseQueue(path: scratch.state)
    try StateStore.migrator.migrate(queue, upTo: "v1")
    try queue.close()
    try await savedStateFromV1(scratch.state)
    let check = try openWaiting(scratch.state)
    let applied = try await check.read { db in
      try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
    }
    #expect(applied == StateStore.migrationNames)
    #expect(try await check.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
    // Every domain has a kind column again, written by the save after the migration.
    let kinds = try await check.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT kind FROM domains ORDER BY kind") }
    #expect(kinds == ["hvm", "pv", "pvh"], "the default host has each kind: \(kinds)")
    try check.close()
  }

  /// A v3 file kept no domain kinds, and the xsmd that wrote it read every domain back as PV:
  /// `v4-domain-kind` keeps that reading, and from then on a kind written is a kind kept.
  @Test func aV3FileReadsItsDomainsAsPV() async throws {
    let scratch = try StateScratch()
    try await savedState(scratch.state)
    try tamper(scratch.state, """
      CREATE TABLE v3 (domid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, context TEXT NOT NULL,
        flags TEXT NOT NULL, target TEXT, iommu TEXT NOT NULL);
      INSERT INTO v3 SELECT domid, name, context, flags, target, iommu FROM domains;
      DROP TABLE domains; ALTER TABLE v3 RENAME TO domains;
      DELETE FROM grdb_migrations WHERE identifier = 'v4-domain-kind';
      """)
    let service = try await defaultService(statePath: scratch.state)
    #expect(Set(service.domains().map(\.kind)) == ["pv"])
    #expect(try service.getEnforce(caller: Caller("dom0")).enforcing == false, "the rest of the state as saved")
    _ = try await service.addDomain(
      AddDomainRequestV1(domid: 70, name: "late-hvm", context: "user_1:vm_r:domU_t", kind: "pvh"), caller: Caller("dom0"))
    service.close()
    let reopened = try await defaultService(statePath: scratch.state)
    #expect(reopened.domains().first { $0.domid == 70 }?.kind == "pvh")
    reopened.close()
  }
}

/// The decision log of a v2 file (a row per decision) is packed into batches by
/// `v3-decision-batches`: every entry kept with its id, and the ids go on from there.
@Suite("Decision log batches")
struct DecisionBatchTests {
  /// The layout docs/service.md states, byte by byte: id, time and sequence (8 bytes each, little
  /// endian), then caller, op, target, module and verdict (a 2-byte length, then UTF-8). The
  /// entries' texts are written when the entry is made, so this pins what the writer copies.
  @Test func theBatchLayoutIsTheDocumentedOne() throws {
    let entries = [
      DecisionLog.Entry(id: 0x0102, time: 1.5, caller: "dom0", op: "op", target: "é", module: "flask", verdict: "denied",
        sequence: 7),
      DecisionLog.Entry(id: 0x0103, time: -2, caller: "", op: "o", target: "-", module: "silo", verdict: "allowed", sequence: 0),
    ]
    func word(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    func text(_ t: String) -> [UInt8] { [UInt8(t.utf8.count & 0xFF), UInt8(t.utf8.count >> 8)] + Array(t.utf8) }
    var expected: [UInt8] = []
    for e in entries {
      expected += word(UInt64(bitPattern: e.id)) + word(e.time.bitPattern) + word(e.sequence)
      for t in [e.caller, e.op, e.target, e.module, e.verdict] { expected += text(t) }
    }
    #expect(expected.count == 2 * 24 + (2 + 4) + (2 + 2) + (2 + 2) + (2 + 5) + (2 + 6) + (2 + 0) + (2 + 1) + (2 + 1) + (2 + 4) + (2 + 7))
    let bytes = DecisionBatch.encode(entries)
    #expect(bytes == expected)
    let read = try DecisionBatch.entries(bytes)
    #expect(read.map(\.id) == [0x0102, 0x0103] && read.map(\.time) == [1.5, -2] && read.map(\.sequence) == [7, 0])
    #expect(read.map(\.target) == ["é", "-"] && read.map(\.verdict) == ["denied", "allowed"] && read[1].caller == "")
  }

  /// Fewer than a batch of answers reach the state file by the timed flush alone (it hands the
  /// write to the log's writer and does not wait for it), with nothing reading the log.
  @Test func theTimedFlushWritesWithoutAReader() async throws {
    let scratch = try StateScratch()
    let store = try StateStore(path: scratch.state)
    let log = DecisionLog(store: store)
    for k in 0..<5 {
      log.record(DecisionLog.Entry(caller: "dom\(k)", op: "domctl.pause", target: "web", module: "flask",
        verdict: "allowed", sequence: 1))
    }
    #expect(store.decisionCount() == 0)
    log.startFlushing(every: .milliseconds(20))
    var waited = 0
    while store.decisionCount() < 5, waited < 200 {
      try await Task.sleep(for: .milliseconds(10))
      waited += 1
    }
    #expect(store.decisionCount() == 5)
    log.stop()
    #expect(try store.decisions(DecisionQueryV1(limit: 10)).map(\.caller) == (0..<5).map { "dom\($0)" })
  }

  @Test func aV2LogIsPackedWithItsIds() async throws {
    let scratch = try StateScratch()
    let queue = try DatabaseQueue(path: scratch.state)
    try StateStore.migrator.migrate(queue, upTo: "v2-caller-tokens")
    // 600 rows (three batches' worth), ids from 41 as a trimmed log's would start.
    try await queue.write { db in
      for i in 0..<600 {
        try db.execute(
          sql: "INSERT INTO decisions (id, time, caller, op, target, module, verdict, sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          arguments: [41 + i, 1000 + Double(i), i % 2 == 0 ? "caller-a" : "caller-b", "domctl.pausedomain", "db", "flask",
            i % 3 == 0 ? "denied" : "allowed", 7])
      }
    }
    try queue.close()
    let service = try await defaultService(statePath: scratch.state)
    let dom0 = Caller("dom0")
    let all = try service.decisions(DecisionQueryV1(limit: 1000), caller: dom0)
    #expect(all.decisions.count == 600)
    #expect(all.decisions.map(\.id) == Array(41...640))
    #expect(all.decisions.first?.caller == "caller-a" && all.decisions[1].caller == "caller-b")
    #expect(all.decisions.first?.verdict == .denied && all.decisions[1].verdict == .allowed)
    // Paged, filtered and bounded in time as before.
    var query = DecisionQueryV1(limit: 10)
    query.after = 300
    query.caller = "caller-b"
    query.verdict = .denied
    let page = try service.decisions(query, caller: dom0)
    #expect(page.decisions.map(\.id) == [302, 308, 314, 320, 326, 332, 338, 344, 350, 356])
    #expect(page.next == 356)
    var timed = DecisionQueryV1(limit: 1000)
    timed.since = 1100
    timed.until = 1110
    #expect(try service.decisions(timed, caller: dom0).decisions.map(\.id) == Array(141...150))
    // The next decision continues the ids, and is read back after a restart.
    _ = try service.can(CanRequestV1(op: "domctl.pause", target: "web"), caller: dom0)
    service.close()
    let reopened = try await defaultService(statePath: scratch.state)
    var after = DecisionQueryV1(limit: 10)
    after.after = 640
    let next = try reopened.decisions(after, caller: dom0).decisions
    #expect(next.map(\.id) == [641])
    #expect(next.first?.op.contains("pause") == true && next.first?.caller != "caller-a", "\(next)")
    reopened.close()
  }
}

/// Starts on a v1 file, which migrates it, and writes to it.
private func savedStateFromV1(_ path: String) async throws {
  let service = try await defaultService(statePath: path)
  _ = try await service.tokens.issue(domid: 0)
  #expect(try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: Caller("dom0")).enforcing == false)
  service.close()
}
