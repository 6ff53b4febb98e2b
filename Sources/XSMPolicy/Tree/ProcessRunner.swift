import Foundation

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
    nonisolated(unsafe) var errorData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      errorData = errors.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, standardOutput: data, standardError: errorData)
  }
}
