import XSMDiagnostics

// The factory of each SepolError; the ids are declared in XSMDiagnostics (`DiagnosticID.Sepol`).

extension SepolError {
  /// `cil_build_policydb` failed: the CIL resolved but could not become a
  /// binary policydb.
  static func cilBuildFailed() -> SepolError {
    SepolError(id: .sepol.cilBuildFailed, message: "CIL could not build a binary policy")
  }

  /// `cil_compile` failed: resolution or verification (unknown names,
  /// duplicate declarations, bad contexts, neverallow violations, …).
  static func cilCompileFailed() -> SepolError {
    SepolError(id: .sepol.cilCompileFailed, message: "CIL compilation failed")
  }

  /// `cil_add_file` failed: the text is not well-formed CIL.
  static func cilParseFailed(file: String) -> SepolError {
    SepolError(id: .sepol.cilParseFailed, message: "could not parse CIL source '\(file)'")
  }

  /// `sepol_compute_av` returned an error.
  static func computeAVFailed(_ source: String, _ target: String, _ cls: String, rc: Int32)
    -> SepolError
  {
    SepolError(
      id: .sepol.computeAvFailed,
      message: "sepol_compute_av failed for \(source) -> \(target) : \(cls) (rc \(rc))")
  }

  /// No CIL sources were given.
  static func emptySources() -> SepolError {
    SepolError(id: .sepol.emptySources, message: "no CIL sources to compile")
  }

  /// The policy file could not be read from disk.
  static func fileReadFailed(path: String, reason: String) -> SepolError {
    SepolError(id: .sepol.fileReadFailed, message: "cannot read '\(path)': \(reason)")
  }

  /// libsepol rejected a security context.
  static func invalidContext(_ context: String) -> SepolError {
    SepolError(
      id: .sepol.invalidContext,
      message: "'\(context)' is not a valid context in this policy")
  }

  /// A build option was rejected by libsepol.
  static func invalidOption(_ what: String) -> SepolError {
    SepolError(id: .sepol.invalidOption, message: what)
  }

  /// libsepol could not allocate memory.
  static func outOfMemory(_ what: String) -> SepolError {
    SepolError(id: .sepol.outOfMemory, message: "out of memory (\(what))")
  }

  /// The bytes are not a binary policy libsepol can read.
  static func policyReadFailed(_ detail: String) -> SepolError {
    SepolError(
      id: .sepol.policyReadFailed, message: "not a readable binary policy: \(detail)")
  }

  /// The child process reading an untrusted policy ran out of time or memory, or crashed.
  static func policyReadBudget(_ detail: String) -> SepolError {
    SepolError(id: .sepol.policyReadBudget, message: "the policy could not be read within its budget: \(detail)")
  }

  /// `sepol_transition_sid` (or turning its SID back into a context) failed.
  static func transitionFailed(_ source: String, _ target: String, _ cls: String, rc: Int32)
    -> SepolError
  {
    SepolError(
      id: .sepol.transitionFailed,
      message: "sepol_transition_sid failed for \(source) -> \(target) : \(cls) (rc \(rc))")
  }

  /// The class name is not declared in the policy.
  static func unknownClass(_ name: String) -> SepolError {
    SepolError(id: .sepol.unknownClass, message: "class '\(name)' is not declared in the policy")
  }

  /// Xen accepts only binary policy versions 24 and 30.
  static func unsupportedPolicyVersion(_ version: Int) -> SepolError {
    SepolError(
      id: .sepol.unsupportedPolicyVersion,
      message:
        "policy version \(version) is not loadable by Xen; use 30 (with device-tree labels) or 24")
  }

  /// `sepol_policydb_write` failed.
  static func writeFailed() -> SepolError {
    SepolError(id: .sepol.writeFailed, message: "could not write the binary policy")
  }
}
