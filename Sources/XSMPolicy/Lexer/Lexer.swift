import XSMDiagnostics

/// Splits policy text into tokens with source spans, following m4 `#line`
/// markers so each span names the original file and line.
///
/// Identifiers follow checkpolicy: a letter or `_` (or `$`) then letters,
/// digits, `_`, `-` and `.`. Numbers are decimal or `0x` hexadecimal.
/// `#` starts a comment, except `#line` markers, which move the location.
public struct Lexer {
  /// The text as UTF-8; every byte the grammar looks at is ASCII.
  private let bytes: [UInt8]
  private let map: SourceMap
  private var index = 0
  private var file: String {
    didSet { sourceFile = SourceFile(file) }
  }
  /// `file` as the number spans hold, looked up once per `#line` marker rather than per token.
  private var sourceFile: SourceFile
  private var line = 1
  private var lineStart = 0
  /// False once a non-ASCII byte was seen on the current line before
  /// `index`: columns count Unicode scalars, so they then differ from byte offsets.
  private var lineIsASCII = true
  /// 1-based line in the text, markers included.
  private var outputLine = 1
  public private(set) var diagnostics: [Diagnostic] = []
  /// True once a `#line` marker was seen: only then can the text differ from
  /// the original files, and only then are columns checked against them.
  private var followsMarkers = false
  /// The original line last looked up, so a line's tokens share one lookup:
  /// the place m4 named, the place it stands for, and that line's text.
  private var cachedOriginal:
    (file: String, line: Int, origin: SourceLineOrigin, originFile: SourceFile, scalars: [Unicode.Scalar]?)?
  /// Inputs xsmc generated for m4, whose lines stand for lines elsewhere.
  private let aliases: [String: LineOrigins]
  /// One string per distinct long name, so repeated names share storage.
  private var names = NameInterner()

  /// How many expansion tokens ahead a punctuation token is looked for.
  private static let punctuationLookahead = 8
  /// Where macro expansions come from, for trees expanded by m4.
  private let macros: MacroExpansionMap?
  /// The output of the calls on the current `#line`, and how far it was matched.
  private var expansion: (file: String, line: Int, tokens: [ExpansionToken], next: Int)?
  /// The last line found to start no call, so its other tokens skip the lookup.
  private var lineWithoutCalls: (file: String, line: Int)?

  public init(text: String, file: String, map: SourceMap, macros: MacroExpansionMap? = nil) {
    bytes = Array(text.utf8)
    self.map = map
    self.file = file
    sourceFile = SourceFile(file)
    aliases = map.aliases
    self.macros = macros
  }

  /// Every token of the text, ending with one `.end` token.
  public mutating func tokenize() -> [Token] {
    var tokens: [Token] = []
    while true {
      let token = next()
      tokens.append(token)
      if token.kind == .end { return tokens }
    }
  }

  private func peek(_ offset: Int = 0) -> UInt8? {
    let i = index + offset
    return i < bytes.count ? bytes[i] : nil
  }

  private mutating func newline() {
    index += 1
    outputLine += 1
    line += 1
    lineStart = index
    lineIsASCII = true
  }

  /// The 1-based column (in Unicode scalars) of byte `offset` of the current line.
  private func column(of offset: Int) -> Int {
    if lineIsASCII { return offset - lineStart + 1 }
    return scalarCount(lineStart, offset) + 1
  }

  /// How many Unicode scalars the bytes `start..<end` hold.
  private func scalarCount(_ start: Int, _ end: Int) -> Int {
    var count = 0
    for i in start..<end where bytes[i] & 0xC0 != 0x80 { count += 1 }
    return count
  }

  private func text(_ start: Int, _ end: Int) -> String {
    String(decoding: bytes[start..<end], as: UTF8.self)
  }

  /// The text of the current expanded line.
  private func currentLineText() -> String {
    var end = lineStart
    while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
    return text(lineStart, end)
  }

  private static let lineMarkerPrefix = Array("#line ".utf8)

  /// Handles `#line N "file"` at the start of a line; returns false if this is an ordinary comment.
  private mutating func lineMarker() -> Bool {
    guard index == lineStart else { return false }
    let marker = Self.lineMarkerPrefix
    guard index + marker.count <= bytes.count, bytes[index..<index + marker.count].elementsEqual(marker) else {
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
    while let c = peek(), c != UInt8(ascii: "\n") { index += 1 }
    if peek() == UInt8(ascii: "\n") {
      index += 1
      outputLine += 1
      lineStart = index
      lineIsASCII = true
    }
    line = number
    followsMarkers = true
    return true
  }

  private static func isIdentStart(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
      || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
  }
  static func isIdentBody(_ c: UInt8) -> Bool {
    isIdentStart(c) || isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
  }
  private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
  private static func isHexDigit(_ c: UInt8) -> Bool {
    isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
  }

  /// The next token; `.end` (again and again) once the text is used up.
  mutating func next() -> Token {
    while true {
      while let c = peek() {
        if c == UInt8(ascii: "\n") {
          newline()
        } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
          index += 1
        } else if c == UInt8(ascii: "#") {
          if lineMarker() { continue }
          while let d = peek(), d != UInt8(ascii: "\n") { index += 1 }
        } else {
          break
        }
      }
      guard let c = peek() else {
        return Token(kind: .end, text: "", span: makeSpan(start: index, end: index), outputLine: outputLine)
      }
      let start = index
      if Self.isIdentStart(c) {
        while let d = peek(), Self.isIdentBody(d) { index += 1 }
        // A trailing `.` or `-` is never part of a name (checkpolicy agrees).
        while index > start + 1, bytes[index - 1] == UInt8(ascii: ".") || bytes[index - 1] == UInt8(ascii: "-") {
          index -= 1
        }
        let name = names.intern(bytes, start, index)
        return token(.identifier, start, text: name, keyword: Keyword(bytes[start..<index]))
      }
      if Self.isDigit(c) {
        if c == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
          index += 2
          while let d = peek(), Self.isHexDigit(d) { index += 1 }
        } else {
          while let d = peek(), Self.isDigit(d) { index += 1 }
          // Names such as `1st_t` are not valid; digits followed by letters lex as one bad number.
          while let d = peek(), Self.isIdentStart(d) { index += 1 }
        }
        return token(.number, start, text: text(start, index))
      }
      if c == UInt8(ascii: "\"") {
        index += 1
        while let d = peek(), d != UInt8(ascii: "\""), d != UInt8(ascii: "\n") {
          if d >= 0x80 { lineIsASCII = false }
          index += 1
        }
        if peek() == UInt8(ascii: "\"") {
          index += 1
          return token(.string, start, text: text(start, index))
        }
        let span = makeSpan(start: start, end: index)
        diagnostics.append(
          Diagnostic(.lex.unterminatedString, .error, "unterminated string literal", span: span,
            label: "string starts here", help: "close the string with `\"` on the same line"))
        return Token(kind: .string, text: text(start, index) + "\"", span: span, outputLine: outputLine)
      }
      if let d = peek(1) {
        let pair = Punctuation.pair(c, d)
        if pair != .none {
          index += 2
          return token(.punctuation, start, text: pair.text, punctuation: pair)
        }
      }
      let single = Punctuation.single(c)
      if single != .none {
        index += 1
        return token(.punctuation, start, text: single.text, punctuation: single)
      }
      // One Unicode scalar the language has no use for.
      index += c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
      let character = text(start, index)
      if c >= 0x80 { lineIsASCII = false }
      let span = makeSpan(start: start, end: index, text: character)
      diagnostics.append(
        Diagnostic(.lex.unexpectedCharacter, .error,
          "unexpected character `\(character)`", span: span, label: "not part of the policy language"))
    }
  }

  private mutating func token(
    _ kind: Token.Kind, _ start: Int, text: String, punctuation: Punctuation = .none, keyword: Keyword = .none
  ) -> Token {
    Token(
      kind: kind, text: text, span: makeSpan(start: start, end: index, text: text), outputLine: outputLine,
      punctuation: punctuation, keyword: keyword)
  }

  /// The span of scalars `start..<end` on the current line, remapped to the
  /// original file. A token of a macro call's expansion is placed where its
  /// text is written (the macro's body, or the call's argument); another
  /// token the original line does not hold at that column is found by
  /// searching the line. When no text holds it, the span has the line only
  /// (column 0) rather than a column under unrelated text.
  private mutating func makeSpan(start: Int, end: Int, text: String? = nil) -> SourceSpan {
    var column = column(of: start)
    let width = lineIsASCII ? end - start : scalarCount(start, end)
    guard followsMarkers else {
      return SourceSpan(in: sourceFile, line: line, column: column, endLine: line, endColumn: column + width)
    }
    // Generated inputs (refpolicy's) stand for lines of the tree's files; macro calls are found there.
    let (origin, originFile, chars) = originalLine()
    if let text, !text.isEmpty, let placed = placeInExpansion(text, at: origin) { return placed }
    if let text, !text.isEmpty, let chars {
      let wanted = text.unicodeScalars
      if !Self.matches(chars, wanted, at: column - 1) {
        let onCallLine = expansion?.line == origin.line && expansion?.file == origin.file
        guard !onCallLine, let found = Self.firstMatch(chars, wanted) else {
          return SourceSpan(in: originFile, line: origin.line, column: 0, endColumn: 0)
        }
        column = found + 1
      }
    }
    return SourceSpan(
      in: originFile, line: origin.line, column: column, endLine: origin.line, endColumn: column + width)
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
    let isName = text.utf8.first.map(Self.isIdentStart) ?? false
    let end = isName ? current.tokens.count : min(current.tokens.count, current.next + Self.punctuationLookahead)
    guard let found = current.tokens[current.next..<end].firstIndex(where: { $0.text == text }) else { return nil }
    expansion?.next = found + 1
    let token = current.tokens[found]
    macros.placed(token)
    return token.span
  }

  private mutating func originalLine() -> (SourceLineOrigin, SourceFile, [Unicode.Scalar]?) {
    if let cached = cachedOriginal, cached.line == line, cached.file == file {
      return (cached.origin, cached.originFile, cached.scalars)
    }
    let origin = aliases.isEmpty ? SourceLineOrigin(file: file, line: line) : SourceMap.origin(of: file, line: line, in: aliases)
    let scalars = map.line(origin.line, of: origin.file).map { Array($0.unicodeScalars) }
    let originFile = origin.file == file ? sourceFile : SourceFile(origin.file)
    cachedOriginal = (file, line, origin, originFile, scalars)
    return (origin, originFile, scalars)
  }

  private static func matches(_ hay: [Unicode.Scalar], _ needle: String.UnicodeScalarView, at i: Int) -> Bool {
    guard i >= 0, i + needle.count <= hay.count else { return false }
    return hay[i..<i + needle.count].elementsEqual(needle)
  }
  private static func firstMatch(_ hay: [Unicode.Scalar], _ needle: String.UnicodeScalarView) -> Int? {
    let count = needle.count
    guard count <= hay.count else { return nil }
    func isIdentBody(_ c: Unicode.Scalar) -> Bool { c.isASCII && Self.isIdentBody(UInt8(c.value)) }
    for i in 0...(hay.count - count) where matches(hay, needle, at: i) {
      // Whole-word match only.
      let before = i == 0 || !isIdentBody(hay[i - 1])
      let after = i + count == hay.count || !isIdentBody(hay[i + count])
      if before && after { return i }
    }
    return nil
  }
}

/// Hands out one `String` per distinct name longer than a small string, so
/// the many tokens and syntax nodes naming a type share its storage.
struct NameInterner {
  private var slots = [Int32](repeating: -1, count: 1024)
  private var strings: [String] = []
  private var hashes: [UInt64] = []

  /// The longest name Swift keeps inline (no allocation, nothing to share).
  private static let smallLength = 15

  mutating func intern(_ bytes: [UInt8], _ start: Int, _ end: Int) -> String {
    if end - start <= Self.smallLength { return String(decoding: bytes[start..<end], as: UTF8.self) }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in start..<end { hash = (hash ^ UInt64(bytes[i])) &* 0x100_0000_01b3 }
    let mask = slots.count - 1
    var slot = Int(truncatingIfNeeded: hash) & mask
    while true {
      let entry = slots[slot]
      if entry < 0 { break }
      let candidate = Int(entry)
      if hashes[candidate] == hash && strings[candidate].utf8.elementsEqual(bytes[start..<end]) {
        return strings[candidate]
      }
      slot = (slot + 1) & mask
    }
    let string = String(decoding: bytes[start..<end], as: UTF8.self)
    slots[slot] = Int32(strings.count)
    strings.append(string)
    hashes.append(hash)
    if strings.count * 2 > slots.count { grow() }
    return string
  }

  private mutating func grow() {
    slots = [Int32](repeating: -1, count: slots.count * 2)
    let mask = slots.count - 1
    for (entry, hash) in hashes.enumerated() {
      var slot = Int(truncatingIfNeeded: hash) & mask
      while slots[slot] >= 0 { slot = (slot + 1) & mask }
      slots[slot] = Int32(entry)
    }
  }
}
