import CSepol

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// A binary policy read with libsepol (`sepol_policy_file_set_mem` +
/// `sepol_policydb_read`), for inspection.
///
/// The object owns its policydb and frees it on deinit. It does not touch
/// libsepol's global security server; use ``SepolOracle`` for decisions.
@SepolActor
public final class BinaryPolicy {
  /// The first bytes of every binary policy Xen loads (`0xf97cff8c`, little-endian).
  public nonisolated static let magic: [UInt8] = [0x8c, 0xff, 0x7c, 0xf9]

  /// The bytes of the file at `path` when it is a binary policy (it starts
  /// with `magic`); nil for anything else (a policy source, a directory, no file).
  public nonisolated static func bytes(ofFileAt path: String) -> [UInt8]? {
    guard let data = FileManager.default.contents(atPath: path), data.starts(with: magic) else { return nil }
    return Array(data)
  }

  private let db: UnsafeMutablePointer<sepol_policydb_t>

  /// Parses a binary policy.
  ///
  /// Truncated, garbage or otherwise invalid input throws; it does not crash.
  /// Known limit (libsepol 3.4): a corrupted symbol count can make the
  /// validator's `create_gap_ebitmap` run quadratically for minutes before it
  /// fails (6 of ~1,600 single-byte corruptions of a small policy do this, e.g.
  /// the class count's third byte). Do not read untrusted binaries where a
  /// stall matters.
  ///
  /// - Throws: ``SepolError`` `sepol.policy-read-failed`, with libsepol's
  ///   messages attached.
  public init(binary: [UInt8]) throws(SepolError) {
    (db, _) = try withSepolCapture { () throws(SepolError) in try PolicyDatabase.read(binary) }
  }

  /// Reads and parses a binary policy file.
  ///
  /// - Throws: ``SepolError`` `sepol.file-read-failed` when the file cannot be
  ///   read, otherwise as ``init(binary:)``.
  public convenience init(contentsOf path: String) throws(SepolError) {
    try self.init(binary: try readBinaryFile(path))
  }

  isolated deinit {
    sepol_policydb_free(db)
  }

  /// Header fields and symbol counts.
  public var summary: PolicySummary { PolicySummary(db) }

  /// Real types (not attributes, not aliases), in value order.
  public var typeNames: [String] { PolicyTables.typeNames(db) }

  /// Classes in value order, each with its permissions in bit order:
  /// `permissions[i]` is the name of bit `i` (inherited common permissions
  /// first, as libsepol numbers them).
  public var classes: [(name: String, permissions: [String])] { PolicyTables.classes(db) }

  /// Initial SIDs with a context, in SID-number order.
  ///
  /// A binary policy stores each initial SID's number and context, not its
  /// name, so names come from Xen's numbering
  /// (`xen/xsm/flask/policy/initial_sids`: 1 `xenboot`, 2 `xen`, 3 `dom0`, …,
  /// 13 `domDM`); numbers past that table are named `sid<N>`.
  public var initialSIDNames: [String] { PolicyTables.initialSIDNames(db) }
}

extension PolicySummary {
  /// Header fields and symbol counts of a policydb in memory.
  init(_ db: UnsafeMutablePointer<sepol_policydb_t>) {
    var s = xsm_policy_summary_t()
    xsm_policy_summarize(db, &s)
    self.init(
      target: s.target_platform == SEPOL_TARGET_XEN ? "XenFlask" : "SE Linux",
      version: Int(s.policy_version),
      mls: s.mls != 0,
      handleUnknown: HandleUnknown(sepolValue: s.handle_unknown),
      classes: Int(s.classes),
      permissions: Int(s.permissions),
      types: Int(s.types),
      attributes: Int(s.attributes),
      roles: Int(s.roles),
      users: Int(s.users),
      booleans: Int(s.booleans),
      avRules: Int(s.av_rules),
      typeRules: Int(s.type_rules),
      conditionalRules: Int(s.cond_rules),
      constraints: Int(s.constraints),
      initialSIDs: Int(s.initial_sids),
      ocontexts: .init(
        pirq: Int(s.pirq), ioport: Int(s.ioport), iomem: Int(s.iomem),
        pciDevice: Int(s.pcidevice), deviceTree: Int(s.devicetree)))
  }
}

/// A policydb built in memory by another module (xsmc's direct backend
/// hands it over as an untyped `sepol_policydb_t *`): its binary and its
/// summary, with no read-back. The caller keeps ownership.
@SepolActor
public enum BuiltPolicydb {
  /// The binary policy (`sepol_policydb_write` into memory).
  ///
  /// - Throws: ``SepolError`` `sepol.write-failed` or `sepol.out-of-memory`.
  public static func binary(of policydb: UnsafeMutableRawPointer) throws(SepolError) -> [UInt8] {
    try PolicyDatabase.write(policydb.assumingMemoryBound(to: sepol_policydb_t.self))
  }

  /// Header fields and symbol counts.
  public static func summary(of policydb: UnsafeMutableRawPointer) -> PolicySummary {
    PolicySummary(policydb.assumingMemoryBound(to: sepol_policydb_t.self))
  }
}

/// Reads a whole file, mapping failures to `sepol.file-read-failed`.
func readBinaryFile(_ path: String) throws(SepolError) -> [UInt8] {
  do {
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  } catch {
    throw .fileReadFailed(path: path, reason: "\(error)")
  }
}

/// Symbol listings over a policydb (shared by BinaryPolicy and SepolOracle).
@SepolActor
enum PolicyTables {
  /// Xen's initial SID names by number (xen/xsm/flask/policy/initial_sids).
  static let xenInitialSIDs = [
    "xenboot", "xen", "dom0", "domio", "domxen", "unlabeled", "security", "ioport", "iomem",
    "irq", "device", "domU", "domDM",
  ]

  static func typeNames(_ db: UnsafeMutablePointer<sepol_policydb_t>) -> [String] {
    var names: [String] = []
    let n = xsm_type_slot_count(db)
    names.reserveCapacity(Int(n))
    for i in 0..<n {
      if let name = xsm_type_name_if_type(db, i) { names.append(String(cString: name)) }
    }
    return names
  }

  static func classes(_ db: UnsafeMutablePointer<sepol_policydb_t>) -> [(
    name: String, permissions: [String]
  )] {
    var out: [(name: String, permissions: [String])] = []
    let n = xsm_class_count(db)
    for i in 0..<n {
      let name = xsm_class_name(db, i).map { String(cString: $0) } ?? "class\(i + 1)"
      let count = Int(xsm_class_perm_count(db, i))
      var raw = [UnsafePointer<CChar>?](repeating: nil, count: count)
      raw.withUnsafeMutableBufferPointer { buf in
        xsm_class_perm_names(db, i, buf.baseAddress, UInt32(count))
      }
      let perms = raw.enumerated().map { bit, p in p.map { String(cString: $0) } ?? "bit\(bit)" }
      out.append((name, perms))
    }
    return out
  }

  static func initialSIDNames(_ db: UnsafeMutablePointer<sepol_policydb_t>) -> [String] {
    var sids: [(number: UInt32, name: String?)] = []
    for i in 0..<xsm_isid_count(db) {
      var number: UInt32 = 0
      var name: UnsafePointer<CChar>?
      if xsm_isid_at(db, i, &number, &name) == 0 {
        sids.append((number, name.map { String(cString: $0) }))
      }
    }
    return sids.sorted { $0.number < $1.number }.map { sid in
      if let name = sid.name { return name }
      let index = Int(sid.number) - 1
      return xenInitialSIDs.indices.contains(index) ? xenInitialSIDs[index] : "sid\(sid.number)"
    }
  }
}
