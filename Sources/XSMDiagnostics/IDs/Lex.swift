extension DiagnosticID {
  /// `lex.*`: characters that do not make tokens.
  public static let lex = Lex()

  /// Ids the lexer reports.
  public struct Lex: DiagnosticIDGroup {
    public static let phase = "lex"
    public static let title = "Lexing"
    public static let summary = "Characters that do not make tokens. Tests: `Tests/XSMPolicyTests/NegativeTests.swift`."

    public let unexpectedCharacter = DiagnosticID(
      "lex.unexpected-character", "a character that is not part of the language")
    public let unterminatedString = DiagnosticID("lex.unterminated-string", "a `\"` string not closed on its line")
  }
}
