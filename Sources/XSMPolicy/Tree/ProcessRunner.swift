import Foundation
import Synchronization

/// Runs an external program (m4, and in tests checkpolicy or secilc) and
/// collects its exit status and output. Both pipes are drained concurrently
/// so a chatty program never blocks on a full pipe.
public enum ProcessRunner {
  /// The outcome of one run.
  public struct Output: Sendable {
    public var status: Int32
    public var standardOutput: Data
    public var standardError: Data
    public var text: String { String(decoding: standardOutput, as: UTF8.self) }
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }
  }

  /// Runs `program` (an absolute path, or a name looked up on the PATH) with no standard input.
  public static func run(_ program: String, _ arguments: [String], directory: String? = nil) throws -> Output {
    let process = Process()
    if program.hasPrefix("/") {
      process.executableURL = URL(fileURLWithPath: program)
      process.arguments = arguments
    } else {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = [program] + arguments
    }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Standard error is drained on a thread of its own while this one drains standard output.
    let errorReader = PipeReader(errors.fileHandleForReading)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errorReader.finish()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, standardOutput: data, standardError: errorData)
  }
}

/// Reads a pipe to its end on a thread of its own; `finish` waits for the
/// end and returns everything read.
private final class PipeReader: Sendable {
  private let result = Mutex<Data?>(nil)
  private let done = DispatchSemaphore(value: 0)

  init(_ handle: FileHandle) {
    Thread.detachNewThread { [self] in
      let data = handle.readDataToEndOfFile()
      result.withLock { $0 = data }
      done.signal()
    }
  }

  func finish() -> Data {
    done.wait()
    return result.withLock { $0 ?? Data() }
  }
}
