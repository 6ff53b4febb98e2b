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

  public func isPunct(_ p: String) -> Bool { kind == .punctuation && text == p }
  public func isWord(_ w: String) -> Bool { kind == .identifier && text == w }
}
