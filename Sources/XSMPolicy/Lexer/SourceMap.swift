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
    /// Files xsmc wrote for m4 (a layout's generated inputs), by the name m4 saw.
    var aliases: [String: LineOrigins] = [:]
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

  /// Drops the text of `file` held in memory; its lines are read from disk when next asked for.
  public func forget(file: String) {
    files.withLock { files in
      files.inMemory[file] = nil
      files.originals[file] = nil
    }
  }

  /// Says that the lines of `file` (an input xsmc wrote for m4) come from elsewhere.
  public func alias(_ file: String, to origins: LineOrigins) {
    files.withLock { $0.aliases[file] = origins }
  }

  /// Every alias registered so far; the lexer takes this once per text.
  public var aliases: [String: LineOrigins] { files.withLock { $0.aliases } }

  /// The file and line that line `line` of `file` stands for.
  public func origin(of file: String, line: Int) -> SourceLineOrigin {
    Self.origin(of: file, line: line, in: aliases)
  }

  static func origin(of file: String, line: Int, in aliases: [String: LineOrigins]) -> SourceLineOrigin {
    switch aliases[file] {
    case nil: SourceLineOrigin(file: file, line: line)
    case .file(let original): SourceLineOrigin(file: original, line: line)
    case .lines(let origins):
      line >= 1 && line <= origins.count ? origins[line - 1] : SourceLineOrigin(file: file, line: line)
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

/// A line of a source file: where a line of generated text came from.
public struct SourceLineOrigin: Sendable, Codable, Equatable, Hashable {
  public var file: String
  public var line: Int
  public init(file: String, line: Int) {
    self.file = file
    self.line = line
  }
}

/// Where the lines of a generated m4 input come from.
public enum LineOrigins: Sendable {
  /// Line N is line N of this file (or of this name, for text registered in memory).
  case file(String)
  /// Line N is the N-th entry.
  case lines([SourceLineOrigin])
}
