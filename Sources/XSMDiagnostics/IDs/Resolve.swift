extension DiagnosticID {
  /// `resolve.*`: references to names never declared.
  public static let resolve = Resolve()

  /// Ids for a reference to something never declared; each comes with did-you-mean.
  public struct Resolve: DiagnosticIDGroup {
    public static let phase = "resolve"
    public static let title = "Name resolution"
    public static let summary = """
      A reference to something never declared, with did-you-mean. Tests: \
      `Tests/XSMPolicyTests/NegativeTests.swift`.
      """

    public let unknownClass = DiagnosticID("resolve.unknown-class", "a class never declared")
    public let unknownPermission = DiagnosticID(
      "resolve.unknown-permission", "a permission the class (or its common) does not have")
    public let unknownType = DiagnosticID("resolve.unknown-type", "a type or attribute never declared")
    public let unknownRole = DiagnosticID("resolve.unknown-role", "a role never declared")
    public let unknownUser = DiagnosticID("resolve.unknown-user", "a user never declared")
    public let unknownBoolean = DiagnosticID("resolve.unknown-boolean", "a boolean never declared")
    public let unknownSid = DiagnosticID("resolve.unknown-sid", "an initial SID never declared")
    public let unknownCommon = DiagnosticID("resolve.unknown-common", "a common never declared")
    public let unknownSensitivity = DiagnosticID("resolve.unknown-sensitivity", "an MLS sensitivity never declared")
    public let unknownCategory = DiagnosticID("resolve.unknown-category", "an MLS category never declared")
  }
}
