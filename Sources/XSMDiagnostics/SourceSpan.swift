import Synchronization

/// A range of source text, 1-based, with columns counted in characters.
/// Column 0 means the line only: no text on the line holds what the span
/// stands for (a token m4 built from a macro's arguments).
///
/// Equality includes the file and all four coordinates; syntax trees compare
/// nodes without their spans (see `XSMPolicy`), so spans never make two
/// otherwise equal trees differ.
///
/// A span is 20 bytes: the file as a `SourceFile` number and the four
/// coordinates as 32-bit integers, because a syntax tree holds one per name.
public struct SourceSpan: Hashable, Sendable, Codable, CustomStringConvertible {
  /// The file, as a number standing for its name.
  public var sourceFile: SourceFile
  private var storedLine: Int32
  private var storedColumn: Int32
  private var storedEndLine: Int32
  private var storedEndColumn: Int32

  /// The file as the user named it (original file, not the m4 output).
  public var file: String {
    get { sourceFile.name }
    set { sourceFile = SourceFile(newValue) }
  }
  public var line: Int {
    get { Int(storedLine) }
    set { storedLine = Int32(clamping: newValue) }
  }
  public var column: Int {
    get { Int(storedColumn) }
    set { storedColumn = Int32(clamping: newValue) }
  }
  public var endLine: Int {
    get { Int(storedEndLine) }
    set { storedEndLine = Int32(clamping: newValue) }
  }
  /// One past the last column covered (so `endColumn - column` is the width on one line).
  public var endColumn: Int {
    get { Int(storedEndColumn) }
    set { storedEndColumn = Int32(clamping: newValue) }
  }

  public init(file: String, line: Int, column: Int, endLine: Int? = nil, endColumn: Int? = nil) {
    self.init(in: SourceFile(file), line: line, column: column, endLine: endLine, endColumn: endColumn)
  }

  /// A span in a file already numbered (no name lookup: the lexer's way).
  public init(in file: SourceFile, line: Int, column: Int, endLine: Int? = nil, endColumn: Int? = nil) {
    sourceFile = file
    storedLine = Int32(clamping: line)
    storedColumn = Int32(clamping: column)
    storedEndLine = Int32(clamping: endLine ?? line)
    storedEndColumn = Int32(clamping: endColumn ?? (column + 1))
  }

  /// `file:line:col` (`file:line` for the line only), the form editors and terminals turn into links.
  public var description: String { column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)" }

  /// The smallest span covering both, when both are in the same file; else `self`.
  public func merged(with other: SourceSpan) -> SourceSpan {
    guard other.sourceFile == sourceFile else { return self }
    let start = (line, column) <= (other.line, other.column) ? (line, column) : (other.line, other.column)
    let end =
      (endLine, endColumn) >= (other.endLine, other.endColumn)
      ? (endLine, endColumn) : (other.endLine, other.endColumn)
    return SourceSpan(in: sourceFile, line: start.0, column: start.1, endLine: end.0, endColumn: end.1)
  }

  enum CodingKeys: String, CodingKey {
    case file, line, column
    case endLine = "end_line"
    case endColumn = "end_column"
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      file: try container.decode(String.self, forKey: .file), line: try container.decode(Int.self, forKey: .line),
      column: try container.decode(Int.self, forKey: .column), endLine: try container.decode(Int.self, forKey: .endLine),
      endColumn: try container.decode(Int.self, forKey: .endColumn))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(file, forKey: .file)
    try container.encode(line, forKey: .line)
    try container.encode(column, forKey: .column)
    try container.encode(endLine, forKey: .endLine)
    try container.encode(endColumn, forKey: .endColumn)
  }
}

/// A source file name as a small number, so the many spans that name one
/// file share its name. Numbers are handed out once per distinct name for
/// the life of the process; equal numbers mean equal names.
public struct SourceFile: Hashable, Sendable {
  private let number: UInt32

  /// Every name numbered so far, and the number of each.
  private struct Table {
    var names: [String] = []
    var numbers: [String: UInt32] = [:]
  }
  private static let table = Mutex(Table())

  /// The number of `name` (given a new one the first time).
  public init(_ name: String) {
    number = Self.table.withLock { table in
      if let known = table.numbers[name] { return known }
      let next = UInt32(table.names.count)
      table.names.append(name)
      table.numbers[name] = next
      return next
    }
  }

  /// The file's name.
  public var name: String { Self.table.withLock { $0.names[Int(number)] } }
}
