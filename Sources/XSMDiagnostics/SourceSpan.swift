/// A range of source text, 1-based, with columns counted in characters.
/// Column 0 means the line only: no text on the line holds what the span
/// stands for (a token m4 built from a macro's arguments).
///
/// Equality includes the file and all four coordinates; syntax trees compare
/// nodes without their spans (see `XSMPolicy`), so spans never make two
/// otherwise equal trees differ.
public struct SourceSpan: Hashable, Sendable, Codable, CustomStringConvertible {
  /// The file as the user named it (original file, not the m4 output).
  public var file: String
  public var line: Int
  public var column: Int
  public var endLine: Int
  /// One past the last column covered (so `endColumn - column` is the width on one line).
  public var endColumn: Int

  public init(file: String, line: Int, column: Int, endLine: Int? = nil, endColumn: Int? = nil) {
    self.file = file
    self.line = line
    self.column = column
    self.endLine = endLine ?? line
    self.endColumn = endColumn ?? (column + 1)
  }

  /// `file:line:col` (`file:line` for the line only), the form editors and terminals turn into links.
  public var description: String { column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)" }

  /// The smallest span covering both, when both are in the same file; else `self`.
  public func merged(with other: SourceSpan) -> SourceSpan {
    guard other.file == file else { return self }
    let start = (line, column) <= (other.line, other.column) ? (line, column) : (other.line, other.column)
    let end =
      (endLine, endColumn) >= (other.endLine, other.endColumn)
      ? (endLine, endColumn) : (other.endLine, other.endColumn)
    return SourceSpan(file: file, line: start.0, column: start.1, endLine: end.0, endColumn: end.1)
  }

  enum CodingKeys: String, CodingKey {
    case file, line, column
    case endLine = "end_line"
    case endColumn = "end_column"
  }
}
