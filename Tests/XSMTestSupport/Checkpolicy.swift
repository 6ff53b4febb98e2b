import Foundation

/// checkpolicy, the reference compiler, run as a process on policy.conf
/// text for target Xen: the oracle of the differential tests.
public enum Checkpolicy {
  /// Why checkpolicy produced no binary.
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Whether tests that need checkpolicy run (see `TestEnvironment.shouldRun(needing:)`).
  public static var shouldRun: Bool { TestEnvironment.shouldRun(needing: "checkpolicy") }

  /// `checkpolicy -t Xen -c VERSION [-M] -o OUT policy.conf`; its output is captured, never printed.
  public static func compile(_ conf: String, version: Int = 30, mls: Bool = false) throws -> [UInt8] {
    guard let path = TestEnvironment.toolPath("checkpolicy") else {
      throw Failure(description: "checkpolicy is not installed (required because CI=true)")
    }
    let directory = try TestEnvironment.temporaryDirectory("xsm-checkpolicy")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try conf.write(toFile: directory + "/policy.conf", atomically: true, encoding: .utf8)
    let arguments = (mls ? ["-M"] : []) + ["-t", "Xen", "-c", String(version), "-o", directory + "/policy.bin",
      directory + "/policy.conf"]
    let result = try TestEnvironment.run(path, arguments)
    guard result.status == 0 else {
      throw Failure(description: "checkpolicy failed (\(result.status)): \(result.err)\(result.out)")
    }
    return Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/policy.bin")))
  }
}
