extension DiagnosticID {
  /// `parse.*`: statements that do not follow the grammar.
  public static let parse = Parse()

  /// Ids the parser reports.
  public struct Parse: DiagnosticIDGroup {
    public static let phase = "parse"
    public static let title = "Parsing"
    public static let summary = """
      Statements that do not follow the grammar. Tests: `Tests/XSMPolicyTests/NegativeTests.swift`.
      """

    public let expectedToken = DiagnosticID("parse.expected-token", "a required `;`, `:`, `{`, `}`... is missing")
    public let expectedName = DiagnosticID(
      "parse.expected-name", "a name was expected (type, class, permission...)")
    public let expectedStatement = DiagnosticID(
      "parse.expected-statement", "something that cannot start a statement")
    public let unknownStatement = DiagnosticID(
      "parse.unknown-statement",
      "an unknown keyword; in trees, usually an undefined or misspelt m4 macro "
        + "(did-you-mean over statement keywords and the tree's macros)")
    public let unsupportedStatement = DiagnosticID(
      "parse.unsupported-statement",
      "Linux-only statements (portcon, genfscon, ...) and name transitions, which Xen has no use for")
    public let expectedBooleanValue = DiagnosticID(
      "parse.expected-boolean-value", "a `bool` default other than true/false")
    public let expectedNumber = DiagnosticID("parse.expected-number", "an ocontext without its number")
    public let badNumber = DiagnosticID("parse.bad-number", "an ocontext number that is malformed or too large")
    public let badRange = DiagnosticID("parse.bad-range", "a range whose end is below its start")
    public let expectedString = DiagnosticID("parse.expected-string", "devicetreecon without a quoted path")
    public let emptyList = DiagnosticID("parse.empty-list", "`{ }` or a set of only exclusions")
    public let tooDeep = DiagnosticID(
      "parse.too-deep",
      "an expression nested past 256 levels (`(`, `!`, `not`, operators) or `if` blocks past 8, "
        + "where xsmc stops before its stack or libsepol's limits do")
    public let doubleComplement = DiagnosticID("parse.double-complement", "`~~x`")
    public let expectedConstraintOperand = DiagnosticID(
      "parse.expected-constraint-operand", "a constraint expression without a valid operand")
    public let expectedConstraintOperator = DiagnosticID(
      "parse.expected-constraint-operator", "a constraint expression without a valid operator")
  }
}
