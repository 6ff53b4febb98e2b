// Every SepolError id, alphabetically, with the factory that builds it.

extension SepolError {
  /// Every id this module can throw, sorted.
  public static let allIDs: [String] = [
    "sepol.cil-build-failed",
    "sepol.cil-compile-failed",
    "sepol.cil-parse-failed",
    "sepol.compute-av-failed",
    "sepol.empty-sources",
    "sepol.file-read-failed",
    "sepol.invalid-context",
    "sepol.invalid-option",
    "sepol.out-of-memory",
    "sepol.policy-read-failed",
    "sepol.transition-failed",
    "sepol.unknown-class",
    "sepol.unsupported-policy-version",
    "sepol.write-failed",
  ]

  /// `cil_build_policydb` failed: the CIL resolved but could not become a
  /// binary policydb.
  static func cilBuildFailed() -> SepolError {
    SepolError(id: "sepol.cil-build-failed", message: "CIL could not build a binary policy")
  }

  /// `cil_compile` failed: resolution or verification (unknown names,
  /// duplicate declarations, bad contexts, neverallow violations, …).
  static func cilCompileFailed() -> SepolError {
    SepolError(id: "sepol.cil-compile-failed", message: "CIL compilation failed")
  }

  /// `cil_add_file` failed: the text is not well-formed CIL.
  static func cilParseFailed(file: String) -> SepolError {
    SepolError(id: "sepol.cil-parse-failed", message: "could not parse CIL source '\(file)'")
  }

  /// `sepol_compute_av` returned an error.
  static func computeAVFailed(_ source: String, _ target: String, _ cls: String, rc: Int32)
    -> SepolError
  {
    SepolError(
      id: "sepol.compute-av-failed",
      message: "sepol_compute_av failed for \(source) -> \(target) : \(cls) (rc \(rc))")
  }

  /// No CIL sources were given.
  static func emptySources() -> SepolError {
    SepolError(id: "sepol.empty-sources", message: "no CIL sources to compile")
  }

  /// The policy file could not be read from disk.
  static func fileReadFailed(path: String, reason: String) -> SepolError {
    SepolError(id: "sepol.file-read-failed", message: "cannot read '\(path)': \(reason)")
  }

  /// libsepol rejected a security context.
  static func invalidContext(_ context: String) -> SepolError {
    SepolError(
      id: "sepol.invalid-context",
      message: "'\(context)' is not a valid context in this policy")
  }

  /// A build option was rejected by libsepol.
  static func invalidOption(_ what: String) -> SepolError {
    SepolError(id: "sepol.invalid-option", message: what)
  }

  /// libsepol could not allocate memory.
  static func outOfMemory(_ what: String) -> SepolError {
    SepolError(id: "sepol.out-of-memory", message: "out of memory (\(what))")
  }

  /// The bytes are not a binary policy libsepol can read.
  static func policyReadFailed(_ detail: String) -> SepolError {
    SepolError(
      id: "sepol.policy-read-failed", message: "not a readable binary policy: \(detail)")
  }

  /// `sepol_transition_sid` (or turning its SID back into a context) failed.
  static func transitionFailed(_ source: String, _ target: String, _ cls: String, rc: Int32)
    -> SepolError
  {
    SepolError(
      id: "sepol.transition-failed",
      message: "sepol_transition_sid failed for \(source) -> \(target) : \(cls) (rc \(rc))")
  }

  /// The class name is not declared in the policy.
  static func unknownClass(_ name: String) -> SepolError {
    SepolError(id: "sepol.unknown-class", message: "class '\(name)' is not declared in the policy")
  }

  /// Xen accepts only binary policy versions 24 and 30.
  static func unsupportedPolicyVersion(_ version: Int) -> SepolError {
    SepolError(
      id: "sepol.unsupported-policy-version",
      message:
        "policy version \(version) is not loadable by Xen; use 30 (with device-tree labels) or 24")
  }

  /// `sepol_policydb_write` failed.
  static func writeFailed() -> SepolError {
    SepolError(id: "sepol.write-failed", message: "could not write the binary policy")
  }
}
