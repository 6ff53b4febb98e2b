import Foundation
import XSMDiagnostics

/// Which files `xsmc fmt` formats, and reading them as UTF-8 text with a
/// located error when they are not.
public enum FormatInputs {
  /// Extensions of policy sources found in a directory that is not a policy tree.
  public static let sourceExtensions: Set<String> = ["te", "if", "spt", "cons", "conf"]

  /// Files that hold no policy language: `modules.conf` lists modules (`name = on`), read by awk.
  static func isPolicySource(_ path: String) -> Bool {
    (path as NSString).lastPathComponent != "modules.conf"
  }

  /// The files to format for `path`: the file itself; for a policy tree (any
  /// layout xsmc reads) the files its layout hands m4 that lie inside it and
  /// every module's `.te`, `.if` and `.cons`, switched on or not; for any
  /// other directory every `.te`, `.if`, `.spt`, `.cons` and `.conf` file
  /// below it. `modules.conf` and hidden files are never taken. Sorted.
  public static func files(for path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      return [path]
    }
    if TreeLayout.detect(path) != nil {
      return PolicyTree.load(directory: path).0.sourceFiles.filter(isPolicySource)
    }
    var files: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let relative = enumerator?.nextObject() as? String {
      guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
        sourceExtensions.contains((relative as NSString).pathExtension), isPolicySource(relative)
      else { continue }
      let full = TreePaths.join(path, relative)
      var nested: ObjCBool = false
      if FileManager.default.fileExists(atPath: full, isDirectory: &nested), !nested.boolValue { files.append(full) }
    }
    return files.sorted()
  }

  /// Why a file is not formatted: the diagnostic that says so.
  public struct NotText: Error {
    public var diagnostic: Diagnostic
  }

  /// The text of `bytes` read from `file`, or an `io.not-utf8` error at the
  /// line and column of the first byte that is not UTF-8 text (or is NUL).
  public static func text(of bytes: [UInt8], file: String) -> Result<String, NotText> {
    var line = 1
    var column = 1
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var scalars = String.UnicodeScalarView()
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let encoded):
        let scalar = Unicode.UTF8.decode(encoded)
        if scalar == "\0" { return .failure(notText(file, line, column, "a NUL character")) }
        scalars.append(scalar)
        if scalar == "\n" {
          line += 1
          column = 1
        } else {
          column += 1
        }
      case .emptyInput:
        return .success(String(scalars))
      case .error:
        return .failure(notText(file, line, column, "a byte that is not UTF-8"))
      }
    }
  }

  private static func notText(_ file: String, _ line: Int, _ column: Int, _ what: String) -> NotText {
    NotText(diagnostic: Diagnostic(.io.notUtf8, .error, "`\(file)` is not UTF-8 text: \(what) at line \(line), column \(column)",
      span: SourceSpan(file: file, line: line, column: column), label: "here",
      help: "the file is left as it is; xsmc fmt formats policy sources only"))
  }
}
