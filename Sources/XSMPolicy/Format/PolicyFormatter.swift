import XSMDiagnostics

/// Formats policy sources (`.te`, `.if`, `.spt`, `.cons`, policy.conf and
/// the section files of a tree) without parsing the policy language: it reads
/// the text as pieces (names, punctuation, m4 quotes, comments) and lays them
/// out again. Indentation follows the nesting of `{}`, of macro calls' `()`
/// and of m4 quoted bodies; each statement gets its own line; the permission
/// and class sets of rules are sorted; spacing around `:` `;` `,` and inside
/// sets is made uniform; runs of blank lines become one. Comments, m4 macro
/// calls and everything it does not understand stay as written, and
/// whitespace that m4 could see (before an argument's `,` or `)`, next to a
/// quote character) is never touched. docs/fmt.md gives every rule and why
/// it cannot change a decision.
public struct PolicyFormatter: Sendable {
  /// What kind of file is formatted: `.te` files are read line by line by
  /// refpolicy's Makefile (it hoists `type`/`attribute` lines at the start of
  /// a line), so their line starts are kept.
  public enum FileKind: Sendable {
    case moduleTypeEnforcement
    case other

    /// The kind of a file by its name.
    public init(path: String) {
      self = path.hasSuffix(".te") ? .moduleTypeEnforcement : .other
    }
  }

  /// The result of formatting one text.
  public struct Result: Sendable {
    /// The formatted text; nil when the file cannot be formatted (see `diagnostics`).
    public var formatted: String?
    /// Errors (the file is left untouched) and warnings (regions kept as they are).
    public var diagnostics: [Diagnostic]
    /// True when the formatted text differs from the input.
    public var changed: Bool
  }

  /// One level of indentation: a tab, as Xen's and refpolicy's trees indent.
  public var indentUnit: String

  public init(indentUnit: String = "\t") {
    self.indentUnit = indentUnit
  }

  /// Statement keywords: a line starting with one starts a statement.
  static let statementKeywords: Set<String> = [
    "allow", "auditallow", "auditdeny", "dontaudit", "neverallow", "type_transition", "type_change", "type_member",
    "range_transition", "role_transition", "typeattribute", "type", "attribute", "attribute_role", "typealias",
    "typebounds", "permissive", "role", "roleattribute", "dominance", "user", "bool", "tunable", "if", "else", "class",
    "common", "sid", "constrain", "mlsconstrain", "validatetrans", "mlsvalidatetrans", "sensitivity", "category",
    "level", "policycap", "pirqcon", "iomemcon", "ioportcon", "pcidevicecon", "devicetreecon", "portcon", "nodecon",
    "netifcon", "genfscon", "fs_use_xattr", "fs_use_task", "fs_use_trans", "require", "optional", "allowxperm",
    "auditallowxperm", "dontauditxperm", "neverallowxperm",
  ]

  /// Rules whose class and permission sets are sets: their order changes no bit.
  static let accessRules: Set<String> = ["allow", "auditallow", "auditdeny", "dontaudit", "neverallow"]
  static let constraintRules: Set<String> = ["constrain", "mlsconstrain"]
  /// Words after which `{` opens a block of statements rather than a set.
  static let blockWords: Set<String> = ["else", "require", "optional"]
  /// Words that are never macro calls, even directly before `(`.
  static let nonCallWords: Set<String> = ["if", "and", "or", "not"]

  /// Keywords of statements that refpolicy's Makefile finds by the start of a line.
  static func lineSensitiveKeyword(_ word: String, kind: FileKind) -> Bool {
    // Dropped from m4's output by line (Rules.monolithic): any file.
    if ["portcon", "nodecon", "netifcon"].contains(word) { return true }
    guard kind == .moduleTypeEnforcement else { return false }
    // Hoisted out of the .te files by grep: `^attribute`, `^type `, `^sid `, `^genfscon`, `^fs_use_*`.
    return word.hasPrefix("attribute") || word == "type" || word == "sid" || word == "genfscon"
      || ["fs_use_xattr", "fs_use_task", "fs_use_trans"].contains(word)
  }

  /// Formats `text`, read from `file` (the name diagnostics carry).
  public func format(_ text: String, file: String, kind: FileKind? = nil) -> Result {
    var scanner = SourceScanner(text)
    scanner.scan()
    let pieces = scanner.pieces
    var diagnostics: [Diagnostic] = []
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    func lineText(_ number: Int) -> String? { number >= 1 && number <= lines.count ? String(lines[number - 1]) : nil }
    func located(_ line: Int, _ column: Int, width: Int = 1) -> SourceSpan {
      SourceSpan(file: file, line: line, column: column, endColumn: column + width)
    }
    for problem in scanner.problems {
      diagnostics.append(Diagnostic(.fmt.unbalanced, .error, problem.message, span: located(problem.line, problem.column),
        label: problem.label, help: "the file is left as it is", sourceLine: lineText(problem.line)))
    }
    let layout = FormatAnalysis(pieces: pieces, kind: kind ?? FileKind(path: file))
    for problem in layout.problems {
      diagnostics.append(Diagnostic(.fmt.unbalanced, .error, problem.message,
        span: located(problem.line, problem.column, width: problem.width), label: problem.label,
        help: "the file is left as it is", sourceLine: lineText(problem.line)))
    }
    if diagnostics.contains(where: { $0.severity == .error }) {
      return Result(formatted: nil, diagnostics: diagnostics, changed: false)
    }
    if let piece = pieces.first(where: { $0.kind == .word && $0.text == "changequote" }) {
      diagnostics.append(Diagnostic(.fmt.leftAsIs, .warning, "the file changes m4's quote characters; it is left as it is",
        span: located(piece.line, piece.column, width: piece.text.count), label: "`changequote`",
        sourceLine: lineText(piece.line)))
      return Result(formatted: text, diagnostics: diagnostics, changed: false)
    }
    var verbatimLines = layout.keptLines
    var reported = Set<Int>()
    /// Keeps the quoted region around a place as it is, with one warning per region.
    func keepRegion(line: Int, column: Int, _ message: (ClosedRange<Int>) -> String, label: String, help: String? = nil) {
      let region = layout.quotedRegion(line: line, column: column)
      verbatimLines.formUnion(region)
      guard reported.insert(region.lowerBound).inserted else { return }
      diagnostics.append(Diagnostic(.fmt.leftAsIs, .warning, message(region) + "; lines \(region.lowerBound)-\(region.upperBound) are left as they are",
        span: located(line, column), label: label, help: help, sourceLine: lineText(line)))
    }
    for ambiguity in scanner.ambiguities {
      keepRegion(line: ambiguity.line, column: ambiguity.column, { _ in "a quote character in \(ambiguity.what) counts for m4" },
        label: "m4 reads this as a quote", help: "write the text without `` ` `` and `'`, or move it out of the quoted body")
    }
    for piece in layout.unstructured.sorted().map({ pieces[$0] }) {
      keepRegion(line: piece.line, column: piece.column,
        { _ in "\(FormatAnalysis.code(piece.text)) and its partner lie on two sides of an m4 quote" },
        label: "m4 sees this bracket only when the quoted text is expanded")
    }
    var emitter = FormatEmitter(pieces: pieces, analysis: layout, indentUnit: indentUnit, verbatimLines: verbatimLines)
    let formatted = emitter.emit()
    return Result(formatted: formatted, diagnostics: diagnostics, changed: formatted != text)
  }
}
