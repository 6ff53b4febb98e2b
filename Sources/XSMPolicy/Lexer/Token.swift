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
  /// Which punctuation a `.punctuation` token is (`.none` for other kinds),
  /// so the parser compares a byte rather than a string.
  var punctuation: Punctuation = .none
  /// Which word of the language an identifier spells (`.none` for other names).
  var keyword: Keyword = .none

  public init(kind: Kind, text: String, span: SourceSpan, outputLine: Int = 0) {
    self.kind = kind
    self.text = text
    self.span = span
    self.outputLine = outputLine
    switch kind {
    case .punctuation: punctuation = Punctuation(text)
    case .identifier: keyword = Keyword(text.utf8)
    default: break
    }
  }

  init(kind: Kind, text: String, span: SourceSpan, outputLine: Int, punctuation: Punctuation, keyword: Keyword) {
    self.kind = kind
    self.text = text
    self.span = span
    self.outputLine = outputLine
    self.punctuation = punctuation
    self.keyword = keyword
  }

  public func isPunct(_ p: String) -> Bool { kind == .punctuation && text == p }
  public func isWord(_ w: String) -> Bool { kind == .identifier && text == w }
  func isPunct(_ p: Punctuation) -> Bool { punctuation == p }
  func isWord(_ w: Keyword) -> Bool { keyword == w }
}

/// The punctuation of the policy language.
enum Punctuation: UInt8, Sendable {
  case none
  case openBrace, closeBrace, openParen, closeParen, semicolon, colon, comma, tilde, star, minus, bang, caret
  case equal, dot, less, greater, openBracket, closeBracket
  case equalEqual, notEqual, andAnd, orOr

  /// The one-byte punctuation `byte` is, or `.none`.
  static func single(_ byte: UInt8) -> Punctuation {
    switch byte {
    case UInt8(ascii: "{"): .openBrace
    case UInt8(ascii: "}"): .closeBrace
    case UInt8(ascii: "("): .openParen
    case UInt8(ascii: ")"): .closeParen
    case UInt8(ascii: ";"): .semicolon
    case UInt8(ascii: ":"): .colon
    case UInt8(ascii: ","): .comma
    case UInt8(ascii: "~"): .tilde
    case UInt8(ascii: "*"): .star
    case UInt8(ascii: "-"): .minus
    case UInt8(ascii: "!"): .bang
    case UInt8(ascii: "^"): .caret
    case UInt8(ascii: "="): .equal
    case UInt8(ascii: "."): .dot
    case UInt8(ascii: "<"): .less
    case UInt8(ascii: ">"): .greater
    case UInt8(ascii: "["): .openBracket
    case UInt8(ascii: "]"): .closeBracket
    default: .none
    }
  }

  /// The two-byte operator `first second` is, or `.none`.
  static func pair(_ first: UInt8, _ second: UInt8) -> Punctuation {
    switch (first, second) {
    case (UInt8(ascii: "="), UInt8(ascii: "=")): .equalEqual
    case (UInt8(ascii: "!"), UInt8(ascii: "=")): .notEqual
    case (UInt8(ascii: "&"), UInt8(ascii: "&")): .andAnd
    case (UInt8(ascii: "|"), UInt8(ascii: "|")): .orOr
    default: .none
    }
  }

  init(_ text: String) {
    let bytes = Array(text.utf8)
    switch bytes.count {
    case 1: self = Self.single(bytes[0])
    case 2: self = Self.pair(bytes[0], bytes[1])
    default: self = .none
    }
  }

  /// The token text of each punctuation, shared so tokens allocate nothing.
  static let texts: [String] = [
    "", "{", "}", "(", ")", ";", ":", ",", "~", "*", "-", "!", "^", "=", ".", "<", ">", "[", "]", "==", "!=", "&&", "||",
  ]
  var text: String { Self.texts[Int(rawValue)] }
}

/// The words the parser looks for: statement keywords and the words inside statements.
enum Keyword: UInt8, Sendable, CaseIterable {
  case none
  // Statements.
  case `class`, common, sid, type, `typealias`, attribute, typeattribute, permissive, typebounds, role, allow
  case auditallow, dontaudit, neverallow, typeTransition, typeMember, typeChange, user, bool, policycap, `if`
  case constrain, validatetrans, mlsconstrain, mlsvalidatetrans, sensitivity, dominance, category, level
  case pirqcon, iomemcon, ioportcon, pcidevicecon, devicetreecon
  // Inside statements.
  case inherits, alias, types, roles, range, `true`, `false`, `else`, or, and, not, eq, neq, dom, domby, incomp

  /// True for the words that start a statement (`Parser.statementKeywords`),
  /// where recovery after an error stops; `level` is not one of them.
  var startsStatement: Bool {
    switch self {
    case .class, .common, .sid, .type, .typealias, .attribute, .typeattribute, .permissive, .typebounds, .role, .allow,
      .auditallow, .dontaudit, .neverallow, .typeTransition, .typeMember, .typeChange, .user, .bool, .policycap, .if,
      .constrain, .validatetrans, .mlsconstrain, .mlsvalidatetrans, .sensitivity, .dominance, .category, .pirqcon,
      .iomemcon, .ioportcon, .pcidevicecon, .devicetreecon:
      true
    default: false
    }
  }

  var spelling: String {
    switch self {
    case .none: ""
    case .typeTransition: "type_transition"
    case .typeMember: "type_member"
    case .typeChange: "type_change"
    default: "\(self)"
    }
  }

  /// Keywords by length, then first byte, for `init(_:)`.
  private static let byLength: [[(bytes: [UInt8], keyword: Keyword)]] = {
    var table = [[(bytes: [UInt8], keyword: Keyword)]](repeating: [], count: 17)
    for keyword in allCases where keyword != .none {
      let bytes = Array(keyword.spelling.utf8)
      table[bytes.count].append((bytes, keyword))
    }
    return table
  }()

  /// The keyword `bytes` spell, or `.none`.
  init<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
    self = .none
    let count = bytes.count
    guard count < Self.byLength.count, let first = bytes.first else { return }
    for candidate in Self.byLength[count] where candidate.bytes[0] == first && candidate.bytes.elementsEqual(bytes) {
      self = candidate.keyword
      return
    }
  }
}
