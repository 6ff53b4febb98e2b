import XSMDiagnostics

/// The post-pass that makes diagnostics of an m4 tree point where the fix
/// belongs: calls passing too few arguments and apostrophes that end a
/// body's quote are reported from the scan, errors they explain are dropped,
/// and an error placed in a macro body (by `MacroExpansionMap`) gets one note
/// per call that expanded it instead of one error per call.
public enum MacroDiagnostics {
  /// The most calls listed under one diagnostic.
  static let maximumCallNotes = 12

  public static func apply(to list: DiagnosticList, map: MacroExpansionMap) -> DiagnosticList {
    let index = map.index
    let shortCalls = index.shortCalls
    let brokenDefinitions = Set(index.quoteProblems.map(\.definition))
    var result = DiagnosticList()
    for call in shortCalls { result.append(arityError(call, index)) }
    for problem in index.quoteProblems {
      result.append(quoteError(problem, called: index.expandedDefinitions.contains(problem.definition)))
    }

    // Lines where an error has a column: a line-only error of the same kind
    // there (a name m4 built from the misspelt argument) follows from it.
    let locatedErrors = Set(list.compactMap { d in
      d.span.flatMap { $0.column > 0 && d.severity == .error ? "\(d.id) \($0.file):\($0.line)" : nil }
    })
    for diagnostic in list {
      guard let span = diagnostic.span else {
        result.append(diagnostic)
        continue
      }
      if span.column == 0, locatedErrors.contains("\(diagnostic.id) \(span.file):\(span.line)") { continue }
      // What a short call's expansion breaks is placed on the call's lines.
      if shortCalls.contains(where: { $0.span.file == span.file && ($0.span.line...$0.span.endLine).contains(span.line) }) {
        continue
      }
      // A body whose quote ends early: its text, and whatever its calls output.
      if !brokenDefinitions.isDisjoint(with: map.definitionsExpanded(file: span.file, line: span.line))
        || index.definition(holding: span).map(brokenDefinitions.contains) == true
      {
        continue
      }
      // Placed in a body: one note per call chain, those through a short call or broken body left out.
      let allChains = map.chains(at: span)
      let chains = allChains.filter { chain in
        !chain.contains { brokenDefinitions.contains($0.definition) }
          && !chain.contains { frame in shortCalls.contains { $0.span == frame.call } }
      }
      if !allChains.isEmpty && chains.isEmpty { continue }
      var located = diagnostic
      located.notes += expansionNotes(chains, index)
      result.append(located)
    }
    return result
  }

  /// Diagnostics of a later pass (libsepol's) with the calls as notes when
  /// they are placed in a macro body.
  public static func withExpansionNotes(_ diagnostics: [Diagnostic], map: MacroExpansionMap?) -> [Diagnostic] {
    guard let map else { return diagnostics }
    return diagnostics.map { diagnostic in
      guard let span = diagnostic.span else { return diagnostic }
      var located = diagnostic
      located.notes += expansionNotes(map.chains(at: span), map.index)
      return located
    }
  }

  private static func arityError(_ call: MacroIndex.Call, _ index: MacroIndex) -> Diagnostic {
    let definition = index.definitions[call.definition]
    let required = definition.requiredArguments
    return Diagnostic(
      .tree.macroArity, .error,
      "`\(call.name)` takes \(required) argument\(required == 1 ? "" : "s"), \(call.argumentCount) given",
      span: call.span, label: "\(call.argumentCount) given",
      help: "its body uses `$\(definition.highestArgument)`; the missing arguments expand to nothing",
      notes: [DiagnosticNote("`\(call.name)` is defined here", span: definition.nameSpan)])
  }

  /// An error when some call expands the broken body (it outputs a stray
  /// `'` at least), else a warning: an unused macro breaks no build.
  private static func quoteError(_ problem: MacroIndex.QuoteProblem, called: Bool) -> Diagnostic {
    Diagnostic(
      .tree.m4Quote, called ? .error : .warning,
      "an apostrophe in a comment ends the quoted body of `\(problem.macro)`",
      span: problem.span, label: "closes the body's quote",
      help: "m4 has no comments inside quotes, so this `'` ends the body here and m4 reads the rest "
        + "unquoted; write the comment without an apostrophe")
  }

  /// "in expansion of `inner` (file:line), from `outer` (file:line), called from file:line", one per call.
  private static func expansionNotes(_ chains: Set<[MacroFrame]>, _ index: MacroIndex) -> [DiagnosticNote] {
    let ordered = chains.sorted { a, b in
      let (x, y) = (a[0].call, b[0].call)
      return (x.file, x.line, x.column, a.count) < (y.file, y.line, y.column, b.count)
    }
    var messages: [String] = []
    for chain in ordered {
      let macros = chain.reversed().map { "`\(index.definitions[$0.definition].name)` (\(index.location(ofDefinition: $0.definition)))" }
      let call = chain[0].call
      let message = "in expansion of \(macros.joined(separator: ", from ")), called from \(call.file):\(call.line)"
      if !messages.contains(message) { messages.append(message) }
    }
    var notes = messages.prefix(maximumCallNotes).map { DiagnosticNote($0) }
    if messages.count > maximumCallNotes {
      notes.append(DiagnosticNote("and \(messages.count - maximumCallNotes) more calls"))
    }
    return notes
  }
}
