import XSMDiagnostics

// A small TOML reader for system files: the subset docs/system-format.md
// lists, with the source span of every key and value kept so that later
// checks (unknown keys, contexts the policy does not know) point at the text.
//
// Supported: comments, bare/"quoted"/'literal' keys, dotted keys, basic
// strings (escapes \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX), literal strings,
// integers (decimal, 0x/0o/0b, underscores between digits), booleans,
// arrays (multi-line, trailing comma, comments inside), one-line inline
// tables, [tables] and [[arrays of tables]]. Floats, dates and multi-line
// strings are reported as unsupported.

/// A TOML value with the span of its text (quotes, brackets and braces
/// included). Tables carry their span in `TOMLTable.span`.
public enum TOMLValue: Sendable, Hashable {
  case string(String, SourceSpan)
  case integer(Int, SourceSpan)
  case boolean(Bool, SourceSpan)
  /// A `[ ... ]` array, or the elements of an array of tables (`[[name]]`,
  /// then the span is the first header's).
  case array([TOMLValue], SourceSpan)
  case table(TOMLTable)

  public var span: SourceSpan {
    switch self {
    case .string(_, let s), .integer(_, let s), .boolean(_, let s), .array(_, let s): s
    case .table(let t): t.span
    }
  }

  /// "a string", "an integer", ... for messages.
  public var typeName: String {
    switch self {
    case .string: "a string"
    case .integer: "an integer"
    case .boolean: "a boolean"
    case .array: "an array"
    case .table: "a table"
    }
  }

  public var stringValue: String? { if case .string(let v, _) = self { v } else { nil } }
  public var intValue: Int? { if case .integer(let v, _) = self { v } else { nil } }
  public var boolValue: Bool? { if case .boolean(let v, _) = self { v } else { nil } }
  public var arrayValue: [TOMLValue]? { if case .array(let v, _) = self { v } else { nil } }
  public var tableValue: TOMLTable? { if case .table(let v) = self { v } else { nil } }
}

/// A table: its entries in source order, each with the span of its key.
public struct TOMLTable: Sendable, Hashable {
  public struct Entry: Sendable, Hashable {
    public var key: String
    /// The key as written (for a table opened by a header, the last key of the header).
    public var keySpan: SourceSpan
    public var value: TOMLValue
    public init(key: String, keySpan: SourceSpan, value: TOMLValue) {
      self.key = key
      self.keySpan = keySpan
      self.value = value
    }
  }

  public var entries: [Entry]
  /// The header (`[name]`, `[[name]]`), the inline table's braces, the key
  /// that implied the table (`a` of `[a.b]`, `a` of `a.b = 1`), or 1:1 for
  /// the root.
  public var span: SourceSpan

  public init(entries: [Entry] = [], span: SourceSpan) {
    self.entries = entries
    self.span = span
  }

  public var keys: [String] { entries.map(\.key) }
  public func entry(_ key: String) -> Entry? { entries.first { $0.key == key } }
  public subscript(key: String) -> TOMLValue? { entry(key)?.value }
}

public enum TOMLParser {
  /// Parses `text`; spans name `file`. The table is nil when there is any error.
  public static func parse(text: String, file: String) -> (TOMLTable?, [Diagnostic]) {
    var reader = TOMLReader(text: text, file: file)
    reader.run()
    if reader.diagnostics.contains(where: { $0.severity == .error }) { return (nil, reader.diagnostics) }
    return (reader.root.build(), reader.diagnostics)
  }
}

// MARK: - Building tables

/// A table under construction. Tables opened by headers and dotted keys are
/// extended in place, so they are reference objects until `build()`.
final class TOMLTableBuilder {
  enum Origin { case root, header, implicit, dotted, inline, arrayElement }
  enum Slot {
    case value(TOMLValue, keySpan: SourceSpan)
    case table(TOMLTableBuilder, keySpan: SourceSpan)
    case tableArray([TOMLTableBuilder], keySpan: SourceSpan)
  }

  var origin: Origin
  var span: SourceSpan
  var order: [String] = []
  var slots: [String: Slot] = [:]

  init(origin: Origin, span: SourceSpan) {
    self.origin = origin
    self.span = span
  }

  func insert(_ key: String, _ slot: Slot) {
    if slots[key] == nil { order.append(key) }
    slots[key] = slot
  }

  func build() -> TOMLTable {
    var table = TOMLTable(span: span)
    for key in order {
      guard let slot = slots[key] else { continue }
      switch slot {
      case .value(let v, let keySpan):
        table.entries.append(.init(key: key, keySpan: keySpan, value: v))
      case .table(let t, let keySpan):
        table.entries.append(.init(key: key, keySpan: keySpan, value: .table(t.build())))
      case .tableArray(let ts, let keySpan):
        table.entries.append(
          .init(key: key, keySpan: keySpan, value: .array(ts.map { .table($0.build()) }, ts.first?.span ?? keySpan)))
      }
    }
    return table
  }
}

// MARK: - Reading

struct TOMLParseError: Error {
  var diagnostic: Diagnostic
}

private struct KeyPart {
  var name: String
  var span: SourceSpan
}

private struct Mark {
  var pos: Int
  var line: Int
  var column: Int
}

private func isNewline(_ c: Character) -> Bool { c == "\n" || c == "\r\n" }
private func isBareKeyCharacter(_ c: Character) -> Bool {
  c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
}
private func isTokenCharacter(_ c: Character) -> Bool {
  c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-" || c == "+" || c == "." || c == ":")
}

struct TOMLReader {
  private let chars: [Character]
  private let file: String
  private let lines: [Substring]
  private var pos = 0
  private var line = 1
  private var lineStart = 0
  private(set) var diagnostics: [Diagnostic] = []
  let root: TOMLTableBuilder
  private var current: TOMLTableBuilder

  init(text: String, file: String) {
    var chars = Array(text)
    if chars.first == "\u{FEFF}" { chars.removeFirst() }
    self.chars = chars
    self.file = file
    self.lines = text.split(omittingEmptySubsequences: false, whereSeparator: isNewline)
    root = TOMLTableBuilder(origin: .root, span: SourceSpan(file: file, line: 1, column: 1))
    current = root
  }

  // MARK: Cursor

  private var peek: Character? { pos < chars.count ? chars[pos] : nil }
  private func peek(_ offset: Int) -> Character? { pos + offset < chars.count ? chars[pos + offset] : nil }
  private var atLineEnd: Bool { peek.map(isNewline) ?? true }
  private var mark: Mark { Mark(pos: pos, line: line, column: pos - lineStart + 1) }

  private mutating func advance() {
    let c = chars[pos]
    pos += 1
    if isNewline(c) {
      line += 1
      lineStart = pos
    }
  }

  private func span(from m: Mark) -> SourceSpan {
    SourceSpan(file: file, line: m.line, column: m.column, endLine: line, endColumn: pos - lineStart + 1)
  }
  /// `width` characters from the current position (at least one).
  private func spanHere(width: Int = 1) -> SourceSpan {
    let column = pos - lineStart + 1
    return SourceSpan(file: file, line: line, column: column, endColumn: column + max(width, 1))
  }

  private mutating func skipSpaces() {
    while let c = peek, c == " " || c == "\t" || c == "\r" { advance() }
  }
  private mutating func skipComment() {
    guard peek == "#" else { return }
    while let c = peek, !isNewline(c) { advance() }
  }
  /// Spaces, comments and newlines (inside arrays).
  private mutating func skipTrivia() {
    while true {
      skipSpaces()
      skipComment()
      guard let c = peek, isNewline(c) else { return }
      advance()
    }
  }

  /// The word at the cursor, for messages (`found \`x\``).
  private var wordHere: String {
    guard let c = peek, !isNewline(c) else { return "" }
    if !isTokenCharacter(c) { return String(c) }
    var end = pos
    while end < chars.count, isTokenCharacter(chars[end]) { end += 1 }
    return String(chars[pos..<end])
  }
  private var foundHere: String {
    if peek == nil { return "the end of the file" }
    if atLineEnd { return "the end of the line" }
    return "`\(wordHere)`"
  }

  private func error(
    _ id: DiagnosticID, _ message: String, _ at: SourceSpan, label: String? = nil, help: String? = nil,
    notes: [DiagnosticNote] = []
  ) -> TOMLParseError {
    TOMLParseError(
      diagnostic: Diagnostic(
        id, .error, message, span: at, label: label, help: help, notes: notes,
        sourceLine: sourceLine(at.line)))
  }
  private func sourceLine(_ n: Int) -> String? { n >= 1 && n <= lines.count ? String(lines[n - 1]) : nil }
  private func note(_ message: String, _ at: SourceSpan) -> DiagnosticNote {
    DiagnosticNote(message, span: at, sourceLine: sourceLine(at.line))
  }

  // MARK: Statements

  mutating func run() {
    while true {
      skipSpaces()
      skipComment()
      guard let c = peek else { break }
      if isNewline(c) {
        advance()
        continue
      }
      do throws(TOMLParseError) {
        if c == "[" { try parseHeader() } else { try parseKeyValue(into: current) }
        try expectLineEnd()
      } catch {
        diagnostics.append(error.diagnostic)
        recover()
      }
    }
  }

  private mutating func expectLineEnd() throws(TOMLParseError) {
    skipSpaces()
    skipComment()
    guard atLineEnd else {
      throw error(
        .toml.unexpectedText, "unexpected `\(wordHere)` after the value", spanHere(width: wordHere.count),
        help: "put each `key = value` on its own line; a comment starts with `#`")
    }
  }

  /// After an error: skip the rest of the line, then lines that cannot start
  /// a statement (the rest of a broken multi-line array).
  private mutating func recover() {
    while let c = peek, !isNewline(c) { advance() }
    if peek != nil { advance() }
    while pos < chars.count, !lineStartsStatement() {
      while let c = peek, !isNewline(c) { advance() }
      if peek != nil { advance() }
    }
  }

  private func lineStartsStatement() -> Bool {
    var i = pos
    while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
    guard i < chars.count, !isNewline(chars[i]) else { return true }
    let first = chars[i]
    if first == "#" || first == "[" { return true }
    guard isBareKeyCharacter(first) || first == "\"" || first == "'" else { return false }
    while i < chars.count, !isNewline(chars[i]), chars[i] != "#" {
      if chars[i] == "=" { return true }
      i += 1
    }
    return false
  }

  private mutating func parseHeader() throws(TOMLParseError) {
    let start = mark
    advance()
    let isArray = peek == "["
    if isArray { advance() }
    skipSpaces()
    let parts = try parseKey()
    skipSpaces()
    let close = isArray ? "]]" : "]"
    guard peek == "]", !isArray || peek(1) == "]" else {
      throw error(
        .toml.badHeader, "expected `\(close)` to close the \(isArray ? "array-of-tables" : "table") header, found \(foundHere)",
        spanHere(width: wordHere.count), help: isArray ? "an array of tables is written `[[name]]`" : "a table is written `[name]`")
    }
    advance()
    if isArray { advance() }
    try open(parts, isArray: isArray, header: span(from: start))
  }

  private mutating func parseKeyValue(into table: TOMLTableBuilder) throws(TOMLParseError) {
    let parts = try parseKey()
    skipSpaces()
    guard peek == "=" else {
      throw error(
        .toml.expectedEquals, "expected `=` after the key `\(dotted(parts))`, found \(foundHere)",
        spanHere(width: atLineEnd ? 1 : wordHere.count), help: "write `key = value`")
    }
    advance()
    skipSpaces()
    let value = try parseValue()
    try assign(parts, value, in: table)
  }

  private func dotted(_ parts: [KeyPart]) -> String { parts.map(\.name).joined(separator: ".") }

  // MARK: Keys

  private mutating func parseKey() throws(TOMLParseError) -> [KeyPart] {
    var parts: [KeyPart] = []
    while true {
      skipSpaces()
      parts.append(try parseSimpleKey())
      skipSpaces()
      guard peek == "." else { return parts }
      advance()
    }
  }

  private mutating func parseSimpleKey() throws(TOMLParseError) -> KeyPart {
    let start = mark
    switch peek {
    case "\"":
      let s = try parseBasicString()
      return KeyPart(name: s, span: span(from: start))
    case "'":
      let s = try parseLiteralString()
      return KeyPart(name: s, span: span(from: start))
    case let c? where isBareKeyCharacter(c):
      var name = ""
      while let c = peek, isBareKeyCharacter(c) {
        name.append(c)
        advance()
      }
      return KeyPart(name: name, span: span(from: start))
    default:
      let help =
        peek == "}"
        ? "TOML does not allow a trailing comma in an inline table"
        : "keys are bare (`A-Za-z0-9_-`) or quoted"
      throw error(.toml.expectedKey, "expected a key, found \(foundHere)", spanHere(width: wordHere.count), help: help)
    }
  }

  // MARK: Tables

  private mutating func open(_ parts: [KeyPart], isArray: Bool, header: SourceSpan) throws(TOMLParseError) {
    var table = root
    for (i, part) in parts.dropLast().enumerated() {
      switch table.slots[part.name] {
      case nil:
        let t = TOMLTableBuilder(origin: .implicit, span: part.span)
        table.insert(part.name, .table(t, keySpan: part.span))
        table = t
      case .table(let t, _):
        table = t
      case .tableArray(let ts, _):
        table = ts[ts.count - 1]
      case .value(let v, let keySpan):
        throw error(
          .toml.duplicateTable,
          "`\(dotted(Array(parts[...i])))` is already defined as \(Self.describe(v)), a header cannot add to it",
          part.span, notes: [note("defined here", keySpan)])
      }
    }
    let last = parts[parts.count - 1]
    let name = dotted(parts)
    if isArray {
      let element = TOMLTableBuilder(origin: .arrayElement, span: header)
      switch table.slots[last.name] {
      case nil:
        table.insert(last.name, .tableArray([element], keySpan: last.span))
      case .tableArray(let ts, let keySpan):
        table.insert(last.name, .tableArray(ts + [element], keySpan: keySpan))
      case .table(let t, _):
        throw error(
          .toml.duplicateTable, "`\(name)` is already a table, it cannot also be an array of tables", header,
          notes: [note("defined here", t.span)])
      case .value(let v, let keySpan):
        throw error(
          .toml.duplicateTable, "`\(name)` is already defined as \(Self.describe(v)), it cannot also be an array of tables",
          header, notes: [note("defined here", keySpan)])
      }
      current = element
    } else {
      switch table.slots[last.name] {
      case nil:
        let t = TOMLTableBuilder(origin: .header, span: header)
        table.insert(last.name, .table(t, keySpan: last.span))
        current = t
      case .table(let t, _) where t.origin == .implicit:
        t.origin = .header
        t.span = header
        current = t
      case .table(let t, _):
        throw error(
          .toml.duplicateTable, "table `\(name)` is defined twice", header,
          notes: [note(t.origin == .dotted ? "defined by a dotted key here" : "first defined here", t.span)])
      case .tableArray(let ts, _):
        throw error(
          .toml.duplicateTable, "`\(name)` is an array of tables, it cannot also be a table", header,
          help: "write `[[\(name)]]` to add an element", notes: [note("first defined here", ts[0].span)])
      case .value(let v, let keySpan):
        throw error(
          .toml.duplicateTable, "`\(name)` is already defined as \(Self.describe(v)), it cannot also be a table", header,
          notes: [note("defined here", keySpan)])
      }
    }
  }

  private static func describe(_ v: TOMLValue) -> String { v.tableValue != nil ? "an inline table" : v.typeName }

  private func assign(_ parts: [KeyPart], _ value: TOMLValue, in start: TOMLTableBuilder) throws(TOMLParseError) {
    var table = start
    for (i, part) in parts.dropLast().enumerated() {
      switch table.slots[part.name] {
      case nil:
        let t = TOMLTableBuilder(origin: .dotted, span: part.span)
        table.insert(part.name, .table(t, keySpan: part.span))
        table = t
      case .table(let t, _) where t.origin == .dotted:
        table = t
      case .table(_, let keySpan), .tableArray(_, let keySpan), .value(_, let keySpan):
        throw error(
          .toml.duplicateKey, "`\(dotted(Array(parts[...i])))` is already defined, a dotted key cannot add to it",
          part.span, notes: [note("defined here", keySpan)])
      }
    }
    let last = parts[parts.count - 1]
    switch table.slots[last.name] {
    case nil:
      table.insert(last.name, .value(value, keySpan: last.span))
    case .value(_, let keySpan), .table(_, let keySpan), .tableArray(_, let keySpan):
      throw error(
        .toml.duplicateKey, "key `\(dotted(parts))` is defined twice", last.span,
        notes: [note("first defined here", keySpan)])
    }
  }

  // MARK: Values

  private mutating func parseValue() throws(TOMLParseError) -> TOMLValue {
    let start = mark
    guard let c = peek, !isNewline(c), c != "#" else {
      throw error(
        .toml.expectedValue, "expected a value, found \(foundHere)", spanHere(),
        help: "a value is a \"string\", an integer, true, false, [an, array] or { an = inline-table }")
    }
    switch c {
    case "\"":
      if peek(1) == "\"" && peek(2) == "\"" {
        throw error(.toml.unsupported, "multi-line strings are not supported", spanHere(width: 3),
          help: "write the string on one line, with `\\n` for line breaks")
      }
      let s = try parseBasicString()
      return .string(s, span(from: start))
    case "'":
      if peek(1) == "'" && peek(2) == "'" {
        throw error(.toml.unsupported, "multi-line strings are not supported", spanHere(width: 3),
          help: "write the string on one line")
      }
      let s = try parseLiteralString()
      return .string(s, span(from: start))
    case "[":
      return try parseArray()
    case "{":
      return try parseInlineTable()
    default:
      return try parseBareValue()
    }
  }

  private mutating func parseBasicString() throws(TOMLParseError) -> String {
    let start = mark
    advance()
    var value = ""
    while true {
      guard let c = peek, !isNewline(c) else { throw unterminated(start, quote: "\"") }
      if c == "\"" {
        advance()
        return value
      }
      if c != "\\" {
        value.append(c)
        advance()
        continue
      }
      let escapeStart = mark
      advance()
      guard let e = peek, !isNewline(e) else { throw unterminated(start, quote: "\"") }
      advance()
      switch e {
      case "\"": value.append("\"")
      case "\\": value.append("\\")
      case "n": value.append("\n")
      case "t": value.append("\t")
      case "r": value.append("\r")
      case "b": value.append("\u{08}")
      case "f": value.append("\u{0C}")
      case "u", "U":
        let count = e == "u" ? 4 : 8
        var hex = ""
        while hex.count < count, let h = peek, h.isHexDigit {
          hex.append(h)
          advance()
        }
        guard hex.count == count else {
          throw error(
            .toml.badEscape, "`\\\(e)` needs \(count) hex digits", span(from: escapeStart),
            help: "write `\\u00e9` or `\\U0001F600`")
        }
        guard let scalar = UInt32(hex, radix: 16).flatMap({ Unicode.Scalar($0) }) else {
          throw error(.toml.badEscape, "`\\\(e)\(hex)` is not a Unicode scalar value", span(from: escapeStart))
        }
        value.unicodeScalars.append(scalar)
      default:
        throw error(
          .toml.badEscape, "unknown escape `\\\(e)`", span(from: escapeStart),
          help: "escapes are \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX \\UXXXXXXXX; a 'literal string' keeps backslashes as they are")
      }
    }
  }

  private mutating func parseLiteralString() throws(TOMLParseError) -> String {
    let start = mark
    advance()
    var value = ""
    while true {
      guard let c = peek, !isNewline(c) else { throw unterminated(start, quote: "'") }
      advance()
      if c == "'" { return value }
      value.append(c)
    }
  }

  private func unterminated(_ start: Mark, quote: String) -> TOMLParseError {
    error(
      .toml.unterminatedString, "unterminated string", SourceSpan(file: file, line: start.line, column: start.column),
      label: "string starts here", help: "close it with `\(quote)` on the same line")
  }

  private mutating func parseArray() throws(TOMLParseError) -> TOMLValue {
    let start = mark
    advance()
    var items: [TOMLValue] = []
    while true {
      skipTrivia()
      if peek == nil { throw unterminatedArray(start) }
      if peek == "]" { break }
      items.append(try parseValue())
      skipTrivia()
      if peek == "," {
        advance()
        continue
      }
      if peek == "]" { break }
      if peek == nil { throw unterminatedArray(start) }
      throw error(
        .toml.expectedComma, "expected `,` or `]` in the array, found \(foundHere)",
        spanHere(width: wordHere.count), help: "separate array elements with `,`")
    }
    advance()
    return .array(items, span(from: start))
  }

  private func unterminatedArray(_ start: Mark) -> TOMLParseError {
    error(
      .toml.unterminatedArray, "array is not closed", SourceSpan(file: file, line: start.line, column: start.column),
      label: "array starts here", help: "close it with `]`")
  }

  private mutating func parseInlineTable() throws(TOMLParseError) -> TOMLValue {
    let start = mark
    advance()
    let table = TOMLTableBuilder(origin: .inline, span: spanHere())
    skipSpaces()
    if peek == "}" {
      advance()
    } else {
      while true {
        skipSpaces()
        if atLineEnd { throw unterminatedTable(start) }
        try parseKeyValue(into: table)
        skipSpaces()
        if peek == "," {
          advance()
          continue
        }
        if peek == "}" {
          advance()
          break
        }
        if atLineEnd { throw unterminatedTable(start) }
        throw error(
          .toml.expectedComma, "expected `,` or `}` in the inline table, found \(foundHere)",
          spanHere(width: wordHere.count), help: "separate the keys of an inline table with `,`")
      }
    }
    table.span = span(from: start)
    return .table(table.build())
  }

  private func unterminatedTable(_ start: Mark) -> TOMLParseError {
    error(
      .toml.unterminatedTable, "inline table is not closed on its line",
      SourceSpan(file: file, line: start.line, column: start.column), label: "inline table starts here",
      help: "close it with `}`; an inline table stays on one line, use a `[table]` for more")
  }

  /// true, false, integers, and the bare words that are mistakes.
  private mutating func parseBareValue() throws(TOMLParseError) -> TOMLValue {
    let start = mark
    var token = ""
    while let c = peek, isTokenCharacter(c) {
      token.append(c)
      advance()
    }
    guard !token.isEmpty else {
      throw error(
        .toml.expectedValue, "expected a value, found \(foundHere)", spanHere(width: wordHere.count),
        help: "a value is a \"string\", an integer, true, false, [an, array] or { an = inline-table }")
    }
    let at = span(from: start)
    switch token {
    case "true": return .boolean(true, at)
    case "false": return .boolean(false, at)
    case "inf", "+inf", "-inf", "nan", "+nan", "-nan":
      throw error(.toml.unsupported, "floating-point values are not supported", at, help: "use an integer")
    default: break
    }
    guard let first = token.first else { throw error(.toml.expectedValue, "expected a value", at) }
    let second = token.dropFirst().first
    if first.isNumber || ((first == "+" || first == "-") && second?.isNumber == true) {
      return .integer(try integer(token, at), at)
    }
    let help: String
    switch token.lowercased() {
    case "true", "false", "yes", "no", "on", "off": help = "booleans are `true` and `false`, in lower case"
    default: help = "a string is written in quotes: `\"\(token)\"`"
    }
    throw error(.toml.expectedValue, "expected a value, found `\(token)`", at, help: help)
  }

  private func integer(_ token: String, _ at: SourceSpan) throws(TOMLParseError) -> Int {
    let badHelp =
      "integers are decimal (`42`, `1_000`) or start with 0x, 0o or 0b (`0x7ff0`); `_` only between digits"
    let bad = error(.toml.badNumber, "`\(token)` is not a valid integer", at, help: badHelp)
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where token.hasPrefix(prefix) {
      let digits = String(token.dropFirst(2))
      let valid = digits.allSatisfy { $0 == "_" || ($0.hexDigitValue.map { $0 < radix } ?? false) }
      guard valid, Self.underscoresValid(digits) else { throw bad }
      guard let value = Int(digits.replacingOccurrences("_", ""), radix: radix) else {
        throw error(.toml.badNumber, "`\(token)` does not fit in 64 bits", at)
      }
      return value
    }
    let body = token.first == "+" || token.first == "-" ? String(token.dropFirst()) : token
    if token.contains(":") || body.contains("-") {
      throw error(.toml.unsupported, "dates and times are not supported", at, help: "write the value as a string")
    }
    if token.contains(".") || body.contains("e") || body.contains("E") {
      throw error(.toml.unsupported, "floating-point values are not supported", at, help: "use an integer")
    }
    guard body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }), Self.underscoresValid(body) else { throw bad }
    if body.count > 1 && body.first == "0" {
      throw error(.toml.badNumber, "`\(token)` has a leading zero", at, help: "write `0x...` for hex, or drop the zero")
    }
    guard let value = Int(token.replacingOccurrences("_", "")) else {
      throw error(.toml.badNumber, "`\(token)` does not fit in 64 bits", at)
    }
    return value
  }

  /// Digits with `_` only between two digits.
  private static func underscoresValid(_ s: String) -> Bool {
    let c = Array(s)
    guard let first = c.first, let last = c.last, first != "_", last != "_" else { return false }
    for i in c.indices where c[i] == "_" && c[i + 1] == "_" { return false }
    return true
  }
}

extension String {
  fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
    var out = ""
    for c in self { if c == target { out += replacement } else { out.append(c) } }
    return out
  }
}
