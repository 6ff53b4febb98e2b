import Foundation
import GRDB
import Synchronization
import XSMEngine
import XSMProtocol

/// Bearer tokens that authenticate callers over TCP: each names one domain
/// (by domid). A token is 32 random bytes shown once when issued; the
/// state file keeps only its SHA-256, so a copy of the state file does not
/// give the tokens away. A token verified once is kept in memory for the
/// rest of the run (compared in constant time), so a request does not hash
/// it again. With a state file, a token issued by another process
/// (`xsmd --issue-token`) is found on first use; a token revoked through the
/// route is refused at once.
public final class CallerTokens: Sendable {
  struct Record: Sendable {
    var id: String
    var domid: Int
    var created: Double
  }

  let store: StateStore?
  private let known: Mutex<[String: Record]>
  /// Tokens verified this run, by the token's hash under the process's random seed: the token
  /// (compared in constant time before it is believed) and the domid it names. A revocation
  /// empties it and moves `generation` on, so a check that began before the revocation cannot
  /// put the revoked token back.
  private struct Verified {
    var entries: [Int: VerifiedToken] = [:]
    var generation = 0
  }
  /// A token verified once, and its domid (a class: a lookup takes a reference, not a copy).
  private final class VerifiedToken: Sendable {
    let token: [UInt8]
    let domid: Int
    init(token: [UInt8], domid: Int) {
      self.token = token
      self.domid = domid
    }
  }
  private let verified = Mutex(Verified())
  static let maximumVerified = 4096

  init(store: StateStore?) throws(StateFileError) {
    self.store = store
    var records: [String: Record] = [:]
    if let store {
      do {
        records = try store.pool.read { db in try Self.records(db) }
      } catch let error as StateFileError {
        throw error
      } catch {
        throw StateFileError(code: "state.unreadable", message: "cannot read the caller tokens: \(error)")
      }
    }
    known = Mutex(records)
  }

  /// The saved tokens by digest; a NULL is `state.damaged`.
  static func records(_ db: Database) throws -> [String: Record] {
    var records: [String: Record] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT id, digest, domid, created FROM tokens") {
      guard let id: String = row["id"], let digest: String = row["digest"], let domid: Int = row["domid"],
        let created: Double = row["created"]
      else { throw StateFileError.damaged("a row of `tokens` has a NULL") }
      records[digest] = Record(id: id, domid: domid, created: created)
    }
    return records
  }

  /// Opens the tokens of a state file without starting a service (`xsmd --issue-token`).
  public static func open(statePath: String) throws(ServiceError) -> CallerTokens {
    do {
      return try CallerTokens(store: try StateStore(path: statePath))
    } catch {
      throw ServiceError(500, error.code, "state file `\(statePath)`: \(error.message)")
    }
  }

  static func digest(_ token: String) -> String { sha256Hex(Array(token.utf8)) }

  /// The domid a token authenticates, or nil for a token never issued or revoked.
  public func domid(forToken token: some StringProtocol) -> Int? {
    // A token's own random bytes pick its slot (no hash of the whole token per request); the
    // constant-time comparison below decides. A token seen before is checked in place.
    var token = Substring(token)
    let verifiedBefore = token.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
      let seen = verified.withLock { $0.entries[Self.slot(bytes)] }
      guard let seen, seen.token.withUnsafeBufferPointer({ Self.sameBytes($0, bytes) }) else { return nil }
      return seen.domid
    }
    if let verifiedBefore, let domid = verifiedBefore { return domid }
    token.makeContiguousUTF8()
    let bytes = Array(token.utf8)
    let slot = bytes.withUnsafeBufferPointer { Self.slot($0) }
    let generation = verified.withLock { $0.generation }
    let digest = sha256Hex(bytes)
    if let record = known.withLock({ $0[digest] }) {
      remember(bytes, slot: slot, domid: record.domid, generation: generation)
      return record.domid
    }
    guard let store,
      let row = try? store.pool.read({ db in
        try Row.fetchOne(db, sql: "SELECT id, domid, created FROM tokens WHERE digest = ?", arguments: [digest])
      }),
      let id: String = row["id"], let domid: Int = row["domid"], let created: Double = row["created"]
    else { return nil }
    known.withLock { $0[digest] = Record(id: id, domid: domid, created: created) }
    remember(bytes, slot: slot, domid: domid, generation: generation)
    return domid
  }

  private func remember(_ token: [UInt8], slot: Int, domid: Int, generation: Int) {
    verified.withLock { v in
      guard v.generation == generation, v.entries.count < Self.maximumVerified || v.entries[slot] != nil else { return }
      v.entries[slot] = VerifiedToken(token: token, domid: domid)
    }
  }

  /// Whether two byte strings are equal, in a time that depends on their lengths only.
  static func sameBytes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<x.count { difference |= x[i] ^ y[i] }
    return difference == 0
  }

  /// The cache slot of a token: its last 8 bytes (an issued token ends in 64 random hex digits) and
  /// its length. Any other string gets a slot too; two in one slot only cost the slower check.
  static func slot(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var value: UInt64 = 0
    for byte in bytes.suffix(8) { value = value << 8 | UInt64(byte) }
    return Int(truncatingIfNeeded: value ^ UInt64(bytes.count) << 56)
  }

  /// A new token for `domid`, saved before it is returned.
  public func issue(domid: Int) async throws(ServiceError) -> IssuedTokenV1 {
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let token = "xsmd_" + secret.map { String(format: "%02x", $0) }.joined()
    let id = String(Self.digest(token).prefix(16))
    let record = Record(id: id, domid: domid, created: Date().timeIntervalSince1970)
    let digest = Self.digest(token)
    if let store {
      do {
        try await store.pool.write { db in
          try db.execute(sql: "INSERT INTO tokens (id, digest, domid, created) VALUES (?, ?, ?, ?)",
            arguments: [record.id, digest, record.domid, record.created])
        }
      } catch {
        throw ServiceError(500, "state.write-failed", "the token was not saved, so it was not issued: \(error)")
      }
    }
    known.withLock { $0[digest] = record }
    return IssuedTokenV1(id: id, token: token, domid: domid)
  }

  /// Removes a token by id; 404 `auth.unknown-token` when there is none.
  public func revoke(id: String) async throws(ServiceError) {
    var found = known.withLock { $0.values.contains { $0.id == id } }
    if let store {
      do {
        let deleted = try await store.pool.write { db in
          try db.execute(sql: "DELETE FROM tokens WHERE id = ?", arguments: [id])
          return db.changesCount
        }
        found = found || deleted > 0
      } catch {
        throw ServiceError(500, "state.write-failed", "the token was not revoked: \(error)")
      }
    }
    guard found else { throw ServiceError(404, "auth.unknown-token", "no token with id `\(id)`") }
    known.withLock { table in table = table.filter { $0.value.id != id } }
    verified.withLock { v in
      v.entries.removeAll()
      v.generation += 1
    }
  }

  /// The domains (domid, name) the state file holds; nil when it holds none yet.
  public func savedDomains() -> [(Int, String)]? {
    guard let store,
      let rows = try? store.pool.read({ db in try Row.fetchAll(db, sql: "SELECT domid, name FROM domains") }),
      !rows.isEmpty
    else { return nil }
    return rows.compactMap { row in
      guard let domid: Int = row["domid"], let name: String = row["name"] else { return nil }
      return (domid, name)
    }
  }

  /// Every token, oldest first (ids and domains, never secrets).
  public func list() -> [TokenRecordV1] {
    var records = known.withLock { Array($0.values) }
    if let store, let stored = try? store.pool.read({ db in
      try Row.fetchAll(db, sql: "SELECT id, domid, created FROM tokens").compactMap { row -> Record? in
        guard let id: String = row["id"], let domid: Int = row["domid"], let created: Double = row["created"] else {
          return nil
        }
        return Record(id: id, domid: domid, created: created)
      }
    }) {
      records = stored
    }
    return records.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
      .map { TokenRecordV1(id: $0.id, domid: $0.domid, created: $0.created) }
  }
}
