extension DiagnosticID {
  /// `lower.*`: what cannot be written as CIL.
  public static let lower = Lower()

  /// Ids for turning the checked policy into CIL.
  public struct Lower: DiagnosticIDGroup {
    public static let phase = "lower"
    public static let title = "Lowering to CIL"
    public static let summary = """
      Names that cannot be written as CIL, the form libsepol compiles. Tests: \
      `Tests/XSMPolicyTests/NegativeTests.swift`.
      """

    public let unsupportedName = DiagnosticID("lower.unsupported-name", "a name with `.`, which CIL reserves and checkpolicy rejects")
  }
}
