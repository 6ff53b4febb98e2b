extension DiagnosticID {
  /// `sepol.*`: libsepol's complaints and the failures of its wrapper.
  public static let sepol = Sepol()

  /// Ids for libsepol: its messages during a build, and the errors XSMSepol throws.
  public struct Sepol: DiagnosticIDGroup {
    public static let phase = "sepol"
    public static let title = "libsepol"
    public static let summary = """
      `sepol.compile` and `sepol.neverallow` are what building the binary with libsepol finds, at the statement \
      that caused it: the policydb backend checks each rule as it adds it; the CIL backend (`--backend cil`) maps \
      libsepol's messages back from the CIL line. The others are the errors of the libsepol wrapper (`SepolError`): a build reports \
      one when libsepol fails without a message; reading policies and computing decisions throw them. Tests: \
      `Tests/XSMBuildTests/TreeDiagnosticsTests.swift` and `Tests/XSMSepolTests`.
      """

    public let compile = DiagnosticID(
      "sepol.compile",
      "libsepol refused the policy (conflicting type rules, an invalid context, a type bounds violation), at the statement")
    public let neverallow = DiagnosticID(
      "sepol.neverallow", "a rule grants what a neverallow forbids (with a note at the neverallow)")
    public let cilParseFailed = DiagnosticID("sepol.cil-parse-failed", "the CIL text is not well-formed")
    public let cilCompileFailed = DiagnosticID(
      "sepol.cil-compile-failed", "CIL did not resolve or verify (unknown names, duplicates, neverallow...)")
    public let cilBuildFailed = DiagnosticID(
      "sepol.cil-build-failed", "the resolved CIL could not become a binary policy")
    public let emptySources = DiagnosticID("sepol.empty-sources", "no CIL sources to compile")
    public let invalidOption = DiagnosticID("sepol.invalid-option", "libsepol rejected a build option")
    public let unsupportedPolicyVersion = DiagnosticID(
      "sepol.unsupported-policy-version", "a binary policy version Xen cannot load (it takes 24 and 30)")
    public let writeFailed = DiagnosticID("sepol.write-failed", "libsepol could not write the binary policy")
    public let outOfMemory = DiagnosticID("sepol.out-of-memory", "libsepol could not allocate memory")
    public let fileReadFailed = DiagnosticID("sepol.file-read-failed", "a binary policy file cannot be read")
    public let policyReadFailed = DiagnosticID(
      "sepol.policy-read-failed", "the bytes are not a binary policy libsepol can read")
    public let policyReadBudget = DiagnosticID(
      "sepol.policy-read-budget", "reading a binary policy ran out of its time or memory budget, or its reader crashed")
    public let invalidContext = DiagnosticID("sepol.invalid-context", "a security context the policy does not accept")
    public let unknownClass = DiagnosticID("sepol.unknown-class", "a class the policy does not declare")
    public let unknownPermission = DiagnosticID(
      "sepol.unknown-permission", "a permission the class does not have")
    public let computeAvFailed = DiagnosticID("sepol.compute-av-failed", "`sepol_compute_av` failed")
    public let transitionFailed = DiagnosticID(
      "sepol.transition-failed", "`sepol_transition_sid`, or reading back its SID, failed")
  }
}
