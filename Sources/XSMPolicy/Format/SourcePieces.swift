/// One piece of policy source as the formatter reads it. Pieces cover the
/// text without gaps, so their texts joined give the input back.
struct SourcePiece {
  enum Kind: Equatable {
    /// A name as the policy lexer reads one (letters, digits, `_`, `-`, `.`, `$`), or `$*`, `$@`, `$#`.
    case word
    case number
    /// `"..."` on one line.
    case string
    /// m4's open quote `` ` ``.
    case openQuote
    /// m4's close quote `'`.
    case closeQuote
    case punctuation
    /// `#` or `dnl` to the end of the line (the newline is a piece of its own).
    case comment
    /// Spaces, tabs and carriage returns.
    case space
    case newline
    /// Any other character, kept as it is.
    case other
  }

  var kind: Kind
  var text: String
  /// 1-based line and column (in Unicode scalars) where the piece starts.
  var line: Int
  var column: Int
  /// m4's quote depth where the piece starts.
  var depth: Int

  /// Text the formatter lays out; spaces, newlines and comments are not code.
  var isCode: Bool { kind != .space && kind != .newline && kind != .comment }
  func isPunct(_ p: String) -> Bool { kind == .punctuation && text == p }
  var isCloser: Bool { kind == .closeQuote || isPunct("}") || isPunct(")") }
}

/// Splits policy source into pieces losslessly, following m4's quotes as m4
/// does: `#` and `dnl` comments hide quote characters only outside quotes
/// (inside, a quote character ends the comment piece and is read as a quote),
/// and quote characters count inside double-quoted strings. Names follow the
/// policy lexer's rules (``Lexer``), which the formatter needs as whole words
/// but which the lexer, dropping comments and spaces, cannot hand it.
struct SourceScanner {
  /// A quote character where m4 does not see what the text shows.
  struct Ambiguity {
    var line: Int
    var column: Int
    var what: String
  }

  /// A problem that stops the file from being formatted.
  struct Problem {
    var line: Int
    var column: Int
    var message: String
    var label: String
  }

  private let scalars: [Unicode.Scalar]
  private var index = 0
  private var line = 1
  private var lineStart = 0
  private var depth = 0
  private(set) var pieces: [SourcePiece] = []
  private(set) var ambiguities: [Ambiguity] = []
  private(set) var problems: [Problem] = []

  init(_ text: String) {
    scalars = Array(text.unicodeScalars)
  }

  /// Scans the whole text.
  mutating func scan() {
    while index < scalars.count { scanPiece() }
  }

  private func at(_ i: Int) -> Unicode.Scalar? { i < scalars.count ? scalars[i] : nil }

  static func isNameStart(_ c: Unicode.Scalar) -> Bool {
    (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == "$"
  }
  static func isNameBody(_ c: Unicode.Scalar) -> Bool {
    isNameStart(c) || isDigit(c) || c == "-" || c == "."
  }
  static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
  /// A character of an m4 name (`[A-Za-z0-9_]`).
  static func isM4NameBody(_ c: Unicode.Scalar) -> Bool {
    (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || isDigit(c)
  }

  private mutating func emit(_ kind: SourcePiece.Kind, from start: Int, depth startDepth: Int) {
    var text = String.UnicodeScalarView()
    text.append(contentsOf: scalars[start..<index])
    pieces.append(
      SourcePiece(kind: kind, text: String(text), line: line, column: start - lineStart + 1, depth: startDepth))
  }

  /// The first m4 quote character in `range`, noted as an ambiguity: m4 sees
  /// it although the text around it looks like a comment or a string.
  private mutating func quoteCharacter(in range: Range<Int>, what: String) -> Int? {
    guard let quote = range.first(where: { scalars[$0] == "`" || scalars[$0] == "'" }) else { return nil }
    ambiguities.append(Ambiguity(line: line, column: quote - lineStart + 1, what: what))
    return quote
  }

  private mutating func scanPiece() {
    let start = index
    let startDepth = depth
    let c = scalars[index]
    if c == "\n" {
      index += 1
      emit(.newline, from: start, depth: startDepth)
      line += 1
      lineStart = index
      return
    }
    if c == " " || c == "\t" || c == "\r" {
      while let d = at(index), d == " " || d == "\t" || d == "\r" { index += 1 }
      return emit(.space, from: start, depth: startDepth)
    }
    let isDnl = c == "d" && at(index + 1) == "n" && at(index + 2) == "l"
      && !(at(index + 3).map(Self.isM4NameBody) ?? false)
      && !(index > 0 && Self.isM4NameBody(scalars[index - 1]))
    if c == "#" || isDnl {
      while let d = at(index), d != "\n" { index += 1 }
      // Outside quotes m4 skips a comment whole; inside, a quote character ends the quoted text there.
      if depth > 0, let quote = quoteCharacter(in: start..<index, what: "a comment inside an m4 quoted body") {
        index = quote
      }
      return emit(.comment, from: start, depth: startDepth)
    }
    if c == "`" {
      index += 1
      depth += 1
      return emit(.openQuote, from: start, depth: startDepth)
    }
    if c == "'" {
      index += 1
      if depth == 0 {
        problems.append(Problem(line: line, column: start - lineStart + 1,
          message: "`'` closes no m4 quote", label: "no open `` ` `` before it"))
        return emit(.other, from: start, depth: startDepth)
      }
      depth -= 1
      return emit(.closeQuote, from: start, depth: startDepth)
    }
    if c == "\"" {
      index += 1
      while let d = at(index), d != "\"", d != "\n" { index += 1 }
      guard at(index) == "\"" else {
        problems.append(Problem(line: line, column: start - lineStart + 1,
          message: "unterminated string", label: "no closing `\"` on this line"))
        return emit(.other, from: start, depth: startDepth)
      }
      index += 1
      // m4 knows no strings: a quote character inside one counts, so the `"` is only a character.
      if quoteCharacter(in: start..<index, what: "a string") != nil {
        index = start + 1
        return emit(.other, from: start, depth: startDepth)
      }
      return emit(.string, from: start, depth: startDepth)
    }
    if c == "$", let d = at(index + 1), d == "*" || d == "@" || d == "#" {
      index += 2
      return emit(.word, from: start, depth: startDepth)
    }
    if Self.isNameStart(c) {
      while let d = at(index), Self.isNameBody(d) { index += 1 }
      while index > start + 1, scalars[index - 1] == "." || scalars[index - 1] == "-" { index -= 1 }
      return emit(.word, from: start, depth: startDepth)
    }
    if Self.isDigit(c) {
      if c == "0", at(index + 1) == "x" || at(index + 1) == "X" {
        index += 2
        while let d = at(index), Self.isDigit(d) || ("a"..."f").contains(d) || ("A"..."F").contains(d) { index += 1 }
      } else {
        while let d = at(index), Self.isDigit(d) { index += 1 }
        while let d = at(index), Self.isNameStart(d) { index += 1 }
      }
      return emit(.number, from: start, depth: startDepth)
    }
    if let d = at(index + 1), ["==", "!=", "&&", "||"].contains(String(String.UnicodeScalarView([c, d]))) {
      index += 2
      return emit(.punctuation, from: start, depth: startDepth)
    }
    index += 1
    emit("{}();:,~*-!^=.<>[]".unicodeScalars.contains(c) ? .punctuation : .other, from: start, depth: startDepth)
  }
}
