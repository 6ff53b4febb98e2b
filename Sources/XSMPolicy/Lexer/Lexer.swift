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
  /// 1-based line in `scalars`, markers included.
  private var outputLine = 1
  public private(set) var diagnostics: [Diagnostic] = []
  /// True once a `#line` marker was seen: only then can the text differ from
  /// the original files, and only then are columns checked against them.
  private var followsMarkers = false
  /// The original line last looked up, so a line's tokens share one lookup:
  /// the place m4 named, the place it stands for, and that line's text.
  private var cachedOriginal: (file: String, line: Int, origin: SourceLineOrigin, scalars: [Unicode.Scalar]?)?
  /// Inputs xsmc generated for m4, whose lines stand for lines elsewhere.
  private let aliases: [String: LineOrigins]

  /// How many expansion tokens ahead a punctuation token is looked for.
  private static let punctuationLookahead = 8
  /// Where macro expansions come from, for trees expanded by m4.
  private let macros: MacroExpansionMap?
  /// The output of the calls on the current `#line`, and how far it was matched.
  private var expansion: (file: String, line: Int, tokens: [ExpansionToken], next: Int)?
  /// The last line found to start no call, so its other tokens skip the lookup.
  private var lineWithoutCalls: (file: String, line: Int)?

  public init(text: String, file: String, map: SourceMap, macros: MacroExpansionMap? = nil) {
    scalars = Array(text.unicodeScalars)
    self.map = map
    self.file = file
    aliases = map.aliases
    self.macros = macros
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
    outputLine += 1
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
      outputLine += 1
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
      return Token(kind: .end, text: "", span: makeSpan(start: index, end: index), outputLine: outputLine)
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
      return Token(
        kind: .string, text: String(String.UnicodeScalarView(scalars[start..<index])) + "\"", span: span,
        outputLine: outputLine)
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
    let span = makeSpan(start: start, end: index, text: String(c))
    diagnostics.append(
      Diagnostic(.lex.unexpectedCharacter, .error,
        "unexpected character `\(String(c))`", span: span, label: "not part of the policy language"))
    return next()
  }

  private mutating func token(_ kind: Token.Kind, _ start: Int) -> Token {
    let text = String(String.UnicodeScalarView(scalars[start..<index]))
    return Token(kind: kind, text: text, span: makeSpan(start: start, end: index, text: text), outputLine: outputLine)
  }

  /// The span of scalars `start..<end` on the current line, remapped to the
  /// original file. A token of a macro call's expansion is placed where its
  /// text is written (the macro's body, or the call's argument); another
  /// token the original line does not hold at that column is found by
  /// searching the line. When no text holds it, the span has the line only
  /// (column 0) rather than a column under unrelated text.
  private mutating func makeSpan(start: Int, end: Int, text: String? = nil) -> SourceSpan {
    var column = start - lineStart + 1
    guard followsMarkers else {
      return SourceSpan(file: file, line: line, column: column, endLine: line, endColumn: column + (end - start))
    }
    // Generated inputs (refpolicy's) stand for lines of the tree's files; macro calls are found there.
    let (origin, chars) = originalLine()
    if let text, !text.isEmpty, let placed = placeInExpansion(text, at: origin) { return placed }
    if let text, !text.isEmpty, let chars {
      let wanted = Array(text.unicodeScalars)
      if !matches(chars, wanted, at: column - 1) {
        let onCallLine = expansion?.line == origin.line && expansion?.file == origin.file
        guard !onCallLine, let found = firstMatch(chars, wanted) else {
          return SourceSpan(file: origin.file, line: origin.line, column: 0, endColumn: 0)
        }
        column = found + 1
      }
    }
    return SourceSpan(
      file: origin.file, line: origin.line, column: column, endLine: origin.line, endColumn: column + (end - start))
  }

  /// The span of `text` as the next token of the current line's macro
  /// expansion (matched in order), when a call starts on this line.
  private mutating func placeInExpansion(_ text: String, at place: SourceLineOrigin) -> SourceSpan? {
    guard let macros else { return nil }
    let (file, line) = (place.file, place.line)
    if expansion?.line != line || expansion?.file != file {
      if lineWithoutCalls?.line == line && lineWithoutCalls?.file == file { return nil }
      guard let tokens = macros.tokens(file: file, line: line) else {
        lineWithoutCalls = (file, line)
        return nil
      }
      expansion = (file, line, tokens, 0)
    }
    // A name is looked for in the rest of the expansion (branches m4 left out
    // are skipped); punctuation only just ahead, so a `;` the expansion
    // repeats more often than it is written (recursive macros) cannot run the match ahead.
    guard let current = expansion else { return nil }
    let isName = text.unicodeScalars.first.map(isIdentStart) ?? false
    let end = isName ? current.tokens.count : min(current.tokens.count, current.next + Self.punctuationLookahead)
    guard let found = current.tokens[current.next..<end].firstIndex(where: { $0.text == text }) else { return nil }
    expansion?.next = found + 1
    let token = current.tokens[found]
    macros.placed(token)
    return token.span
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
