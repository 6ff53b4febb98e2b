import Foundation

/// Finding a line of a policy source, so tests derive expected file:line
/// citations from the tree's text rather than from the output under test.
public enum SourceLines {
  /// The 1-based number of the first line of `file`, at or after the first
  /// line containing `after` (when given), that contains every one of `words`.
  public static func line(in file: String, after: String? = nil, containing words: [String]) throws -> Int {
    let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    let start = after.flatMap { a in lines.firstIndex { $0.contains(a) } } ?? 0
    guard let index = lines[start...].firstIndex(where: { line in words.allSatisfy { line.contains($0) } }) else {
      throw LineNotFound(description: "no line of \(file) contains \(words)" + (after.map { " after `\($0)`" } ?? ""))
    }
    return index + 1
  }

  /// The line looked for is not in the file.
  public struct LineNotFound: Error, CustomStringConvertible {
    public var description: String
  }
}
