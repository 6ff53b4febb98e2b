import XSMDiagnostics

/// An error from libsepol or CIL, with a stable id and the messages libsepol
/// logged while the failing operation ran.
///
/// `id` is shaped `sepol.kebab-name` and never changes meaning; the ids are
/// declared in XSMDiagnostics (`DiagnosticID.Sepol`). `message` is our
/// one-line summary; `messages` are libsepol's own words (for CIL, they name
/// the file and line).
public struct SepolError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Stable identifier, e.g. `sepol.cil-compile-failed`.
  public var id: DiagnosticID
  /// One-line summary of what failed.
  public var message: String
  /// Messages libsepol/CIL logged during the operation, in order.
  public var messages: [SepolMessage]

  /// Creates an error.
  public init(id: DiagnosticID, message: String, messages: [SepolMessage] = []) {
    self.id = id
    self.message = message
    self.messages = messages
  }

  /// `id: message`, followed by one indented line per captured message.
  public var description: String {
    var text = "\(id): \(message)"
    for m in messages { text += "\n  \(m)" }
    return text
  }
}
