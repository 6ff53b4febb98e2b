import CSepol

/// Reading and writing `sepol_policydb_t` objects through the public API.
/// Internal: callers own the returned pointers and free them with
/// `sepol_policydb_free`.
@SepolActor
enum PolicyDatabase {
  /// Smallest prefix worth handing to libsepol: magic, string length, target.
  static let minimumSize = 16

  /// Parses a binary policy. Truncated or garbage input throws; libsepol
  /// bounds-checks every read (`next_entry`) and validates the result
  /// (`policydb_validate`), so it fails rather than crashes. The counts
  /// libsepol trusts without reading are checked first
  /// (``BinaryPolicyLayout``), so a corrupted one cannot keep it busy.
  static func read(_ bytes: [UInt8]) throws(SepolError) -> UnsafeMutablePointer<sepol_policydb_t> {
    guard bytes.count >= minimumSize else {
      throw .policyReadFailed(
        bytes.isEmpty ? "the input is empty" : "the input is only \(bytes.count) bytes long")
    }
    _ = try BinaryPolicyLayout.check(bytes)
    let handle = try makeCapturingHandle()
    defer { sepol_handle_destroy(handle) }

    var file: UnsafeMutablePointer<sepol_policy_file_t>?
    guard sepol_policy_file_create(&file) == 0, let file else {
      throw .outOfMemory("sepol_policy_file_create")
    }
    defer { sepol_policy_file_free(file) }
    sepol_policy_file_set_handle(file, handle)

    var db: UnsafeMutablePointer<sepol_policydb_t>?
    guard sepol_policydb_create(&db) == 0, let db else {
      throw .outOfMemory("sepol_policydb_create")
    }
    var copy = bytes
    let rc = copy.withUnsafeMutableBytes { raw -> Int32 in
      guard let base = raw.baseAddress else { return -1 }
      sepol_policy_file_set_mem(file, base.assumingMemoryBound(to: CChar.self), raw.count)
      return sepol_policydb_read(db, file)
    }
    guard rc == 0 else {
      sepol_policydb_free(db)
      throw .policyReadFailed("libsepol rejected it (\(bytes.count) bytes)")
    }
    return db
  }

  /// Serialises a policydb with `sepol_policydb_write`: one pass to measure
  /// (`PF_LEN`), one into memory.
  static func write(_ db: UnsafeMutablePointer<sepol_policydb_t>) throws(SepolError) -> [UInt8] {
    let handle = try makeCapturingHandle()
    defer { sepol_handle_destroy(handle) }
    // The measuring pass logs the same warnings as the real one: drop them.
    let quiet = try makeSilentHandle()
    defer { sepol_handle_destroy(quiet) }

    var measure: UnsafeMutablePointer<sepol_policy_file_t>?
    guard sepol_policy_file_create(&measure) == 0, let measure else {
      throw .outOfMemory("sepol_policy_file_create")
    }
    defer { sepol_policy_file_free(measure) }
    sepol_policy_file_set_handle(measure, quiet)
    sepol_policy_file_set_mem(measure, nil, 0)  // length 0 selects PF_LEN
    guard sepol_policydb_write(db, measure) == 0 else { throw .writeFailed() }
    var length = 0
    guard sepol_policy_file_get_len(measure, &length) == 0, length > 0 else {
      throw .writeFailed()
    }

    var sink: UnsafeMutablePointer<sepol_policy_file_t>?
    guard sepol_policy_file_create(&sink) == 0, let sink else {
      throw .outOfMemory("sepol_policy_file_create")
    }
    defer { sepol_policy_file_free(sink) }
    sepol_policy_file_set_handle(sink, handle)
    var out = [UInt8](repeating: 0, count: length)
    let rc = out.withUnsafeMutableBytes { raw -> Int32 in
      guard let base = raw.baseAddress else { return -1 }
      sepol_policy_file_set_mem(sink, base.assumingMemoryBound(to: CChar.self), raw.count)
      return sepol_policydb_write(db, sink)
    }
    guard rc == 0 else { throw .writeFailed() }
    return out
  }
}
