import CSepol
import XSMDiagnostics

/// An oracle over libsepol's own services.c: loads a binary policy into
/// libsepol's global security server and answers `sepol_compute_av` /
/// `sepol_transition_sid`. For tests (differential oracle), not the hot path:
/// libsepol's SID table is a fixed 128-bucket hash that
/// `sepol_context_to_sid` scans linearly.
///
/// **One at a time.** services.c has exactly one global policydb and SID
/// table, so only one oracle is "loaded" at any moment. Each oracle owns its
/// own policydb and SID table (freed on deinit; this avoids the leak in
/// `sepol_set_policydb_from_file`, which never frees the previous policy) and
/// re-installs them into the global server before each call when another
/// oracle was installed since (a generation counter on ``SepolActor``).
/// Switching is two pointer assignments; SIDs stay valid per oracle.
///
/// Contexts: a bare type `T` means `system_u:object_r:T`, plus `:s0` (the
/// lowest sensitivity) when the policy is MLS. `object_r` is valid with any
/// type. A string containing `:` is used as a full context as-is.
@SepolActor
public final class SepolOracle {
  /// The three vectors of an access decision (`struct sepol_av_decision`).
  public struct AccessVector: Sendable, Equatable, Hashable {
    /// Granted permission bits.
    public var allowed: UInt32
    /// Bits to audit when granted (`auditallow`).
    public var auditAllow: UInt32
    /// Bits to audit when denied (all ones minus `dontaudit`).
    public var auditDeny: UInt32

    /// Creates a vector.
    public init(allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32) {
      self.allowed = allowed
      self.auditAllow = auditAllow
      self.auditDeny = auditDeny
    }
  }

  private let db: UnsafeMutablePointer<sepol_policydb_t>
  private let sidtab: UnsafeMutablePointer<sidtab_t>
  /// The generation under which this oracle's state was last installed.
  private var installedGeneration: UInt64 = 0
  private let mlsLevel: String?
  private let classValues: [String: UInt16]
  private let permissionNames: [String: [String]]
  private var sidByContext: [String: UInt32] = [:]
  private var typeBySID: [UInt32: String] = [:]

  /// Reads `binary` into a policydb owned by this oracle.
  ///
  /// - Throws: ``SepolError`` `sepol.policy-read-failed` for invalid input,
  ///   `sepol.out-of-memory`.
  public init(binary: [UInt8]) throws(SepolError) {
    let (db, _) = try withSepolCapture { () throws(SepolError) in try PolicyDatabase.read(binary) }
    guard let sidtab = xsm_sidtab_create() else {
      sepol_policydb_free(db)
      throw .outOfMemory("sepol_sidtab_init")
    }
    self.db = db
    self.sidtab = sidtab
    self.mlsLevel = xsm_lowest_sensitivity(db).map { String(cString: $0) }
    var values: [String: UInt16] = [:]
    var perms: [String: [String]] = [:]
    for (index, cls) in PolicyTables.classes(db).enumerated() {
      values[cls.name] = UInt16(index + 1)
      perms[cls.name] = cls.permissions
    }
    self.classValues = values
    self.permissionNames = perms
  }

  /// Reads a binary policy file (see ``init(binary:)``).
  public convenience init(contentsOf path: String) throws(SepolError) {
    try self.init(binary: try readBinaryFile(path))
  }

  isolated deinit {
    SepolServices.uninstall(ifGeneration: installedGeneration)
    xsm_sidtab_free(sidtab)
    sepol_policydb_free(db)
  }

  /// `sepol_compute_av` for one (source, target, class).
  ///
  /// - Parameters:
  ///   - source: a type name (or a full context).
  ///   - target: a type name (or a full context).
  ///   - class: a class name declared in the policy.
  /// - Throws: ``SepolError`` `sepol.invalid-context`, `sepol.unknown-class`,
  ///   `sepol.compute-av-failed`.
  public func computeAV(source: String, target: String, class cls: String) throws(SepolError)
    -> AccessVector
  {
    let (av, _) = try withSepolCapture { () throws(SepolError) -> AccessVector in
      ensureInstalled()
      let s = try sid(for: source, user: "system_u")
      let t = try sid(for: target, user: "system_u")
      let c = try classValue(cls)
      return try computeAV(s, t, c, names: (source, target, cls))
    }
    return av
  }

  /// Whether `sepol_compute_av` grants one permission (by name) of `cls`.
  ///
  /// - Throws: ``SepolError`` as ``computeAV(source:target:class:)``, and
  ///   `sepol.unknown-permission` when the class has no such permission.
  public func allows(source: String, target: String, class cls: String, permission: String) throws(SepolError)
    -> Bool
  {
    guard let bit = permissionNames[cls]?.firstIndex(of: permission) else {
      throw SepolError(id: .sepol.unknownPermission, message: "class `\(cls)` has no permission `\(permission)`")
    }
    let av = try computeAV(source: source, target: target, class: cls)
    return av.allowed & (UInt32(1) << UInt32(bit)) != 0
  }

  /// `sepol_transition_sid` for one (source, target, class): the type of the
  /// new context (a type_transition's result, else libsepol's default: the
  /// source type for class `domain`, the target type otherwise).
  ///
  /// - Throws: ``SepolError`` `sepol.invalid-context`, `sepol.unknown-class`,
  ///   `sepol.transition-failed`.
  public func transition(source: String, target: String, class cls: String) throws(SepolError)
    -> String
  {
    let (type, _) = try withSepolCapture { () throws(SepolError) -> String in
      ensureInstalled()
      let s = try sid(for: source, user: "system_u")
      let t = try sid(for: target, user: "system_u")
      let c = try classValue(cls)
      return try transitionType(s, t, c, names: (source, target, cls))
    }
    return type
  }

  /// Every decision for every (source type, target type, class), computed in
  /// one call for speed.
  ///
  /// - Parameters:
  ///   - types: source and target types, in the order the table uses.
  ///   - classes: classes, in the order the table uses.
  ///   - user: the SELinux user of every context (role is `object_r`).
  /// - Returns: a table of `types.count² × classes.count` decisions.
  public func decisionTable(types: [String], classes: [String], user: String = "system_u")
    throws(SepolError) -> DecisionTable
  {
    let (table, _) = try withSepolCapture { () throws(SepolError) -> DecisionTable in
      ensureInstalled()
      var sids: [UInt32] = []
      sids.reserveCapacity(types.count)
      for type in types { sids.append(try sid(for: type, user: user)) }
      var classIDs: [UInt16] = []
      for cls in classes { classIDs.append(try classValue(cls)) }

      let count = types.count * types.count * classes.count
      var vectors: [AccessVector] = []
      var transitions: [String] = []
      vectors.reserveCapacity(count)
      transitions.reserveCapacity(count)
      for (si, s) in sids.enumerated() {
        for (ti, t) in sids.enumerated() {
          for (ci, c) in classIDs.enumerated() {
            let names = (types[si], types[ti], classes[ci])
            vectors.append(try computeAV(s, t, c, names: names))
            transitions.append(try transitionType(s, t, c, names: names))
          }
        }
      }
      return DecisionTable(
        types: types, classes: classes,
        permissions: classes.map { permissionNames[$0] ?? [] },
        vectors: vectors, transitions: transitions)
    }
    return table
  }

  // MARK: - Raw queries (benchmarks)

  /// libsepol SIDs for types (contexts as for ``computeAV(source:target:class:)``),
  /// so a benchmark can time `sepol_compute_av` alone.
  public func sids(forTypes types: [String]) throws(SepolError) -> [UInt32] {
    let (sids, _) = try withSepolCapture { () throws(SepolError) -> [UInt32] in
      ensureInstalled()
      var out: [UInt32] = []
      for type in types { out.append(try sid(for: type, user: "system_u")) }
      return out
    }
    return sids
  }

  /// The class value libsepol uses for `name`.
  public func classNumber(_ name: String) -> UInt16? { classValues[name] }

  /// Runs `sepol_compute_av` for each (source SID, target SID, class) and
  /// returns the OR of the allowed vectors (so the work cannot be skipped).
  public func computeAllowedMasks(_ queries: [(UInt32, UInt32, UInt16)]) -> UInt32 {
    ensureInstalled()
    var acc: UInt32 = 0
    var avd = sepol_av_decision()
    for (s, t, c) in queries {
      if sepol_compute_av(s, t, c, ~0, &avd) == 0 { acc |= avd.allowed }
    }
    return acc
  }

  // MARK: - Internals (all under capture, after ensureInstalled)

  private func ensureInstalled() {
    if installedGeneration == 0 || SepolServices.installed != installedGeneration {
      installedGeneration = SepolServices.install(db, sidtab)
    }
  }

  private func context(for typeOrContext: String, user: String) -> String {
    if typeOrContext.contains(":") { return typeOrContext }
    var ctx = "\(user):object_r:\(typeOrContext)"
    if let mlsLevel { ctx += ":\(mlsLevel)" }
    return ctx
  }

  private func sid(for typeOrContext: String, user: String) throws(SepolError) -> UInt32 {
    let ctx = context(for: typeOrContext, user: user)
    if let sid = sidByContext[ctx] { return sid }
    var sid: sepol_security_id_t = 0
    let rc = ctx.withCString { sepol_context_to_sid($0, strlen($0), &sid) }
    guard rc == 0 else { throw .invalidContext(ctx) }
    sidByContext[ctx] = sid
    return sid
  }

  private func classValue(_ name: String) throws(SepolError) -> UInt16 {
    guard let value = classValues[name] else { throw .unknownClass(name) }
    return value
  }

  private func computeAV(
    _ s: UInt32, _ t: UInt32, _ c: UInt16, names: (String, String, String)
  ) throws(SepolError) -> AccessVector {
    var avd = sepol_av_decision()
    let rc = sepol_compute_av(s, t, c, ~0, &avd)
    guard rc == 0 else { throw .computeAVFailed(names.0, names.1, names.2, rc: rc) }
    return AccessVector(allowed: avd.allowed, auditAllow: avd.auditallow, auditDeny: avd.auditdeny)
  }

  private func transitionType(
    _ s: UInt32, _ t: UInt32, _ c: UInt16, names: (String, String, String)
  ) throws(SepolError) -> String {
    var out: sepol_security_id_t = 0
    let rc = sepol_transition_sid(s, t, c, &out)
    guard rc == 0 else { throw .transitionFailed(names.0, names.1, names.2, rc: rc) }
    if let type = typeBySID[out] { return type }
    var raw: sepol_security_context_t?
    var length = 0
    guard sepol_sid_to_context(out, &raw, &length) == 0, let raw else {
      throw .transitionFailed(names.0, names.1, names.2, rc: -1)
    }
    defer { free(raw) }
    let fields = String(cString: raw).split(separator: ":", omittingEmptySubsequences: false)
    guard fields.count >= 3 else { throw .transitionFailed(names.0, names.1, names.2, rc: -1) }
    let type = String(fields[2])
    typeBySID[out] = type
    return type
  }
}
