import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The built xsmd, started on a loopback port of its choosing with its own
/// state file and `--trust-caller-header` (for tests about answers, not
/// authentication): what a test of `xsmq --server` or `xsmq flask` talks to.
public final class RunningXSMD: @unchecked Sendable {
  public let url: String
  private let process: Process
  private let directory: String

  private init(url: String, process: Process, directory: String) {
    self.url = url
    self.process = process
    self.directory = directory
  }

  /// Starts xsmd (nil when it is not built next to the tests) and waits until `/readyz` answers.
  public static func start(_ arguments: [String] = []) async throws -> RunningXSMD? {
    guard let xsmd = TestEnvironment.executable("xsmd") else { return nil }
    let directory = try TestEnvironment.temporaryDirectory("xsmd")
    let log = directory + "/xsmd.log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: xsmd)
    process.arguments = ["--port", "0", "--state", directory + "/state.sqlite", "--trust-caller-header"] + arguments
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    try? handle.close()
    let deadline = ContinuousClock.now + .seconds(120)
    while process.isRunning && ContinuousClock.now < deadline {
      let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      if let range = text.range(of: #"http://127\.0\.0\.1:[1-9][0-9]*"#, options: .regularExpression),
        await ready(String(text[range]))
      {
        return RunningXSMD(url: String(text[range]), process: process, directory: directory)
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
    throw RunningXSMDError(log: text)
  }

  /// Whether `GET /readyz` answers 200.
  private static func ready(_ url: String) async -> Bool {
    guard let readyz = URL(string: url + "/readyz") else { return false }
    return await withCheckedContinuation { continuation in
      URLSession.shared.dataTask(with: readyz) { _, response, _ in
        continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode == 200)
      }.resume()
    }
  }

  /// SIGTERM, waits for the exit and removes the state directory.
  public func stop() {
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
  }

  deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// xsmd exited or did not become ready within two minutes.
public struct RunningXSMDError: Error, CustomStringConvertible {
  public var log: String
  public var description: String { "xsmd did not become ready: \(log)" }
}
