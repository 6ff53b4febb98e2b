import XSMDiagnostics

/// Splits policy text into tokens with source spans, following m4 `#line`
/// markers so each span names the original file and line.
///
/// Identifiers follow checkpolicy: a letter or `_` (or `$`) then letters,
/// digits, `_`, `-` and `.`. Numbers are decimal or `0x` hexadecimal.
/// `#` starts a comment, except `#line` markers, which move the location.
public struct Lexer {
  private let scalars: [Unicode.Scalar]
  private let map: SourceMap
  private var index = 0
  private var file: String
  private var line = 1
  private var lineStart = 0
  public private(set) var diagnostics: [Diagnostic] = []
  /// True once a `#line` marker was seen: only then can the text differ from
  /// the original files, and only then are columns checked against them.
  private var followsMarkers = false
  /// The original line last looked up, so a line's tokens share one lookup:
  /// the place m4 named, the place it stands for, and that line's text.
  private var cachedOriginal: (file: String, line: Int, origin: SourceLineOrigin, scalars: [Unicode.Scalar]?)?
  /// Inputs xsmc generated for m4, whose lines stand for lines elsewhere.
  private let aliases: [String: LineOrigins]

  public init(text: String, file: String, map: SourceMap) {
    scalars = Array(text.unicodeScalars)
    self.map = map
    self.file = file
    aliases = map.aliases
  }

  /// Every token of the text, ending with one `.end` token.
  public mutating func tokenize() -> [Token] {
    var tokens: [Token] = []
    tokens.reserveCapacity(scalars.count / 4)
    while true {
      let token = next()
      tokens.append(token)
      if token.kind == .end { return tokens }
    }
  }

  private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
    let i = index + offset
    return i < scalars.count ? scalars[i] : nil
  }

  private mutating func newline() {
    index += 1
    line += 1
    lineStart = index
  }

  private var column: Int { index - lineStart + 1 }

  /// The text of the current expanded line.
  private func currentLineText() -> String {
    var end = lineStart
    while end < scalars.count && scalars[end] != "\n" { end += 1 }
    var s = String.UnicodeScalarView()
    s.append(contentsOf: scalars[lineStart..<end])
    return String(s)
  }

  /// Handles `#line N "file"` at the start of a line; returns false if this is an ordinary comment.
  private mutating func lineMarker() -> Bool {
    guard column == 1 else { return false }
    let marker = Array("#line ".unicodeScalars)
    guard index + marker.count <= scalars.count, Array(scalars[index..<index + marker.count]) == marker else {
      return false
    }
    let text = currentLineText()
    let parts = text.dropFirst(6).split(separator: " ", maxSplits: 1)
    guard let first = parts.first, let number = Int(first) else { return false }
    if parts.count == 2 {
      let quoted = parts[1].trimmingCharacters(in: .whitespaces)
      if quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") {
        file = String(quoted.dropFirst().dropLast())
      }
    }
    // Skip to the end of the marker line; the next line is `number`.
    while let c = peek(), c != "\n" { index += 1 }
    if peek() == "\n" {
      index += 1
      lineStart = index
    }
    line = number
    followsMarkers = true
    return true
  }

  private func isIdentStart(_ c: Unicode.Scalar) -> Bool {
    (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == "$"
  }
  private func isIdentBody(_ c: Unicode.Scalar) -> Bool {
    isIdentStart(c) || (c >= "0" && c <= "9") || c == "-" || c == "."
  }
  private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

  private mutating func next() -> Token {
    while let c = peek() {
      if c == "\n" {
        newline()
      } else if c == " " || c == "\t" || c == "\r" {
        index += 1
      } else if c == "#" {
        if lineMarker() { continue }
        while let d = peek(), d != "\n" { index += 1 }
      } else {
        break
      }
    }
    guard let c = peek() else {
      return Token(kind: .end, text: "", span: makeSpan(start: index, end: index))
    }
    let start = index
    if isIdentStart(c) {
      while let d = peek(), isIdentBody(d) { index += 1 }
      // A trailing `.` or `-` is never part of a name (checkpolicy agrees).
      while index > start + 1, scalars[index - 1] == "." || scalars[index - 1] == "-" { index -= 1 }
      return token(.identifier, start)
    }
    if isDigit(c) {
      if c == "0", peek(1) == "x" || peek(1) == "X" {
        index += 2
        while let d = peek(), isDigit(d) || ("a"..."f").contains(d) || ("A"..."F").contains(d) { index += 1 }
      } else {
        while let d = peek(), isDigit(d) { index += 1 }
        // Names such as `1st_t` are not valid; digits followed by letters lex as one bad number.
        while let d = peek(), isIdentStart(d) { index += 1 }
      }
      return token(.number, start)
    }
    if c == "\"" {
      index += 1
      while let d = peek(), d != "\"", d != "\n" { index += 1 }
      if peek() == "\"" {
        index += 1
        return token(.string, start)
      }
      let span = makeSpan(start: start, end: index)
      diagnostics.append(
        Diagnostic(.lex.unterminatedString, .error, "unterminated string literal", span: span,
          label: "string starts here", help: "close the string with `\"` on the same line"))
      return Token(kind: .string, text: String(String.UnicodeScalarView(scalars[start..<index])) + "\"", span: span)
    }
    let two: [String] = ["==", "!=", "&&", "||"]
    if let d = peek(1) {
      let pair = String(String.UnicodeScalarView([c, d]))
      if two.contains(pair) {
        index += 2
        return token(.punctuation, start)
      }
    }
    if "{}();:,~*-!^=.<>[]".unicodeScalars.contains(c) {
      index += 1
      return token(.punctuation, start)
    }
    index += 1
    let span = makeSpan(start: start, end: index)
    diagnostics.append(
      Diagnostic(.lex.unexpectedCharacter, .error,
        "unexpected character `\(String(c))`", span: span, label: "not part of the policy language"))
    return next()
  }

  private mutating func token(_ kind: Token.Kind, _ start: Int) -> Token {
    let text = String(String.UnicodeScalarView(scalars[start..<index]))
    return Token(kind: kind, text: text, span: makeSpan(start: start, end: index, text: text))
  }

  /// The span of scalars `start..<end` on the current line, remapped to the
  /// original file. When the original line does not hold the token at that
  /// column (macro output), the column is found by searching the original
  /// line; failing that, it stays where it was in the expanded text.
  private mutating func makeSpan(start: Int, end: Int, text: String? = nil) -> SourceSpan {
    var column = start - lineStart + 1
    guard followsMarkers else {
      return SourceSpan(file: file, line: line, column: column, endLine: line, endColumn: column + (end - start))
    }
    let (origin, chars) = originalLine()
    if let text, !text.isEmpty, let chars {
      let wanted = Array(text.unicodeScalars)
      if !matches(chars, wanted, at: column - 1) {
        if let found = firstMatch(chars, wanted) { column = found + 1 }
      }
    }
    return SourceSpan(
      file: origin.file, line: origin.line, column: column, endLine: origin.line, endColumn: column + (end - start))
  }

  private mutating func originalLine() -> (SourceLineOrigin, [Unicode.Scalar]?) {
    if let cached = cachedOriginal, cached.line == line, cached.file == file { return (cached.origin, cached.scalars) }
    let origin = aliases.isEmpty ? SourceLineOrigin(file: file, line: line) : SourceMap.origin(of: file, line: line, in: aliases)
    let scalars = map.line(origin.line, of: origin.file).map { Array($0.unicodeScalars) }
    cachedOriginal = (file, line, origin, scalars)
    return (origin, scalars)
  }

  private func matches(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar], at i: Int) -> Bool {
    guard i >= 0, i + needle.count <= hay.count else { return false }
    return Array(hay[i..<i + needle.count]) == needle
  }
  private func firstMatch(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Int? {
    guard needle.count <= hay.count else { return nil }
    for i in 0...(hay.count - needle.count) where matches(hay, needle, at: i) {
      // Whole-word match only.
      let before = i == 0 || !isIdentBody(hay[i - 1])
      let after = i + needle.count == hay.count || !isIdentBody(hay[i + needle.count])
      if before && after { return i }
    }
    return nil
  }
}
