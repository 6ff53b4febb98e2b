import XSMDiagnostics

/// A lexical token of the policy language.
public struct Token: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case identifier
    case number
    case string
    case punctuation
    case end
  }
  public var kind: Kind
  public var text: String
  public var span: SourceSpan
  /// The token's line in the text the lexer read (m4 output for trees),
  /// whatever file and line `span` names.
  public var outputLine = 0

  public func isPunct(_ p: String) -> Bool { kind == .punctuation && text == p }
  public func isWord(_ w: String) -> Bool { kind == .identifier && text == w }
}
