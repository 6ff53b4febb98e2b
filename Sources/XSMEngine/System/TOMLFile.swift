import Foundation
import XSMDiagnostics

/// What decodes the table of a TOML file the tools take (a system file, a
/// policy test file) into its value, collecting located diagnostics.
protocol TOMLDocumentDecoder {
  associatedtype Value
  init(file: String, lines: SourceLines)
  var diagnostics: [Diagnostic] { get }
  mutating func decode(_ table: TOMLTable) -> Value
}

/// The lines of a text, for the source line a diagnostic shows.
struct SourceLines: Sendable {
  private let lines: [Substring]

  init(_ text: String) {
    lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
  }

  /// The line `span` starts on, if the text has it.
  func line(of span: SourceSpan) -> String? {
    span.line >= 1 && span.line <= lines.count ? String(lines[span.line - 1]) : nil
  }
}

extension TOMLParser {
  /// Parses `text` and decodes its table with a `Decoder`; the value is nil after any error.
  static func decode<Decoder: TOMLDocumentDecoder>(_: Decoder.Type, text: String, file: String)
    -> (Decoder.Value?, [Diagnostic])
  {
    let (table, tomlDiagnostics) = parse(text: text, file: file)
    guard let table else { return (nil, tomlDiagnostics) }
    var decoder = Decoder(file: file, lines: SourceLines(text))
    let value = decoder.decode(table)
    let all = tomlDiagnostics + decoder.diagnostics
    return (all.contains { $0.severity == .error } ? nil : value, all)
  }

  /// Reads the file at `path` and decodes it; an error `id` says why a file
  /// cannot be read, `what` names the kind of file ("system file").
  static func load<Decoder: TOMLDocumentDecoder>(_: Decoder.Type, path: String, what: String, id: DiagnosticID)
    -> (Decoder.Value?, [Diagnostic])
  {
    func unreadable(_ message: String) -> (Decoder.Value?, [Diagnostic]) { (nil, [Diagnostic(id, .error, message)]) }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      return unreadable("\(what) `\(path)` not found")
    }
    guard !isDirectory.boolValue else { return unreadable("`\(path)` is a directory, not a \(what)") }
    guard let data = FileManager.default.contents(atPath: path) else { return unreadable("cannot read \(what) `\(path)`") }
    guard let text = String(data: data, encoding: .utf8) else { return unreadable("\(what) `\(path)` is not UTF-8 text") }
    return decode(Decoder.self, text: text, file: path)
  }
}
