/// How serious a diagnostic is. Only errors fail a build.
public enum Severity: String, Sendable, Codable, Comparable {
  case error, warning, note

  private var rank: Int {
    switch self {
    case .error: 0
    case .warning: 1
    case .note: 2
    }
  }
  public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// A secondary message attached to a diagnostic, optionally pointing at
/// another place ("first declared here").
public struct DiagnosticNote: Hashable, Sendable, Codable {
  public var message: String
  public var span: SourceSpan?
  public var sourceLine: String?

  public init(_ message: String, span: SourceSpan? = nil, sourceLine: String? = nil) {
    self.message = message
    self.span = span
    self.sourceLine = sourceLine
  }

  enum CodingKeys: String, CodingKey {
    case message, span
    case sourceLine = "source_line"
  }
}

/// A machine-applicable fix: replace the text `span` covers (which reads
/// `original`) with `replacement`. An editor or `xsmc port` applies it only
/// when the text there still reads `original`.
public struct FixIt: Hashable, Sendable, Codable {
  public var span: SourceSpan
  public var original: String
  public var replacement: String

  public init(span: SourceSpan, original: String, replacement: String) {
    self.span = span
    self.original = original
    self.replacement = replacement
  }
}

/// One problem found in the input: what, where, and how to fix it.
///
/// Messages start lowercase, have no final period, and put user names in
/// backticks. `sourceLine` carries the text of the line the span points into,
/// so a diagnostic renders without re-reading files.
public struct Diagnostic: Hashable, Sendable, Codable {
  public var id: DiagnosticID
  public var severity: Severity
  public var message: String
  public var span: SourceSpan?
  /// A short label printed after the caret run.
  public var label: String?
  public var help: String?
  public var notes: [DiagnosticNote]
  /// Edits that fix the problem (a renamed permission's new name, say); often none.
  public var fixes: [FixIt]
  public var sourceLine: String?

  public init(
    _ id: DiagnosticID, _ severity: Severity = .error, _ message: String, span: SourceSpan? = nil,
    label: String? = nil, help: String? = nil, notes: [DiagnosticNote] = [], fixes: [FixIt] = [],
    sourceLine: String? = nil
  ) {
    self.id = id
    self.severity = severity
    self.message = message
    self.span = span
    self.label = label
    self.help = help
    self.notes = notes
    self.fixes = fixes
    self.sourceLine = sourceLine
  }

  enum CodingKeys: String, CodingKey {
    case id, severity, message, span, label, help, notes, fixes
    case sourceLine = "source_line"
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    id = try container.decode(DiagnosticID.self, forKey: .id)
    severity = try container.decode(Severity.self, forKey: .severity)
    message = try container.decode(String.self, forKey: .message)
    span = try container.decodeIfPresent(SourceSpan.self, forKey: .span)
    label = try container.decodeIfPresent(String.self, forKey: .label)
    help = try container.decodeIfPresent(String.self, forKey: .help)
    notes = try container.decodeIfPresent([DiagnosticNote].self, forKey: .notes) ?? []
    fixes = try container.decodeIfPresent([FixIt].self, forKey: .fixes) ?? []
    sourceLine = try container.decodeIfPresent(String.self, forKey: .sourceLine)
  }
}

/// A set of diagnostics collected across passes. Exact repeats (the same
/// problem reported once per expansion of an m4 macro) are kept once, so
/// every count and rendering agrees.
public struct DiagnosticList: Sendable, Sequence {
  public private(set) var items: [Diagnostic] = []
  private var seen = Set<Diagnostic>()

  public init(_ items: [Diagnostic] = []) { append(contentsOf: items) }

  public mutating func append(_ diagnostic: Diagnostic) {
    if seen.insert(diagnostic).inserted { items.append(diagnostic) }
  }
  public mutating func append(contentsOf other: some Sequence<Diagnostic>) {
    for diagnostic in other { append(diagnostic) }
  }

  public var hasErrors: Bool { items.contains { $0.severity == .error } }
  public var errorCount: Int { items.count { $0.severity == .error } }
  public var isEmpty: Bool { items.isEmpty }
  public var count: Int { items.count }
  public func makeIterator() -> IndexingIterator<[Diagnostic]> { items.makeIterator() }

  /// Diagnostics ordered by file, line and column (those without a span
  /// last, then in the order reported), so output is deterministic.
  public func sorted() -> [Diagnostic] {
    items.enumerated().sorted { a, b in
      switch (a.element.span, b.element.span) {
      case let (x?, y?):
        if x.file != y.file { return x.file < y.file }
        if x.line != y.line { return x.line < y.line }
        if x.column != y.column { return x.column < y.column }
        return a.offset < b.offset
      case (.some, nil): return true
      case (nil, .some): return false
      case (nil, nil): return a.offset < b.offset
      }
    }.map(\.element)
  }
}

extension DiagnosticList {
  /// The list with every warning whose id is in `ids` made an error
  /// (`-Werror=ID`), so it fails the command like any other error.
  public func promotingWarnings(_ ids: Set<DiagnosticID>) -> DiagnosticList {
    guard !ids.isEmpty else { return self }
    return DiagnosticList(items.map { d in
      guard d.severity == .warning, ids.contains(d.id) else { return d }
      var copy = d
      copy.severity = .error
      return copy
    })
  }

  /// True when an error is about reaching the input (exit status 2), not about the policy.
  public var hasInputErrors: Bool {
    contains { $0.severity == .error && $0.id.exitStatus == .unreadableInput }
  }
}
