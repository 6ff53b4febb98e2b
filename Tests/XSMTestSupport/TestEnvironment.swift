import Foundation
import XSMPolicy
import XSMPolicyGen

/// What every test target needs from its surroundings: where the checkout
/// is, whether this is CI, which oracle tools are installed, the built
/// executables, scratch directories and seeded randomness.
public enum TestEnvironment {
  /// The package root (this file is `Tests/XSMTestSupport/TestEnvironment.swift`).
  public static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  /// A path inside the checkout.
  public static func path(_ relative: String) -> String { packageRoot + "/" + relative }

  /// The project's policy tree.
  public static let projectPolicyTree = path("policy")

  /// The project's op catalog directory.
  public static let catalogDirectory = path("policy/ops")

  /// True under CI (`CI=true`), where every oracle is required: a missing tool fails the test instead of skipping it.
  public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

  /// True when the opt-in slow tests run (`XSM_SLOW_TESTS=1`, as `Scripts/test-slow.sh` sets it):
  /// the large generated-policy sweeps and stress counts whose small versions the default suite runs.
  public static let runsSlowTests = ProcessInfo.processInfo.environment["XSM_SLOW_TESTS"] == "1"

  /// The arguments of a sweep: `small` always, `large` added when slow tests run.
  public static func sweep<Value>(_ small: [Value], slow large: [Value]) -> [Value] {
    runsSlowTests ? small + large : small
  }

  /// `small` in the default suite, `large` when slow tests run (a stress count).
  public static func count(_ small: Int, slow large: Int) -> Int { runsSlowTests ? large : small }

  /// The full path of `tool` on the PATH (or in /usr/sbin), nil when it is not installed.
  public static func toolPath(_ tool: String) -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    for directory in directories.map(String.init) + ["/usr/sbin", "/usr/bin"] {
      let candidate = directory + "/" + tool
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Whether a test that needs `tool` runs: when it is installed, and
  /// always in CI (where the test then fails on the missing tool).
  public static func shouldRun(needing tool: String) -> Bool { toolPath(tool) != nil || isCI }

  /// A built executable of this package (`xsmc`, `xsmq`, `xsmd`), next to
  /// the test bundle; nil when it has not been built.
  public static func executable(_ name: String) -> String? {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var directory = bundle
    for _ in 0..<3 {
      let candidate = directory.appendingPathComponent(name).path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      directory.deleteLastPathComponent()
    }
    let fallback = path(".build/debug/" + name)
    return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
  }

  /// Makes the package root the working directory (once per process):
  /// commands run in process read `policy/ops` and write generated files
  /// relative to it, as they do when run from a checkout.
  public static func enterPackageRoot() { _ = enteredPackageRoot }

  private static let enteredPackageRoot = FileManager.default.changeCurrentDirectoryPath(packageRoot)

  /// A new empty directory under the system's temporary directory.
  public static func temporaryDirectory(_ prefix: String = "xsmtests") throws -> String {
    let directory = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
  }

  /// Runs a program to its end: its exit status, standard output and standard error.
  @discardableResult
  public static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws
    -> (status: Int32, out: String, err: String)
  {
    let output = try ProcessRunner.run(executable, arguments, directory: directory)
    return (output.status, output.text, output.errorText)
  }

  /// The generator every randomised test uses, so a failure can be replayed
  /// from the seed it prints.
  public static func random(seed: UInt64) -> SplitMix64 { SplitMix64(seed: seed) }
}
