import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// m4 over a hostile tree: a macro without end, one whose text doubles, one
/// that allocates without bound, and shell builtins each end in a located or
/// named error, and m4 dies with xsmc (the real binary, sent SIGTERM/SIGINT).
@Suite("m4 limits and shell builtins", .serialized)
struct M4LimitsTests {
  /// A copy of the project policy with `text` appended to modules/dom0.te, built
  /// with `limits`; the outcome and the appended text's line.
  func build(appending text: String, limits: M4Limits) async throws -> (BuildOutcome, line: Int, file: String) {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let tree = root + "/policy"
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: tree)
    let file = tree + "/modules/dom0.te"
    let content = try String(contentsOfFile: file, encoding: .utf8)
    try (content + text + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions(tree: TreeOptions(m4Limits: limits)))
    return (outcome, content.count { $0 == "\n" } + 1, file)
  }

  func only(_ id: DiagnosticID, in outcome: BuildOutcome) throws -> Diagnostic {
    let errors = outcome.diagnostics.items.filter { $0.severity == .error }
    #expect(errors.map(\.id) == [id], "\(errors.map { "\($0.id) \($0.message)" })")
    #expect(outcome.binary == nil)
    return try #require(errors.first)
  }

  @Test func aSelfRecursiveMacroEndsAtTheTimeLimit() async throws {
    let (outcome, _, _) = try await build(
      appending: "define(`forever', `forever')forever", limits: M4Limits(time: .milliseconds(300)))
    let error = try only(.tree.m4TimeLimit, in: outcome)
    #expect(error.message == "m4 ran for more than 0.3 s and was stopped")
    #expect(error.help?.contains("--m4-time-limit SECONDS") == true)
  }

  @Test func aMacroWhoseOutputDoublesEndsAtTheOutputLimit() async throws {
    let (outcome, _, _) = try await build(
      appending: "define(`grow', `$1 grow(`$1$1')')grow(`type x_t;')", limits: M4Limits(outputBytes: 1 << 20))
    let error = try only(.tree.m4OutputLimit, in: outcome)
    #expect(error.message == "m4 wrote more than 1 MiB and was stopped")
    #expect(error.help?.contains("--m4-output-limit MIB") == true)
  }

  @Test func aMacroWhoseArgumentDoublesEndsAtTheMemoryLimit() async throws {
    let (outcome, _, _) = try await build(
      appending: "define(`hoard', `hoard(`$1$1')')hoard(`x')", limits: M4Limits(memoryBytes: 64 << 20))
    let error = try only(.tree.m4MemoryLimit, in: outcome)
    #expect(error.message == "m4 ran out of memory at its limit of 64 MiB")
    #expect(error.help == "raise the limit with `--m4-memory-limit MIB`")
  }

  @Test(arguments: ["esyscmd", "syscmd"])
  func shellBuiltinsAreRefusedAtTheCall(_ builtin: String) async throws {
    let marker = try temporaryDirectory() + "/ran"
    defer { try? FileManager.default.removeItem(atPath: (marker as NSString).deletingLastPathComponent) }
    let (outcome, line, file) = try await build(appending: "\(builtin)(`touch \(marker)')", limits: M4Limits())
    let error = try only(.tree.m4ShellRefused, in: outcome)
    #expect(error.message == "`\(builtin)` runs a shell command while the policy is built, which xsmc refuses")
    #expect(error.span?.file == file && error.span?.line == line)
    #expect(error.help?.contains("--allow-m4-shell") == true)
    #expect(!FileManager.default.fileExists(atPath: marker))
  }

  /// `builtin` reaches the real builtin past the refusing definitions; the
  /// seccomp filter keeps m4 from starting the shell, and the error is still located.
  @Test func aShellBuiltinCalledThroughBuiltinIsRefusedToo() async throws {
    let marker = try temporaryDirectory() + "/ran"
    defer { try? FileManager.default.removeItem(atPath: (marker as NSString).deletingLastPathComponent) }
    let (outcome, line, file) = try await build(appending: "builtin(`esyscmd', `touch \(marker)')", limits: M4Limits())
    let error = try only(.tree.m4ShellRefused, in: outcome)
    #expect(error.message == "this line runs the shell command `touch \(marker)' while the policy is built, which xsmc refuses")
    #expect(error.span?.file == file && error.span?.line == line)
    #expect(!FileManager.default.fileExists(atPath: marker))
  }

  @Test func shellBuiltinsRunWithAllowM4Shell() async throws {
    let marker = try temporaryDirectory() + "/ran"
    defer { try? FileManager.default.removeItem(atPath: (marker as NSString).deletingLastPathComponent) }
    let (outcome, _, _) = try await build(
      appending: "esyscmd(`touch \(marker)')builtin(`syscmd', `touch \(marker)-too')", limits: M4Limits(allowsShell: true))
    #expect(!outcome.diagnostics.hasErrors, "\(outcome.diagnostics.items.map(\.message))")
    #expect(FileManager.default.fileExists(atPath: marker) && FileManager.default.fileExists(atPath: marker + "-too"))
  }

  @Test func theCommandLineSetsTheLimitsAndTheShell() async throws {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let tree = root + "/policy"
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: tree)
    let file = tree + "/modules/dom0.te"
    try (String(contentsOfFile: file, encoding: .utf8) + "define(`forever', `forever')forever\n")
      .write(toFile: file, atomically: true, encoding: .utf8)
    let stopped = await xsmc(["build", tree, "-o", root + "/out", "--m4-time-limit", "0.2"])
    #expect(stopped.status == 1)
    #expect(stopped.err.contains("error[tree.m4-time-limit]: m4 ran for more than 0.2 s and was stopped"), "\(stopped.err)")
    #expect(!FileManager.default.fileExists(atPath: root + "/out"))
    for option in ["--m4-time-limit", "--m4-output-limit", "--m4-memory-limit"] {
      let bad = await xsmc(["check", tree, option, "0"])
      #expect(bad.status == 2 && bad.err.contains("\(option) must be a number above 0"), "\(bad.err)")
    }
    try (String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "forever\n", with: "\n")
      + "esyscmd(`true')\n").write(toFile: file, atomically: true, encoding: .utf8)
    #expect(await xsmc(["check", tree]).err.contains("error[tree.m4-shell-refused]"))
    let allowed = await xsmc(["check", tree, "--allow-m4-shell"])
    #expect(allowed.status == 0, "\(allowed.err)")
  }

  /// xsmc (the built binary) killed while m4 loops leaves no m4 behind, not
  /// even a zombie: its handler kills and reaps m4 (and removes the scratch
  /// files of a refpolicy tree) before xsmc ends, and m4 would die with xsmc
  /// anyway (PR_SET_PDEATHSIG).
  @Test(arguments: [SIGTERM, SIGINT])
  func killingXsmcEndsM4(_ signal: Int32) throws {
    guard let executable = TestEnvironment.executable("xsmc") else {
      Issue.record("xsmc is not built")
      return
    }
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let tree = try TreeLayoutTests().makeRefpolicyTree(root + "/tree") { files in
      files["policy/modules/guests/guest.te"]! += "\ndefine(`forever', `forever')forever\n"
    }
    let scratch = root + "/tmp"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["build", tree, "-o", root + "/out"]
    process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": scratch + "/"]) { $1 }
    process.standardError = FileHandle.nullDevice
    try process.run()
    var m4: Int32?
    for _ in 0..<200 where m4 == nil {
      // The second m4 run, over the generated inputs in the scratch directory, is the one that loops.
      if (try? FileManager.default.contentsOfDirectory(atPath: scratch))?.isEmpty == false {
        m4 = Self.children(of: process.processIdentifier).first { Self.command(of: $0) == "m4" }
      }
      if m4 == nil { usleep(50_000) }
    }
    let child = try #require(m4, "m4 never started")
    kill(process.processIdentifier, signal)
    process.waitUntilExit()
    // The handler reaps m4 before xsmc ends, so it is normally gone at once; the short wait only
    // keeps a loaded machine from failing the test while a dying m4 is being torn down.
    var state: String?
    for _ in 0..<40 {
      state = Self.state(of: child)
      if state == nil { break }
      usleep(50_000)
    }
    #expect(state == nil, "m4 (pid \(child)) is still there, state \(state ?? "")")
    #expect(!FileManager.default.fileExists(atPath: root + "/out"))
  }

  /// The pids whose parent is `pid`, read from /proc.
  static func children(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { candidate in
      guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
        let close = stat.range(of: ")", options: .backwards)
      else { return false }
      let fields = stat[close.upperBound...].split(separator: " ")
      return fields.count > 1 && Int32(fields[1]) == pid
    }
  }

  /// The state letter and parent of a process from /proc (`S ppid 1`), or nil when it is gone.
  static func state(of pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.range(of: ")", options: .backwards)
    else { return nil }
    let fields = stat[close.upperBound...].split(separator: " ")
    return fields.count > 1 ? "\(fields[0]) ppid \(fields[1])" : nil
  }

  static func command(of pid: Int32) -> String? {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
