import Foundation
import Synchronization
import XSMDiagnostics

/// Maps lines of a (possibly m4-expanded) policy text back to the files and
/// lines they came from, following `#line N "file"` markers, and supplies the
/// text of original lines for diagnostics.
public final class SourceMap: Sendable {
  /// The name used for the expanded text when it has no markers.
  public let primaryFile: String
  /// What the map has learnt about files, shared by the passes that ask.
  private struct Files {
    /// Original file name → its lines, read on demand (nil when unreadable).
    var originals: [String: [Substring]?] = [:]
    /// Extra text registered in memory (tests, stdin), by file name.
    var inMemory: [String: String] = [:]
  }
  private let files = Mutex(Files())
  /// Directory relative file names are read from.
  public let baseDirectory: String?

  public init(primaryFile: String, baseDirectory: String? = nil) {
    self.primaryFile = primaryFile
    self.baseDirectory = baseDirectory
  }

  /// Makes `text` the content of `file` without touching the disk.
  public func register(file: String, text: String) {
    files.withLock { files in
      files.inMemory[file] = text
      files.originals[file] = nil
    }
  }

  /// The text of line `line` (1-based) of `file`, if known.
  public func line(_ line: Int, of file: String) -> String? {
    files.withLock { files in
      if files.originals[file] == nil {
        var text = files.inMemory[file]
        if text == nil {
          let path = baseDirectory.map { file.hasPrefix("/") ? file : ($0 as NSString).appendingPathComponent(file) } ?? file
          text = try? String(contentsOfFile: path, encoding: .utf8)
        }
        files.originals[file] = .some(text.map { $0.split(separator: "\n", omittingEmptySubsequences: false) })
      }
      guard let lines = files.originals[file] ?? nil, line >= 1, line <= lines.count else { return nil }
      return String(lines[line - 1])
    }
  }
}
