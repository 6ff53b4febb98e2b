import Foundation
import XSMDiagnostics

/// Policy sources are UTF-8 text: decoding a file's bytes, and saying
/// exactly where a file stops being UTF-8 when it does.
public enum UTF8Text {
  /// The first byte that is not part of valid UTF-8.
  public struct InvalidByte: Error, Sendable, Equatable {
    /// Its 0-based offset in the file.
    public var offset: Int
    public var byte: UInt8
    /// Its 1-based line, and column in Unicode scalars (as diagnostics count columns).
    public var line: Int
    public var column: Int
  }

  /// The text of `bytes`, or where the first byte that is not UTF-8 is.
  public static func decode(_ bytes: some Collection<UInt8>) -> Result<String, InvalidByte> {
    if let text = String(validating: bytes, as: UTF8.self) { return .success(text) }
    return .failure(firstInvalidByte(in: bytes) ?? InvalidByte(offset: 0, byte: bytes.first ?? 0, line: 1, column: 1))
  }

  /// Where the first byte that is not UTF-8 is, or nil when all of `bytes` is.
  public static func firstInvalidByte(in bytes: some Collection<UInt8>) -> InvalidByte? {
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var offset = 0
    var line = 1
    var column = 1
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let encoded):
        offset += encoded.count
        if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") {
          line += 1
          column = 1
        } else {
          column += 1
        }
      case .emptyInput:
        return nil
      case .error:
        let byte = bytes[bytes.index(bytes.startIndex, offsetBy: offset)]
        return InvalidByte(offset: offset, byte: byte, line: line, column: column)
      }
    }
  }

  /// `io.not-utf8` for `file`, at the byte that is not UTF-8.
  public static func diagnostic(file: String, _ invalid: InvalidByte, help: String? = nil) -> Diagnostic {
    let byte = "0x" + String(invalid.byte, radix: 16, uppercase: true)
    return Diagnostic(.io.notUtf8, .error,
      "`\(file)` is not UTF-8 text: byte \(byte) at offset \(invalid.offset) (line \(invalid.line), column \(invalid.column))",
      span: SourceSpan(file: file, line: invalid.line, column: invalid.column), label: "byte \(byte) is not UTF-8",
      help: help)
  }

  /// The text of the file at `path`; when it is missing, unreadable or not
  /// UTF-8, nil and a diagnostic that says which.
  public static func read(_ path: String, help: String? = nil, into diagnostics: inout [Diagnostic]) -> String? {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      diagnostics.append(Diagnostic(.io.notFound, .error, "`\(path)` does not exist"))
      return nil
    }
    if isDirectory.boolValue {
      diagnostics.append(Diagnostic(.io.unreadable, .error, "cannot read `\(path)`: it is a directory"))
      return nil
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      let descriptor = open(path, O_RDONLY)
      let reason = descriptor < 0 ? String(cString: strerror(errno)) : "reading it failed"
      if descriptor >= 0 { close(descriptor) }
      diagnostics.append(Diagnostic(.io.unreadable, .error, "cannot read `\(path)`: \(reason)"))
      return nil
    }
    switch decode(data) {
    case .success(let text): return text
    case .failure(let invalid):
      diagnostics.append(diagnostic(file: path, invalid, help: help))
      return nil
    }
  }
}
