extension DiagnosticID {
  /// `toml.*`: the TOML syntax of system files.
  public static let toml = TOML()

  /// Ids the TOML reader of system files reports.
  public struct TOML: DiagnosticIDGroup {
    public static let phase = "toml"
    public static let title = "System files: TOML"
    public static let summary = """
      The TOML subset system files are written in (`xsmq --system`, `xsmd --system`). Tests: \
      `Tests/XSMEngineTests/SystemFileTests.swift`.
      """

    public let unterminatedString = DiagnosticID(
      "toml.unterminated-string", "a string (or quoted key) not closed on its line")
    public let badEscape = DiagnosticID(
      "toml.bad-escape", "an unknown escape, or a `\\u`/`\\U` escape that is short or not a Unicode scalar")
    public let badNumber = DiagnosticID(
      "toml.bad-number", "an integer with misplaced `_`, bad digits, a leading zero, or beyond 64 bits")
    public let unsupported = DiagnosticID(
      "toml.unsupported", "TOML the subset leaves out: floats, dates and times, multi-line strings")
    public let duplicateKey = DiagnosticID(
      "toml.duplicate-key", "a key defined twice, or a dotted key through a value (note at the first)")
    public let duplicateTable = DiagnosticID(
      "toml.duplicate-table", "a table header for a table or value already defined, or mixing `[t]` and `[[t]]`")
    public let expectedEquals = DiagnosticID("toml.expected-equals", "a key without `=`")
    public let expectedValue = DiagnosticID(
      "toml.expected-value", "no value, or a word that is not one (a bare string, `True`)")
    public let expectedKey = DiagnosticID(
      "toml.expected-key", "a key was expected (an empty header, `= 1`, a trailing comma)")
    public let expectedComma = DiagnosticID(
      "toml.expected-comma", "array elements or inline-table entries without `,` between them")
    public let unterminatedArray = DiagnosticID("toml.unterminated-array", "an array without its `]`")
    public let unterminatedTable = DiagnosticID(
      "toml.unterminated-table", "an inline table not closed on its line")
    public let unexpectedText = DiagnosticID("toml.unexpected-text", "text after a value or a header on its line")
    public let badHeader = DiagnosticID("toml.bad-header", "a table header without its closing `]` or `]]`")
  }
}
