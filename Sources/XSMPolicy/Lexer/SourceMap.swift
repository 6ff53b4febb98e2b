import Foundation
import XSMDiagnostics

/// Maps lines of a (possibly m4-expanded) policy text back to the files and
/// lines they came from, following `#line N "file"` markers, and supplies the
/// text of original lines for diagnostics.
public final class SourceMap: @unchecked Sendable {
  /// The name used for the expanded text when it has no markers.
  public let primaryFile: String
  /// Original file name → its lines, read on demand (nil when unreadable).
  private var originals: [String: [Substring]?] = [:]
  /// Extra text registered in memory (tests, stdin), by file name.
  private var inMemory: [String: String] = [:]
  private let lock = NSLock()
  /// Directory relative file names are read from.
  public let baseDirectory: String?

  public init(primaryFile: String, baseDirectory: String? = nil) {
    self.primaryFile = primaryFile
    self.baseDirectory = baseDirectory
  }

  /// Makes `text` the content of `file` without touching the disk.
  public func register(file: String, text: String) {
    lock.lock()
    defer { lock.unlock() }
    inMemory[file] = text
    originals[file] = nil
  }

  /// The text of line `line` (1-based) of `file`, if known.
  public func line(_ line: Int, of file: String) -> String? {
    lock.lock()
    defer { lock.unlock() }
    if originals[file] == nil {
      var text = inMemory[file]
      if text == nil {
        let path =
          file.hasPrefix("/") || baseDirectory == nil ? file : (baseDirectory! as NSString).appendingPathComponent(file)
        text = try? String(contentsOfFile: path, encoding: .utf8)
      }
      originals[file] = .some(text.map { $0.split(separator: "\n", omittingEmptySubsequences: false) })
    }
    guard let lines = originals[file] ?? nil, line >= 1, line <= lines.count else { return nil }
    return String(lines[line - 1])
  }
}
