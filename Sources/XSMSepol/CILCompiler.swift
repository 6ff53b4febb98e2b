import CSepol

/// Compiles CIL to a Xen binary policy with libsepol's CIL compiler.
@SepolActor
public enum CILCompiler {
  /// Compiles CIL sources (name, text) for target Xen into a binary policy.
  ///
  /// Runs `cil_db_init`, `cil_set_target_platform(SEPOL_TARGET_XEN)`,
  /// `cil_set_mls`, `cil_set_handle_unknown`, `cil_set_policy_version`,
  /// `cil_add_file` per source (which parses it), `cil_compile`,
  /// `cil_build_policydb`, then `sepol_policydb_write` into memory.
  ///
  /// - Parameters:
  ///   - sources: CIL texts in order; `name` is the file name CIL uses in its
  ///     messages ("at name:line").
  ///   - options: version (24 or 30), MLS, handle_unknown.
  /// - Returns: the binary and any warnings.
  /// - Throws: ``SepolError`` with id `sepol.cil-parse-failed`,
  ///   `sepol.cil-compile-failed`, `sepol.cil-build-failed`,
  ///   `sepol.write-failed`, `sepol.unsupported-policy-version`,
  ///   `sepol.invalid-option`, `sepol.empty-sources` or `sepol.out-of-memory`;
  ///   its `messages` hold CIL's own explanation.
  public static func compile(
    _ sources: [(name: String, text: String)], options: SepolBuildOptions
  ) throws(SepolError) -> CompiledPolicy {
    guard options.policyVersion == 24 || options.policyVersion == 30 else {
      throw .unsupportedPolicyVersion(options.policyVersion)
    }
    guard !sources.isEmpty else { throw .emptySources() }

    let (binary, messages) = try withSepolCapture { () throws(SepolError) -> [UInt8] in
      var cil: OpaquePointer?
      cil_db_init(&cil)
      guard let db = cil else { throw .outOfMemory("cil_db_init") }
      defer {
        var doomed: OpaquePointer? = db
        cil_db_destroy(&doomed)
      }
      cil_set_target_platform(db, SEPOL_TARGET_XEN)
      cil_set_mls(db, options.mls ? 1 : 0)
      guard cil_set_handle_unknown(db, options.handleUnknown.sepolValue) == 0 else {
        throw .invalidOption("handle_unknown '\(options.handleUnknown.rawValue)' was rejected")
      }
      cil_set_policy_version(db, Int32(options.policyVersion))

      for source in sources {
        let length = source.text.utf8.count
        let rc = source.text.withCString { text in
          source.name.withCString { name in cil_add_file(db, name, text, length) }
        }
        guard rc == 0 else { throw .cilParseFailed(file: source.name) }
      }
      guard cil_compile(db) == 0 else { throw .cilCompileFailed() }

      var built: UnsafeMutablePointer<sepol_policydb_t>?
      guard cil_build_policydb(db, &built) == 0, let policy = built else {
        throw .cilBuildFailed()
      }
      defer { sepol_policydb_free(policy) }
      return try PolicyDatabase.write(policy)
    }
    return CompiledPolicy(binary: binary, messages: messages)
  }
}
