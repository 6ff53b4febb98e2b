import Foundation
import XSMDiagnostics

/// Where policy source comes from: one policy.conf, text in memory, or a
/// Xen-style tree that is expanded with m4 first.
public enum PolicySource: Sendable {
  case file(String)
  case text(name: String, text: String)
  case tree(String)

  /// A file path or a tree directory, decided by what is on disk.
  public static func path(_ path: String) -> PolicySource {
    PolicyTree.isTree(path) ? .tree(path) : .file(path)
  }

  public var displayName: String {
    switch self {
    case .file(let p), .tree(let p): p
    case .text(let name, _): name
    }
  }
}

/// The outcome of the front end's passes (expand → parse → resolve/check → lower).
public struct FrontendResult: Sendable {
  /// The policy.conf text the parser read (m4 output for trees).
  public var expandedText: String?
  /// How the tree was read (layout, m4 inputs), when the input is a tree.
  public var tree: PolicyTree?
  /// The statements after the op rules were expanded (as parsed when there were none).
  public var syntax: PolicySyntax?
  /// The statements as parsed, when op rules changed them afterwards.
  public var parsedSyntax: PolicySyntax?
  public var model: PolicyModel?
  public var cil: CILOutput?
  public var diagnostics: DiagnosticList
  /// Wall time of each pass that ran.
  public var timings: [(pass: FrontendPass, seconds: Double)] = []
  /// The source map used, to attach source lines to later diagnostics.
  public var sourceMap: SourceMap
  /// Where the tokens of m4's macro expansions are written (trees only).
  public var macroExpansions: MacroExpansionMap?
  /// What each op rule expanded to, in source order.
  public var opRuleExpansions: [(span: SourceSpan, text: String)] = []

  /// The expanded policy.conf with every op rule replaced by a comment
  /// holding the rule and the class rules it stands for.
  public var expandedTextWithOpRules: String? {
    guard let expandedText, !opRuleExpansions.isEmpty else { return expandedText }
    return OpRuleText.substitute(opRuleExpansions.map(\.text), into: expandedText)
  }
}

/// Finds op rules in policy text and replaces them, in order, with their expansions.
enum OpRuleText {
  static func substitute(_ expansions: [String], into text: String) -> String {
    var out = ""
    var rest = Substring(text)
    var remaining = expansions[...]
    while let next = remaining.first, let range = nextOpRule(in: rest) {
      out += rest[..<range.lowerBound]
      let rule = rest[range].split(whereSeparator: \.isNewline).joined(separator: " ")
      out += "# op rule: \(rule)\n" + next
      rest = rest[range.upperBound...]
      remaining = remaining.dropFirst()
    }
    out += rest
    if !remaining.isEmpty {
      out += "\n# op rules the text scan could not place:\n" + remaining.joined()
    }
    return out
  }

  /// The range of the next `KIND ... : op ... ;` statement. Statements
  /// start after `;`, `{` or `}` (a conditional block); comments are skipped.
  private static func nextOpRule(in text: Substring) -> Range<Substring.Index>? {
    let kinds: Set<Substring> = ["allow", "auditallow", "dontaudit", "neverallow"]
    func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
    var search = text.startIndex
    while let semicolon = text[search...].firstIndex(of: ";") {
      // Candidate starts: the segment start and just after every `{` or `}` in it.
      var starts = [search]
      var i = search
      while i < semicolon {
        if text[i] == "{" || text[i] == "}" { starts.append(text.index(after: i)) }
        i = text.index(after: i)
      }
      for candidate in starts {
        var start = candidate
        while start < semicolon {
          if isSpace(text[start]) {
            start = text.index(after: start)
          } else if text[start] == "#" {
            start = text[start..<semicolon].firstIndex(of: "\n").map { text.index(after: $0) } ?? semicolon
          } else {
            break
          }
        }
        let statement = text[start..<semicolon]
        guard let first = statement.split(whereSeparator: isSpace).first, kinds.contains(first),
          let colon = statement.firstIndex(of: ":")
        else { continue }
        let afterColon = statement[statement.index(after: colon)...].drop(while: isSpace)
        if afterColon.prefix(while: { $0.isLetter || $0 == "_" }) == "op" {
          return start..<text.index(after: semicolon)
        }
      }
      search = text.index(after: semicolon)
    }
    return nil
  }
}

/// Runs the named passes of the policy front end in order, collecting every
/// diagnostic. A pass runs only when the passes before it produced no error
/// that would make its output meaningless.
public enum PolicyFrontend {
  /// The error for op rules in a build that has no op catalog.
  public static var noCatalogDiagnostic: Diagnostic {
    Diagnostic(.op.noCatalog, .error, "the policy uses op rules but no op catalog is loaded", help: "pass `--catalog DIR`")
  }

  public static func run(_ source: PolicySource, options: CheckOptions, lower: Bool = true) -> FrontendResult {
    let clock = ContinuousClock()
    var timings: [(FrontendPass, Double)] = []
    func time<T>(_ name: FrontendPass, _ body: () -> T) -> T {
      let start = clock.now
      let value = body()
      timings.append((name, (clock.now - start) / .seconds(1)))
      return value
    }
    var diagnostics = DiagnosticList()
    let map: SourceMap
    let text: String
    var macroNames: Set<String> = []
    var tree: PolicyTree?
    var macros: MacroExpansionMap?
    switch source {
    case .text(let name, let body):
      map = SourceMap(primaryFile: name)
      map.register(file: name, text: body)
      text = body
    case .file(let path):
      map = SourceMap(primaryFile: path)
      guard let body = readText(path, limit: options.maxInputSize, into: &diagnostics) else {
        return FrontendResult(diagnostics: diagnostics, sourceMap: map)
      }
      map.register(file: path, text: body)
      text = body
    case .tree(let directory):
      map = SourceMap(primaryFile: directory)
      let (expanded, treeDiagnostics) = time(.expand) { () -> (String?, [Diagnostic]) in
        let (plan, loadDiagnostics) = PolicyTree.load(directory: directory, options: options.tree, mls: options.mls)
        tree = plan
        if loadDiagnostics.contains(where: { $0.severity == .error }) { return (nil, loadDiagnostics) }
        let (output, m4Diagnostics) = plan.expand(map: map)
        // The texts read for the index also serve the diagnostics' source lines.
        let sources = plan.macroInputs()
        for source in sources { map.register(file: source.path, text: source.text) }
        let index = plan.macroIndex(sources)
        macroNames = Set(index.definitions.map(\.name))
        macros = MacroExpansionMap(index: index)
        return (output, loadDiagnostics + m4Diagnostics)
      }
      diagnostics.append(contentsOf: treeDiagnostics)
      guard let expanded, !diagnostics.hasErrors else {
        if let macros { diagnostics = MacroDiagnostics.apply(to: diagnostics, map: macros) }
        var result = FrontendResult(diagnostics: attach(diagnostics, map), timings: timings, sourceMap: map)
        result.tree = tree
        return result
      }
      text = expanded
    }
    // A file's size was checked before it was read; text in memory and m4's output are checked here.
    if text.utf8.count > options.maxInputSize {
      let what = if case .tree = source { "m4's output for `\(source.displayName)`" } else { "`\(source.displayName)`" }
      diagnostics.append(tooLarge(what, bytes: text.utf8.count, limit: options.maxInputSize))
      var result = FrontendResult(diagnostics: diagnostics, timings: timings, sourceMap: map)
      result.tree = tree
      return result
    }

    let file = source.displayName
    var (syntax, parseDiagnostics) = time(.parse) { Parser.parse(text: text, file: file, map: map, macros: macros) }
    diagnostics.append(contentsOf: improveMacroHints(parseDiagnostics, macroNames: macroNames))
    var opRuleExpansions: [(span: SourceSpan, text: String)] = []
    var parsedSyntax: PolicySyntax?
    if syntax.containsOpRules {
      parsedSyntax = syntax
      if let expander = options.opRules {
        let expansion = time(.ops) { expander.expand(syntax) }
        syntax = expansion.syntax
        opRuleExpansions = expansion.expansions
        diagnostics.append(contentsOf: expansion.diagnostics)
      } else {
        diagnostics.append(noCatalogDiagnostic)
      }
    }
    let (model, checkDiagnostics) = time(.resolve) { Resolver.check(syntax, options: options) }
    diagnostics.append(contentsOf: checkDiagnostics)
    if let macros { diagnostics = MacroDiagnostics.apply(to: diagnostics, map: macros) }
    var result = FrontendResult(
      expandedText: text, syntax: syntax, model: model, diagnostics: diagnostics, timings: timings, sourceMap: map)
    result.opRuleExpansions = opRuleExpansions
    result.macroExpansions = macros
    result.parsedSyntax = parsedSyntax
    result.tree = tree
    if lower && !diagnostics.hasErrors {
      let (cil, lowerDiagnostics) = time(.lower) { CILLowering.lower(model) }
      result.cil = cil
      result.diagnostics.append(contentsOf: lowerDiagnostics)
    }
    result.timings = timings
    result.diagnostics = attach(withoutFollowOnWarnings(result.diagnostics), map)
    return result
  }

  private static func readText(_ path: String, limit: Int, into diagnostics: inout DiagnosticList) -> String? {
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
      diagnostics.append(tooLarge("`\(path)`", bytes: size, limit: limit))
      return nil
    }
    var problems: [Diagnostic] = []
    let text = UTF8Text.read(path, help: "a policy is text; is this a binary policy?", into: &problems)
    diagnostics.append(contentsOf: problems)
    return text
  }

  /// The error for policy text larger than `--max-input-size`.
  private static func tooLarge(_ what: String, bytes: Int, limit: Int) -> Diagnostic {
    Diagnostic(.io.tooLarge, .error, "\(what) is \(bytes) bytes, more than the limit of \(limit) bytes",
      help: "raise the limit with `--max-input-size BYTES` if the policy really is this large")
  }

  /// An unknown "statement" that is really a misspelt or undefined m4 macro
  /// gets a hint naming the macro the tree defines.
  private static func improveMacroHints(_ diagnostics: [Diagnostic], macroNames: Set<String>) -> [Diagnostic] {
    guard !macroNames.isEmpty else { return diagnostics }
    return diagnostics.map { d in
      guard d.id == .parse.unknownStatement, let span = d.span else { return d }
      var copy = d
      let word = d.message.split(separator: "`").dropFirst().first.map(String.init) ?? ""
      if let macro = Suggestion.closest(to: word, in: macroNames) {
        copy.message = "unknown statement or macro `\(word)`"
        copy.help = "did you mean the macro `\(macro)`?"
      } else {
        copy.help = (d.help.map { $0 + "; " } ?? "") + "no m4 macro of that name is defined in the tree"
      }
      copy.span = span
      return copy
    }
  }

  /// Drops warnings whose span overlaps an error's: they follow from that
  /// error (a rule with an unknown permission grants nothing, for one).
  static func withoutFollowOnWarnings(_ list: DiagnosticList) -> DiagnosticList {
    let errorSpans = list.items.filter { $0.severity == .error }.compactMap(\.span)
    guard !errorSpans.isEmpty else { return list }
    func overlap(_ a: SourceSpan, _ b: SourceSpan) -> Bool {
      guard a.file == b.file, a.line <= b.endLine, b.line <= a.endLine else { return false }
      guard a.line == a.endLine, b.line == b.endLine, a.column > 0, b.column > 0 else { return true }
      return a.column < max(b.endColumn, b.column + 1) && b.column < max(a.endColumn, a.column + 1)
    }
    return DiagnosticList(list.items.filter { diagnostic in
      guard diagnostic.severity == .warning, let span = diagnostic.span else { return true }
      return !errorSpans.contains { overlap($0, span) }
    })
  }

  /// Fills in the source line of every diagnostic (and note) that has a span.
  public static func attach(_ list: DiagnosticList, _ map: SourceMap) -> DiagnosticList {
    DiagnosticList(list.items.map { d in
      var copy = d
      if copy.sourceLine == nil, let span = copy.span { copy.sourceLine = map.line(span.line, of: span.file) }
      copy.notes = copy.notes.map { note in
        var n = note
        if n.sourceLine == nil, let span = n.span { n.sourceLine = map.line(span.line, of: span.file) }
        return n
      }
      return copy
    })
  }
}
