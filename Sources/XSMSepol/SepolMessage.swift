/// One message that libsepol or CIL logged during an operation.
///
/// libsepol and CIL never print in this module: their messages are captured
/// and returned, in order, with the result (``CompiledPolicy/messages``) or
/// the error (``SepolError/messages``).
public struct SepolMessage: Sendable, Equatable, Hashable, CustomStringConvertible {
  /// Severity as libsepol reports it (`SEPOL_MSG_*`, `CIL_*`).
  public enum Level: Sendable, Equatable, Hashable {
    case error, warning, info
  }

  /// The severity.
  public var level: Level
  /// The message text, without a trailing newline.
  public var text: String

  /// Creates a message.
  public init(level: Level, text: String) {
    self.level = level
    self.text = text
  }

  /// `error: text`, `warning: text` or `info: text`.
  public var description: String {
    switch level {
    case .error: "error: \(text)"
    case .warning: "warning: \(text)"
    case .info: "info: \(text)"
    }
  }
}

extension SepolMessage.Level {
  init(sepolLevel: Int32) {
    switch sepolLevel {
    case 1: self = .error
    case 2: self = .warning
    default: self = .info
    }
  }
}
