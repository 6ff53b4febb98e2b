extension DiagnosticID {
  /// `declare.*`: declarations that clash.
  public static let declare = Declare()

  /// Ids for names declared wrongly.
  public struct Declare: DiagnosticIDGroup {
    public static let phase = "declare"
    public static let title = "Declarations"
    public static let summary = "Names declared twice or reserved. Tests: `Tests/XSMPolicyTests/NegativeTests.swift`."

    public let duplicate = DiagnosticID(
      "declare.duplicate", "a name declared twice (with a note at the first declaration)")
    public let reservedName = DiagnosticID("declare.reserved-name", "declaring `self`")
  }
}
