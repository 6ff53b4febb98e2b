import Synchronization
import XSMDiagnostics

/// A macro expansion a token passed through: which macro, and the call that expanded it.
struct MacroFrame: Hashable, Sendable {
  /// Index of the definition in `MacroIndex.definitions`.
  var definition: Int
  /// The call's text (in a policy file, or in the body of the enclosing macro).
  var call: SourceSpan
}

/// A token m4 will output for a stretch of top-level text, with the text
/// that holds it: a macro body, a call's argument, or (line only, column 0)
/// the call's line when m4 builds the token (`$1_t`).
struct ExpansionToken: Sendable {
  var text: String
  var span: SourceSpan
  /// Outermost first; empty for text written at the call site.
  var frames: [MacroFrame]
}

/// Places the tokens of m4's output back in the text that holds them, and
/// remembers which expansions each placed token came through, for the notes
/// `MacroDiagnostics` adds. One map serves one parse.
public final class MacroExpansionMap: Sendable {
  public let index: MacroIndex
  private struct Record {
    /// Tokens placed through macro expansions, in lexing order (indexed on the first question).
    var placed: [ExpansionToken] = []
    /// Span start (file, line, column) of a placed token → the frame chains it came through.
    var chains: [SpanStart: Set<[MacroFrame]>] = [:]
    /// The same by line (column 0), for spans that start between tokens.
    var chainsByLine: [SpanStart: Set<[MacroFrame]>] = [:]
    /// Call line → the definitions its expansion went through.
    var expanded: [SpanStart: Set<Int>] = [:]

    mutating func indexPlaced() {
      for token in placed {
        chains[SpanStart(token.span), default: []].insert(token.frames)
        chainsByLine[SpanStart(token.span.file, token.span.line, 0), default: []].insert(token.frames)
      }
      placed = []
    }
  }
  private let record = Mutex(Record())

  public init(index: MacroIndex) { self.index = index }

  struct SpanStart: Hashable {
    var file: String
    var line: Int
    var column: Int
    init(_ span: SourceSpan) { self.init(span.file, span.line, span.column) }
    init(_ file: String, _ line: Int, _ column: Int) {
      self.file = file
      self.line = line
      self.column = column
    }
  }

  /// The tokens m4 -s outputs under `#line line "file"` for the calls that
  /// start on that line, in order; nil when no call starts there.
  func tokens(file: String, line: Int) -> [ExpansionToken]? {
    guard let regions = index.regions[file]?[line] else { return nil }
    var tokens: [ExpansionToken] = []
    for region in regions {
      var flattener = Flattener(index: index, callLine: SourceSpan(file: file, line: line, column: 0, endColumn: 0))
      flattener.flatten(file: region.file, range: region.range, arguments: [], frames: [], into: &tokens)
    }
    let definitions = Set(tokens.flatMap { $0.frames.map(\.definition) })
    record.withLock { $0.expanded[SpanStart(file, line, 0)] = definitions }
    return tokens
  }

  /// Notes that the lexer placed `token` where its text is written.
  func placed(_ token: ExpansionToken) {
    guard !token.frames.isEmpty else { return }
    record.withLock { $0.placed.append(token) }
  }

  /// The frame chains of tokens placed at `span`'s start, or else on its line
  /// (a missing `;` is placed just after a token).
  func chains(at span: SourceSpan) -> Set<[MacroFrame]> {
    record.withLock {
      $0.indexPlaced()
      return $0.chains[SpanStart(span)] ?? $0.chainsByLine[SpanStart(span.file, span.line, 0)] ?? []
    }
  }

  /// The macro calls, outermost first, that produced a statement whose first
  /// token is placed at `span`, among the expansions m4 output for the calls
  /// on `callLine`; empty when the statement is written where it stands.
  public func calls(producing span: SourceSpan, forCallOn callLine: SourceLineOrigin) -> [MacroCallSite] {
    let candidates = chains(at: span).filter { chain in
      chain.first.map { $0.call.file == callLine.file && $0.call.line == callLine.line } ?? false
    }
    guard let chain = candidates.min(by: { ($0[0].call.column, $0.count) < ($1[0].call.column, $1.count) }) else {
      return []
    }
    return chain.map { frame in
      let name = index.definitions[frame.definition].name
      return MacroCallSite(name: name, call: index.text(of: frame.call) ?? name, file: frame.call.file, line: frame.call.line)
    }
  }

  /// The definitions expanded by the calls starting on `line` of `file`.
  func definitionsExpanded(file: String, line: Int) -> Set<Int> {
    record.withLock { $0.expanded[SpanStart(file, line, 0)] ?? [] }
  }
}

/// Walks macro bodies the way m4 expands them, listing the tokens they
/// output; m4 builtins other than `ifdef`/`ifelse` output nothing it can place.
private struct Flattener {
  let index: MacroIndex
  /// Line-only span of the call line, for tokens no text holds.
  let callLine: SourceSpan
  static let maximumDepth = 24
  static let silentBuiltins: Set<String> = [
    "define", "pushdef", "undefine", "popdef", "errprint", "include", "sinclude", "divert", "undivert", "shift",
    "incr", "decr", "eval", "len", "index", "substr", "translit", "format", "defn", "indir", "builtin", "m4exit",
    "changequote", "changecom", "syscmd", "esyscmd", "patsubst", "regexp", "maketemp", "mkstemp", "traceon",
    "traceoff", "dumpdef", "m4wrap",
  ]
  static let twoCharacterOperators: Set<String> = ["==", "!=", "&&", "||"]
  static let punctuation = Set("{}();:,~*-!^=.<>[]".unicodeScalars)

  static func isPolicyWordBody(_ c: Unicode.Scalar) -> Bool {
    M4Reader.isWordBody(c) || c == "-" || c == "." || c == "$"
  }

  mutating func flatten(
    file: Int, range: Range<Int>, arguments: [[ExpansionToken]], frames: [MacroFrame],
    into tokens: inout [ExpansionToken]
  ) {
    let source = index.files[file]
    let scalars = source.scalars
    var reader = M4Reader(scalars, range: range)
    while !reader.atEnd {
      let c = reader.current
      let start = reader.offset
      if c == "`" || c == "'" || c == " " || c == "\t" || c == "\n" || c == "\r" {
        reader.offset += 1
      } else if c == "#" {
        reader.skipLine()
      } else if M4Reader.isWordStart(c) || c == "$" {
        var end = start
        while end < reader.end, Self.isPolicyWordBody(scalars[end]) { end += 1 }
        while end > start + 1, scalars[end - 1] == "." || scalars[end - 1] == "-" { end -= 1 }
        let run = source.text(start..<end)
        if run.unicodeScalars.contains("$") {
          reader.offset = end
          if let called = macroNamed(byArgument: run, arguments), !reader.atEnd, reader.current == "(" {
            // `$1(...)`, as in opt_call: a call of the macro the argument names.
            guard expandCall(called, at: start, in: file, reader: &reader, arguments, frames, into: &tokens) else { return }
          } else {
            substitute(run, arguments: arguments, frames: frames, into: &tokens)
          }
          continue
        }
        var wordReader = reader
        let word = source.text(wordReader.word())
        guard wordReader.offset == end else {
          reader.offset = end
          tokens.append(ExpansionToken(text: run, span: source.span(start..<end), frames: frames))
          continue
        }
        reader = wordReader
        let hasArguments = !reader.atEnd && reader.current == "("
        if word == "dnl" {
          reader.skipLine(includingNewline: true)
        } else if let definition = index.definitionByName[word] {
          guard expandCall(definition, at: start, in: file, reader: &reader, arguments, frames, into: &tokens) else { return }
        } else if hasArguments, word == "ifdef" || word == "ifelse" || word == "ifndef" {
          guard let parsed = reader.arguments() else { return }
          for (position, argument) in parsed.enumerated() where Self.isOutput(word, position, of: parsed.count) {
            flatten(file: file, range: argument, arguments: arguments, frames: frames, into: &tokens)
          }
        } else if hasArguments, Self.silentBuiltins.contains(word) {
          guard reader.arguments() != nil else { return }
        } else {
          tokens.append(ExpansionToken(text: word, span: source.span(start..<end), frames: frames))
        }
      } else if c >= "0" && c <= "9" {
        while !reader.atEnd, M4Reader.isWordBody(reader.current) { reader.offset += 1 }
        tokens.append(ExpansionToken(text: source.text(start..<reader.offset), span: source.span(start..<reader.offset), frames: frames))
      } else if c == "\"" {
        reader.offset += 1
        while !reader.atEnd, reader.current != "\"", reader.current != "\n" { reader.offset += 1 }
        if !reader.atEnd, reader.current == "\"" { reader.offset += 1 }
        tokens.append(ExpansionToken(text: source.text(start..<reader.offset), span: source.span(start..<reader.offset), frames: frames))
      } else {
        let pairEnd = min(start + 2, reader.end)
        let width = Self.twoCharacterOperators.contains(source.text(start..<pairEnd)) ? 2 : 1
        reader.offset += width
        tokens.append(ExpansionToken(text: source.text(start..<start + width), span: source.span(start..<start + width), frames: frames))
      }
    }
  }

  /// Expands a call of `definition` whose name starts at `start` (the reader
  /// is just after the name); false when the text ends inside its arguments.
  private mutating func expandCall(
    _ definition: Int, at start: Int, in file: Int, reader: inout M4Reader, _ arguments: [[ExpansionToken]],
    _ frames: [MacroFrame], into tokens: inout [ExpansionToken]
  ) -> Bool {
    var callArguments: [Range<Int>] = []
    if !reader.atEnd && reader.current == "(" {
      guard let parsed = reader.arguments() else { return false }
      callArguments = parsed
    }
    guard frames.count < Self.maximumDepth, !frames.contains(where: { $0.definition == definition }) else { return true }
    let source = index.files[file]
    let expandedArguments = callArguments.flatMap { argument -> [[ExpansionToken]] in
      // `shift($@)` passes the arguments after the first, each on its own.
      let text = source.text(argument)
      if ["shift($@)", "shift($*)"].contains(text) { return Array(arguments.dropFirst()) }
      // A quoted name (`opt_call(`nic_client', T)`) is passed as it is, not expanded.
      let name = text.dropFirst().dropLast()
      if text.hasPrefix("`"), text.hasSuffix("'"), index.definitionByName[String(name)] != nil {
        let inner = argument.lowerBound + 1..<argument.upperBound - 1
        return [[ExpansionToken(text: String(name), span: source.span(inner), frames: frames)]]
      }
      var argumentTokens: [ExpansionToken] = []
      flatten(file: file, range: argument, arguments: arguments, frames: frames, into: &argumentTokens)
      return [argumentTokens]
    }
    let body = index.definitions[definition]
    let frame = MacroFrame(definition: definition, call: source.span(start..<reader.offset))
    let first = tokens.count
    flatten(file: body.file, range: body.body, arguments: expandedArguments, frames: frames + [frame], into: &tokens)
    if callArguments.count < body.requiredArguments, !callArguments.contains(where: { spreadsArguments(source.text($0)) }) {
      // The call is wrong, not the body: its expansion stays on the call's line.
      let line = SourceSpan(file: source.path, line: frame.call.line, column: 0, endColumn: 0)
      for position in first..<tokens.count where tokens[position].frames.count > frames.count {
        tokens[position] = ExpansionToken(text: tokens[position].text, span: line, frames: frames)
      }
    }
    return true
  }

  /// The macro a `$N` argument names, when the argument is that one name.
  private func macroNamed(byArgument run: String, _ arguments: [[ExpansionToken]]) -> Int? {
    let scalars = Array(run.unicodeScalars)
    guard scalars.first == "$", let (number, after) = ArgumentUses.number(scalars, from: 1, to: scalars.count),
      after == scalars.count, number >= 1, number <= arguments.count, arguments[number - 1].count == 1
    else { return nil }
    return index.definitionByName[arguments[number - 1][0].text]
  }

  /// A word that uses `$N` inside (`$1_t`): m4 builds it, so no text holds it;
  /// `$N` alone stands for the argument's own tokens.
  private func substitute(_ run: String, arguments: [[ExpansionToken]], frames: [MacroFrame], into tokens: inout [ExpansionToken]) {
    let scalars = Array(run.unicodeScalars)
    if scalars.first == "$", let (number, after) = ArgumentUses.number(scalars, from: 1, to: scalars.count),
      after == scalars.count
    {
      if number >= 1, number <= arguments.count { tokens.append(contentsOf: arguments[number - 1]) }
      return
    }
    var text = ""
    var offset = 0
    while offset < scalars.count {
      if scalars[offset] == "$", let (number, after) = ArgumentUses.number(scalars, from: offset + 1, to: scalars.count) {
        if number >= 1, number <= arguments.count { text += arguments[number - 1].map(\.text).joined() }
        offset = after
      } else {
        text.unicodeScalars.append(scalars[offset])
        offset += 1
      }
    }
    tokens.append(ExpansionToken(text: text, span: callLine, frames: []))
  }

  /// The arguments of `ifdef`/`ifelse` that can be output (not the conditions).
  private static func isOutput(_ builtin: String, _ position: Int, of count: Int) -> Bool {
    !ArgumentUses.isCondition(builtin, position, of: count)
  }
}
