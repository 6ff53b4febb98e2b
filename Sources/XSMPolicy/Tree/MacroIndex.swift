import XSMDiagnostics

/// One input of m4: a path (as diagnostics should name it) and its text.
/// The text may come from disk or be synthesized; the index does not care.
public struct M4Input: Sendable {
  public var path: String
  public var text: String

  public init(path: String, text: String) {
    self.path = path
    self.text = text
  }
}

/// What a linear, m4-aware scan of a policy tree's files finds: the macros
/// defined with `define(`NAME', `BODY')` (where each body sits in its file),
/// the calls of those macros (with their argument counts), and apostrophes in
/// `#` comments that end a body's quote early.
///
/// The scan follows m4's reading rules (nested `` ` ``…`'` quotes, `#`
/// comments outside quotes, `dnl`, arguments split at top-level commas) but
/// expands nothing; `MacroExpansionMap` uses it to place tokens of m4's
/// output back in the text that holds them.
public struct MacroIndex: Sendable {
  /// One scanned file: its scalars and where its lines start.
  struct File: Sendable {
    var path: String
    var scalars: [Unicode.Scalar]
    var lineStarts: [Int]

    init(_ input: M4Input) {
      path = input.path
      scalars = Array(input.text.unicodeScalars)
      lineStarts = [0]
      for (offset, scalar) in scalars.enumerated() where scalar == "\n" { lineStarts.append(offset + 1) }
    }

    /// 1-based line and column of a scalar offset.
    func position(_ offset: Int) -> (line: Int, column: Int) {
      var low = 0
      var high = lineStarts.count - 1
      while low < high {
        let mid = (low + high + 1) / 2
        if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
      }
      return (low + 1, offset - lineStarts[low] + 1)
    }

    /// The span of `range` (which may run over several lines).
    func span(_ range: Range<Int>) -> SourceSpan {
      let start = position(range.lowerBound)
      let end = position(max(range.lowerBound, range.upperBound))
      return SourceSpan(file: path, line: start.line, column: start.column, endLine: end.line, endColumn: end.column)
    }

    func text(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[range])) }
  }

  /// A macro defined with `define`, and what its body asks of a call.
  public struct Definition: Sendable {
    public var name: String
    /// Where `NAME` is written in `define(`NAME', ...)`.
    public var nameSpan: SourceSpan
    /// The highest `$N` the body uses (0 when none).
    public var highestArgument: Int
    /// Arguments a call must pass: `highestArgument`, or fewer when the body
    /// tests an argument with `ifelse`, and 0 when it uses `$#`, `$@`, `$*` or `shift`.
    public var requiredArguments: Int
    let file: Int
    /// The body's scalars in its file (without the quotes around it).
    let body: Range<Int>
  }

  /// A call of a defined macro, at the top level or in a macro body.
  public struct Call: Sendable {
    public var name: String
    /// From the macro's name to the closing parenthesis.
    public var span: SourceSpan
    /// How many arguments m4 sees (`f()` passes one, empty; `f` passes none).
    public var argumentCount: Int
    let definition: Int
    /// The definition whose body holds the call; nil outside bodies.
    let enclosingDefinition: Int?
    /// Macros an argument names in quotes (`opt_call(`nic_client', T)` may call `nic_client`).
    let namedMacros: [Int]
  }

  /// An apostrophe in a `#` comment inside a `define` body, which ends the
  /// body's quote there (m4 has no comments inside quotes).
  public struct QuoteProblem: Sendable {
    public var macro: String
    public var span: SourceSpan
    let definition: Int
  }

  /// A stretch of top-level text whose expansion m4 -s attributes to one
  /// line: a macro call, or an `ifdef`/`ifelse` whose arguments hold calls.
  struct Region: Sendable {
    var file: Int
    var range: Range<Int>
  }

  var files: [File] = []
  public internal(set) var definitions: [Definition] = []
  public internal(set) var calls: [Call] = []
  public internal(set) var quoteProblems: [QuoteProblem] = []
  /// The latest definition of each name.
  var definitionByName: [String: Int] = [:]
  /// Regions by file path and the line m4 -s names for their output.
  var regions: [String: [Int: [Region]]] = [:]
  /// Definitions some call reaches (see `reachableDefinitions`).
  var expandedDefinitions: Set<Int> = []

  /// The text of a definition's body, as written (without the quotes around it).
  public func bodyText(of definition: Definition) -> String { files[definition.file].text(definition.body) }

  /// The macros that define a macro: `define`, and in refpolicy-style trees
  /// also `interface` and `template` (`NAME`, then `BODY`, as `define` takes them).
  public internal(set) var definers: Set<String> = ["define"]

  /// Scans the files in m4's order (definitions are known from where they are made).
  public init(scanning inputs: [M4Input], definers: Set<String> = ["define"]) {
    self.definers = definers
    for input in inputs {
      files.append(File(input))
      var scanner = TopLevelScanner(index: self, file: files.count - 1)
      scanner.scan()
      self = scanner.index
    }
    for (number, definition) in definitions.enumerated() {
      var scanner = TopLevelScanner(index: self, file: definition.file)
      scanner.scan(body: number)
      self = scanner.index
    }
    expandedDefinitions = reachableDefinitions()
  }

  /// The definitions some call outside them reaches, directly, through other
  /// bodies, or by a quoted name (`opt_call`).
  private func reachableDefinitions() -> Set<Int> {
    let callees = Dictionary(grouping: calls, by: \.enclosingDefinition)
      .mapValues { $0.flatMap { [$0.definition] + $0.namedMacros } }
    var reached = Set<Int>()
    var pending = callees[nil] ?? []
    while let next = pending.popLast() {
      guard reached.insert(next).inserted else { continue }
      pending += callees[next] ?? []
    }
    return reached
  }

  /// The calls that pass fewer arguments than their macro's body uses, in
  /// bodies only when some call reaches that body (an unused macro breaks nothing).
  public var shortCalls: [Call] {
    calls.filter { call in
      call.argumentCount < definitions[call.definition].requiredArguments
        && call.enclosingDefinition.map(expandedDefinitions.contains) ?? true
    }
  }

  /// The definition whose body holds `span`'s start, if any.
  func definition(holding span: SourceSpan) -> Int? {
    for (number, definition) in definitions.enumerated() where files[definition.file].path == span.file {
      let file = files[definition.file]
      let start = file.position(definition.body.lowerBound)
      let end = file.position(definition.body.upperBound)
      if (start.line, start.column) <= (span.line, max(span.column, 1)) && (span.line, span.column) <= (end.line, end.column) {
        return number
      }
    }
    return nil
  }

  /// The text `span` covers in a scanned file, whitespace runs collapsed to one space.
  func text(of span: SourceSpan) -> String? {
    guard let file = files.first(where: { $0.path == span.file }), span.line >= 1, span.endLine <= file.lineStarts.count
    else { return nil }
    let start = file.lineStarts[span.line - 1] + max(span.column, 1) - 1
    let end = min(file.lineStarts[span.endLine - 1] + max(span.endColumn, 1) - 1, file.scalars.count)
    guard start < end else { return nil }
    return file.text(start..<end).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
  }

  /// `file:line` of a definition, as notes print it.
  func location(ofDefinition number: Int) -> String {
    "\(definitions[number].nameSpan.file):\(definitions[number].nameSpan.line)"
  }
}

/// Reads m4 syntax from one file of the index.
struct M4Reader {
  let scalars: [Unicode.Scalar]
  var offset: Int
  let end: Int

  init(_ scalars: [Unicode.Scalar], range: Range<Int>) {
    self.scalars = scalars
    offset = range.lowerBound
    end = range.upperBound
  }

  var atEnd: Bool { offset >= end }
  var current: Unicode.Scalar { scalars[offset] }
  func peek(_ ahead: Int = 1) -> Unicode.Scalar? { offset + ahead < end ? scalars[offset + ahead] : nil }

  static func isWordStart(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
  static func isWordBody(_ c: Unicode.Scalar) -> Bool { isWordStart(c) || (c >= "0" && c <= "9") }

  /// At `` ` ``: moves past the matching `'` (quotes nest).
  mutating func skipQuoted() {
    var depth = 0
    while !atEnd {
      let c = current
      offset += 1
      if c == "`" { depth += 1 } else if c == "'" {
        depth -= 1
        if depth == 0 { return }
      }
    }
  }

  /// At `#` (or `dnl`): moves to the newline ending the line (`dnl` also eats it).
  mutating func skipLine(includingNewline: Bool = false) {
    while !atEnd && current != "\n" { offset += 1 }
    if includingNewline && !atEnd { offset += 1 }
  }

  /// At a word start: the word's range.
  mutating func word() -> Range<Int> {
    let start = offset
    while !atEnd && M4Reader.isWordBody(current) { offset += 1 }
    return start..<offset
  }

  /// At `(`: the ranges of the arguments (leading whitespace skipped, as m4
  /// does) and leaves the reader after the closing `)`; nil when the text ends first.
  mutating func arguments() -> [Range<Int>]? {
    offset += 1
    var result: [Range<Int>] = []
    var depth = 0
    func skipBlanks(_ reader: inout M4Reader) {
      while !reader.atEnd, [" ", "\t", "\n", "\r"].contains(reader.current) { reader.offset += 1 }
    }
    skipBlanks(&self)
    var start = offset
    while !atEnd {
      let c = current
      if c == "`" {
        skipQuoted()
        continue
      }
      if c == "#" {
        skipLine()
        continue
      }
      if c == "(" {
        depth += 1
      } else if c == ")" {
        if depth == 0 {
          result.append(start..<offset)
          offset += 1
          return result
        }
        depth -= 1
      } else if c == "," && depth == 0 {
        result.append(start..<offset)
        offset += 1
        skipBlanks(&self)
        start = offset
        continue
      }
      offset += 1
    }
    return nil
  }
}

/// The top-level scan of one file: definitions, calls, regions.
private struct TopLevelScanner {
  var index: MacroIndex
  let file: Int
  /// The definition whose body is being scanned.
  var enclosing: Int?
  static let conditionals: Set<String> = ["ifdef", "ifelse", "ifndef"]

  init(index: MacroIndex, file: Int) {
    self.index = index
    self.file = file
  }

  var source: MacroIndex.File { index.files[file] }

  mutating func scan() {
    let scalars = source.scalars
    scan(M4Reader(scalars, range: 0..<scalars.count), .topLevel)
  }

  /// Records the calls in a macro body (m4 finds them when the macro is
  /// called, so every definition of the tree is known by then).
  mutating func scan(body definition: Int) {
    enclosing = definition
    scan(M4Reader(source.scalars, range: index.definitions[definition].body), .body)
  }

  /// Where scanned text sits: calls at the top level make regions; in a
  /// conditional's arguments or a macro body they are only recorded, and a
  /// body's `define`s are not made until the macro is called.
  private enum Context { case topLevel, conditional, body }

  /// Scans `reader`'s text as m4 reads it.
  private mutating func scan(_ start: M4Reader, _ context: Context) {
    var reader = start
    while !reader.atEnd {
      let c = reader.current
      if c == "`" {
        reader.skipQuoted()
      } else if c == "#" {
        reader.skipLine()
      } else if M4Reader.isWordStart(c) {
        let wordRange = reader.word()
        let name = source.text(wordRange)
        if name == "dnl" {
          reader.skipLine(includingNewline: true)
        } else if index.definers.contains(name), !reader.atEnd, reader.current == "(" {
          guard let arguments = reader.arguments() else { return }
          if context != .body { define(arguments) }
        } else if Self.conditionals.contains(name), !reader.atEnd, reader.current == "(" {
          guard let arguments = reader.arguments() else { return }
          if context == .topLevel { addRegion(wordRange.lowerBound..<reader.offset) }
          for (position, argument) in arguments.enumerated()
          where !ArgumentUses.isCondition(name, position, of: arguments.count) {
            scan(M4Reader(source.scalars, range: unquoted(argument)), context == .body ? .body : .conditional)
          }
        } else if let definition = index.definitionByName[name] {
          var arguments: [Range<Int>] = []
          if !reader.atEnd, reader.current == "(" {
            guard let parsed = reader.arguments() else { return }
            arguments = parsed
          }
          let range = wordRange.lowerBound..<reader.offset
          // In a body, `$@` and `$*` pass any number of arguments.
          if context == .body, arguments.contains(where: { spreadsArguments(source.text($0)) }) { continue }
          let named = arguments.compactMap { index.definitionByName[source.text(unquoted($0))] }
          index.calls.append(
            MacroIndex.Call(name: name, span: source.span(range), argumentCount: arguments.count, definition: definition,
              enclosingDefinition: enclosing, namedMacros: named))
          if context == .topLevel { addRegion(range) }
        }
      } else {
        reader.offset += 1
      }
    }
  }

  private mutating func addRegion(_ range: Range<Int>) {
    let line = source.position(range.lowerBound).line
    index.regions[source.path, default: [:]][line, default: []].append(
      MacroIndex.Region(file: file, range: range))
  }

  /// The inside of an argument that is one quoted string; else the argument.
  private func unquoted(_ range: Range<Int>) -> Range<Int> {
    let scalars = source.scalars
    var end = range.upperBound
    while end > range.lowerBound, [" ", "\t", "\n", "\r"].contains(scalars[end - 1]) { end -= 1 }
    guard end - range.lowerBound >= 2, scalars[range.lowerBound] == "`", scalars[end - 1] == "'" else { return range }
    var reader = M4Reader(scalars, range: range.lowerBound..<end)
    reader.skipQuoted()
    return reader.offset == end ? range.lowerBound + 1..<end - 1 : range
  }

  private mutating func define(_ arguments: [Range<Int>]) {
    guard let nameArgument = arguments.first else { return }
    let nameRange = unquoted(nameArgument)
    let name = source.text(nameRange)
    guard let first = name.unicodeScalars.first, M4Reader.isWordStart(first),
      name.unicodeScalars.allSatisfy(M4Reader.isWordBody)
    else { return }
    let bodyArgument = arguments.count > 1 ? arguments[1] : nameArgument.upperBound..<nameArgument.upperBound
    let body = unquoted(bodyArgument)
    let number = index.definitions.count
    if body == bodyArgument, let problem = earlyQuoteEnd(in: bodyArgument) {
      index.quoteProblems.append(MacroIndex.QuoteProblem(macro: name, span: source.span(problem..<problem + 1), definition: number))
    }
    let uses = ArgumentUses(source.scalars, body)
    index.definitions.append(
      MacroIndex.Definition(name: name, nameSpan: source.span(nameRange), highestArgument: uses.highest,
        requiredArguments: uses.required, file: file, body: body))
    index.definitionByName[name] = number
  }

  /// In a body argument that starts with a quote but does not end with its
  /// match: the apostrophe that ended the quote, when it sits after a `#` on its line.
  private func earlyQuoteEnd(in range: Range<Int>) -> Int? {
    let scalars = source.scalars
    guard range.lowerBound < range.upperBound, scalars[range.lowerBound] == "`" else { return nil }
    var depth = 0
    var commentOnLine = false
    for offset in range {
      let c = scalars[offset]
      if c == "\n" {
        commentOnLine = false
      } else if c == "#", offset == range.lowerBound || scalars[offset - 1] != "$" {
        commentOnLine = true
      } else if c == "`" {
        depth += 1
      } else if c == "'" {
        depth -= 1
        if depth == 0 { return commentOnLine ? offset : nil }
      }
    }
    return nil
  }
}

/// True when an argument's text passes on all of a macro's arguments (`$@`, `$*`).
func spreadsArguments(_ text: String) -> Bool { text.contains("$@") || text.contains("$*") }

/// Which `$N` a macro body uses, and so how many arguments a call must pass.
struct ArgumentUses {
  var highest = 0
  var required = 0

  init(_ scalars: [Unicode.Scalar], _ body: Range<Int>) {
    var takesAnyCount = false
    var offset = body.lowerBound
    while offset < body.upperBound {
      let c = scalars[offset]
      if c == "$", offset + 1 < body.upperBound {
        let next = scalars[offset + 1]
        if next == "#" || next == "@" || next == "*" { takesAnyCount = true }
        if let (number, after) = Self.number(scalars, from: offset + 1, to: body.upperBound) {
          highest = max(highest, number)
          offset = after
          continue
        }
      } else if M4Reader.isWordStart(c), offset == body.lowerBound || !M4Reader.isWordBody(scalars[offset - 1]) {
        var reader = M4Reader(scalars, range: offset..<body.upperBound)
        let word = String(String.UnicodeScalarView(scalars[reader.word()]))
        if word == "shift" { takesAnyCount = true }
        offset = reader.offset
        continue
      }
      offset += 1
    }
    required = takesAnyCount ? 0 : min(highest, (Self.lowestTested(scalars, body) ?? highest + 1) - 1)
  }

  /// The decimal number at `from` (an argument number), and the offset after it.
  static func number(_ scalars: [Unicode.Scalar], from: Int, to end: Int) -> (Int, Int)? {
    var offset = from
    var value = 0
    while offset < end, scalars[offset] >= "0", scalars[offset] <= "9" {
      value = value * 10 + Int(scalars[offset].value - 48)
      offset += 1
    }
    return offset > from ? (value, offset) : nil
  }

  /// The lowest `$N` (N ≥ 1) in a condition of an `ifelse` or `ifdef` in the
  /// body: such an argument may be left out on purpose.
  static func lowestTested(_ scalars: [Unicode.Scalar], _ body: Range<Int>) -> Int? {
    var lowest: Int?
    var offset = body.lowerBound
    while offset < body.upperBound {
      guard M4Reader.isWordStart(scalars[offset]), offset == body.lowerBound || !M4Reader.isWordBody(scalars[offset - 1])
      else {
        offset += 1
        continue
      }
      var reader = M4Reader(scalars, range: offset..<body.upperBound)
      let word = String(String.UnicodeScalarView(scalars[reader.word()]))
      offset = reader.offset
      guard word == "ifelse" || word == "ifdef" || word == "ifndef", !reader.atEnd, reader.current == "(",
        let arguments = reader.arguments()
      else { continue }
      for (position, argument) in arguments.enumerated() where isCondition(word, position, of: arguments.count) {
        var scan = argument.lowerBound
        while scan < argument.upperBound {
          if scalars[scan] == "$", let (number, after) = number(scalars, from: scan + 1, to: argument.upperBound) {
            if number >= 1 { lowest = min(lowest ?? number, number) }
            scan = after
          } else {
            scan += 1
          }
        }
      }
    }
    return lowest
  }

  /// ifelse(a, b, then, a2, b2, then2, ..., else): the a and b are conditions;
  /// ifdef(name, then, else): the name.
  static func isCondition(_ builtin: String, _ position: Int, of count: Int) -> Bool {
    guard builtin == "ifelse" else { return position == 0 }
    let isElse = position > 0 && position == count - 1 && position % 3 == 0
    return position % 3 != 2 && !isElse
  }
}
