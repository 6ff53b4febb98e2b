import Foundation
import Synchronization
import XSMDiagnostics

/// Where a command's output goes: the process's standard output and error,
/// or buffers a test reads. Commands write through `Console.current`, so the
/// command libraries never print themselves and run in process in tests.
public struct Console: Sendable {
  private let writeOutput: @Sendable (String) -> Void
  private let writeError: @Sendable (String) -> Void
  private let writeBytes: @Sendable ([UInt8]) -> Void
  /// Standard error is a terminal (progress and colour are for people).
  public let errorIsTerminal: Bool
  /// `NO_COLOR` is set in the environment.
  public let noColour: Bool

  public init(errorIsTerminal: Bool, noColour: Bool, output: @escaping @Sendable (String) -> Void,
    error: @escaping @Sendable (String) -> Void, bytes: (@Sendable ([UInt8]) -> Void)? = nil)
  {
    self.errorIsTerminal = errorIsTerminal
    self.noColour = noColour
    writeOutput = output
    writeError = error
    writeBytes = bytes ?? { output(String(decoding: $0, as: UTF8.self)) }
  }

  /// The process's own standard output and error.
  public static let standard = Console(
    errorIsTerminal: isatty(2) != 0, noColour: ProcessInfo.processInfo.environment["NO_COLOR"] != nil,
    output: { FileHandle.standardOutput.write(Data($0.utf8)) },
    error: { FileHandle.standardError.write(Data($0.utf8)) },
    bytes: { FileHandle.standardOutput.write(Data($0)) })

  /// The console of the running command (the standard one unless a test binds another).
  @TaskLocal public static var current = Console.standard

  /// Writes `text` and a newline on standard output, as `print` does.
  public func say(_ text: String) { writeOutput(text + "\n") }

  /// Writes `text` on standard output as it is.
  public func write(_ text: String) { writeOutput(text) }

  /// Writes `bytes` on standard output as they are (a binary policy for `-o -`).
  public func write(bytes: [UInt8]) { writeBytes(bytes) }

  /// Writes `text` on standard error, ending it with a newline; nothing for empty text.
  public func complain(_ text: String) {
    guard !text.isEmpty else { return }
    writeError(text.hasSuffix("\n") ? text : text + "\n")
  }

  /// Writes `text` on standard error as it is (a progress line that `\r` rewrites).
  public func status(_ text: String) { writeError(text) }

  /// The diagnostic renderer every command uses: colour only for a terminal without `NO_COLOR`.
  public func renderer(_ format: DiagnosticRenderer.Format = .human, maxErrors: Int = 20) -> DiagnosticRenderer {
    DiagnosticRenderer(format: format, colour: format == .human && errorIsTerminal && !noColour, maxErrors: maxErrors)
  }
}

/// What a command wrote to a capturing console.
public final class CapturedOutput: Sendable {
  private let streams = Mutex((output: "", error: ""))

  public init() {}

  /// Everything written on standard output so far.
  public var output: String { streams.withLock { $0.output } }
  /// Everything written on standard error so far.
  public var error: String { streams.withLock { $0.error } }

  /// A console that writes here and is no terminal.
  public var console: Console {
    Console(errorIsTerminal: false, noColour: true,
      output: { text in self.streams.withLock { $0.output += text } },
      error: { text in self.streams.withLock { $0.error += text } })
  }
}
