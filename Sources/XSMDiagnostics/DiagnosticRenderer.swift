import Foundation

/// Turns diagnostics into text for people (`human`), grep-friendly single
/// lines (`plain`), or JSON objects for programs (`json`).
public struct DiagnosticRenderer: Sendable {
  public enum Format: String, Sendable, CaseIterable { case human, plain, json }

  public var format: Format
  /// ANSI colour in human output; callers enable it only for a TTY without NO_COLOR.
  public var colour: Bool
  /// Stop after this many errors and say how many more there were (0 = no cap).
  public var maxErrors: Int

  public init(format: Format = .human, colour: Bool = false, maxErrors: Int = 0) {
    self.format = format
    self.colour = colour
    self.maxErrors = maxErrors
  }

  /// Renders a whole list, sorted and capped; ends with a summary line in
  /// human and plain formats.
  public func render(_ list: DiagnosticList) -> String {
    let sorted = list.sorted()
    var shown: [Diagnostic] = []
    var errorsShown = 0
    var hiddenErrors = 0
    for diagnostic in sorted {
      if diagnostic.severity == .error {
        if maxErrors > 0 && errorsShown >= maxErrors {
          hiddenErrors += 1
          continue
        }
        errorsShown += 1
      }
      shown.append(diagnostic)
    }
    switch format {
    case .json:
      return Self.json(shown, hiddenErrors: hiddenErrors)
    case .human, .plain:
      var out = shown.map { format == .human ? human($0) : plain($0) }.joined(separator: format == .human ? "\n" : "")
      if hiddenErrors > 0 {
        out += "error: \(hiddenErrors) more error\(hiddenErrors == 1 ? "" : "s") not shown (raise --max-errors to see them)\n"
      }
      let errors = list.errorCount
      let warnings = sorted.count { $0.severity == .warning }
      if errors > 0 || warnings > 0 {
        var parts: [String] = []
        if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
        out += parts.joined(separator: ", ") + " generated\n"
      }
      return out
    }
  }

  /// `file:line:col: severity[id]: message` and nothing else.
  public func plain(_ d: Diagnostic) -> String {
    let location = d.span.map { "\($0): " } ?? ""
    var out = "\(location)\(d.severity.rawValue)[\(d.id)]: \(d.message)\n"
    if let help = d.help { out += "\(location)help: \(help)\n" }
    for fix in d.fixes { out += "\(fix.span): fix: \(Self.describe(fix))\n" }
    return out
  }

  /// The full form: header, source line with gutter and caret run, label, help and notes.
  public func human(_ d: Diagnostic) -> String {
    let location = d.span.map { "\($0): " } ?? ""
    var out = "\(location)\(paint(d.severity.rawValue, severityColour(d.severity)))\(paint("[\(d.id)]", severityColour(d.severity))): \(bold(d.message))\n"
    if let span = d.span, let line = d.sourceLine {
      out += snippet(span: span, line: line, label: d.label, caretColour: severityColour(d.severity))
    }
    if let help = d.help { out += "  = \(paint("help", "36")): \(help)\n" }
    for fix in d.fixes { out += "  = \(paint("fix", "32")): \(fix.span): \(Self.describe(fix))\n" }
    for note in d.notes {
      if let span = note.span {
        out += "  = \(paint("note", "34")): \(span): \(note.message)\n"
        if let line = note.sourceLine { out += snippet(span: span, line: line, label: nil, caretColour: "34") }
      } else {
        out += "  = \(paint("note", "34")): \(note.message)\n"
      }
    }
    return out
  }

  /// `replace `psr_cat_op` with `psr_alloc``, or `remove `x``.
  public static func describe(_ fix: FixIt) -> String {
    fix.replacement.isEmpty
      ? "remove `\(fix.original)`" : "replace `\(fix.original)` with `\(fix.replacement)`"
  }

  private func snippet(span: SourceSpan, line: String, label: String?, caretColour: String) -> String {
    let number = String(span.line)
    let pad = String(repeating: " ", count: number.count)
    let text = line.replacingOccurrences(of: "\t", with: " ")
    let width = text.count
    let start = max(1, min(span.column, width + 1))
    let end = span.endLine == span.line ? max(start + 1, min(span.endColumn, width + 1)) : max(start + 1, width + 1)
    let carets = String(repeating: " ", count: start - 1) + String(repeating: "^", count: end - start)
    var out = " \(pad) |\n"
    out += " \(number) | \(text)\n"
    if span.column == 0 {
      // The line only: no carets under text that does not hold the problem.
      if let label { out += " \(pad) | \(paint(label, caretColour))\n" }
      return out
    }
    out += " \(pad) | \(paint(carets, caretColour))\(label.map { " " + paint($0, caretColour) } ?? "")\n"
    return out
  }

  private func severityColour(_ s: Severity) -> String {
    switch s {
    case .error: "31"
    case .warning: "33"
    case .note: "34"
    }
  }
  private func paint(_ s: String, _ code: String) -> String { colour ? "\u{1B}[1;\(code)m\(s)\u{1B}[0m" : s }
  private func bold(_ s: String) -> String { colour ? "\u{1B}[1m\(s)\u{1B}[0m" : s }

  /// A JSON document: `{"diagnostics":[...], "errors":N, "warnings":N, "not_shown":N}` with sorted keys.
  public static func json(_ diagnostics: [Diagnostic], hiddenErrors: Int = 0) -> String {
    struct Document: Encodable {
      var diagnostics: [Diagnostic]
      var errors: Int
      var warnings: Int
      var notShown: Int
      enum CodingKeys: String, CodingKey {
        case diagnostics, errors, warnings
        case notShown = "not_shown"
      }
    }
    let document = Document(
      diagnostics: diagnostics, errors: diagnostics.count { $0.severity == .error } + hiddenErrors,
      warnings: diagnostics.count { $0.severity == .warning }, notShown: hiddenErrors)
    guard let data = try? JSONStyle.encoder().encode(document), let text = String(data: data, encoding: .utf8) else {
      return "{\"diagnostics\":[],\"errors\":\(document.errors)}\n"
    }
    return text + "\n"
  }
}
