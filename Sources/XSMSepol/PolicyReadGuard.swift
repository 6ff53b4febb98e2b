#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How long, and with how much memory, libsepol may read one binary policy.
public struct PolicyReadBudget: Sendable, Equatable {
  /// Wall-clock seconds before the reader is killed.
  public var seconds: Double
  /// The reader's address-space limit in bytes (`RLIMIT_AS`).
  public var memoryBytes: Int

  /// Creates a budget.
  public init(seconds: Double = 10, memoryBytes: Int = 2 << 30) {
    self.seconds = seconds
    self.memoryBytes = memoryBytes
  }
}

/// Reads an untrusted binary policy in a child process first, so that no
/// input can hang or exhaust the caller.
///
/// libsepol's reader runs on the caller's thread and cannot be interrupted;
/// a thread abandoned after a timeout would keep burning a CPU inside
/// libsepol's global state. So the bytes go to `xsm-policy-check` (installed
/// next to xsmc, xsmq and xsmd) through an unlinked temporary file on its standard input;
/// it limits its own address space, checks the layout
/// (``BinaryPolicyLayout``), reads the policy with libsepol
/// (`policydb_read`, which validates) and exits 0, or prints why not and
/// exits 1. After ``PolicyReadBudget/seconds`` it is killed. Only when it
/// passes does the caller read the bytes itself: libsepol is deterministic,
/// so that reading finishes as the child's did.
///
/// Without the helper (a library embedded elsewhere) only the layout check
/// runs before the in-process read; ``helperPath`` says whether it is there.
public enum PolicyReadGuard {
  /// The helper's file name.
  public static let helperName = "xsm-policy-check"

  /// The helper next to the running executable (the test runner's directory
  /// holds the package's executables too), nil when it is not there.
  public static let helperPath: String? = {
    #if !os(Linux)
      return nil
    #else
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return nil }
    let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let slash = executable.lastIndex(of: "/") else { return nil }
    let candidate = String(executable[...slash]) + helperName
    return access(candidate, X_OK) == 0 ? candidate : nil
    #endif
  }()

  /// Checks `bytes` in the helper within `budget`.
  ///
  /// - Throws: ``SepolError`` `sepol.policy-read-failed` with the helper's
  ///   reason when libsepol (or the layout check) rejects the bytes;
  ///   `sepol.policy-read-budget` when the helper ran out of time or memory.
  public static func check(_ bytes: [UInt8], budget: PolicyReadBudget = .init()) async throws(SepolError) {
    #if !os(Linux)
      _ = try BinaryPolicyLayout.check(bytes)
    #else
    guard let helper = helperPath else {
      _ = try BinaryPolicyLayout.check(bytes)
      return
    }
    let child = try Child.start(helper, input: bytes, memoryBytes: budget.memoryBytes)
    let deadline = ContinuousClock.now + .milliseconds(Int64(budget.seconds * 1000))
    var pause = Duration.microseconds(200)
    while true {
      if let status = child.exitStatus() {
        let output = child.output()
        switch status {
        case .exited(0): return
        case .exited(1):
          // The helper prints the whole message of the error it caught.
          throw output.isEmpty ? .policyReadFailed("libsepol rejected it") : SepolError(id: .sepol.policyReadFailed, message: output)
        case .exited(let code): throw .policyReadBudget("the reader exited with status \(code) (out of memory?)")
        case .signalled(let signal):
          throw .policyReadBudget("the reader was ended by signal \(signal) (out of its \(budget.memoryBytes >> 20) MiB?)")
        }
      }
      if ContinuousClock.now >= deadline {
        child.kill()
        throw .policyReadBudget("reading took longer than \(budget.seconds) s; the reader was stopped")
      }
      try? await Task.sleep(for: pause)
      pause = min(pause * 2, .milliseconds(20))
    }
    #endif
  }

  /// What the helper runs: the layout check and libsepol's read. Nil when
  /// the bytes are a policy, else the reason.
  @SepolActor
  public static func reasonToRefuse(_ bytes: [UInt8]) -> String? {
    do {
      _ = try BinaryPolicy(binary: bytes)
      return nil
    } catch {
      return error.messages.isEmpty ? error.message : "\(error.message): \(error.messages[0].text)"
    }
  }

  /// Limits this process's address space (the helper calls it first).
  public static func limitMemory(to bytes: Int) {
    var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
    _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
  }
}

#if os(Linux)
/// One run of the helper: its pid and the read end of its output.
private final class Child: @unchecked Sendable {
  enum Status { case exited(Int32), signalled(Int32) }

  let pid: pid_t
  let outputFD: Int32
  private var reaped = false

  private init(pid: pid_t, outputFD: Int32) {
    self.pid = pid
    self.outputFD = outputFD
  }

  deinit {
    if !reaped { kill() }
    close(outputFD)
  }

  /// Spawns `helper --memory N` with `input` on its standard input (an
  /// unlinked temporary file, so no pipe can fill) and a pipe as its output.
  static func start(_ helper: String, input: [UInt8], memoryBytes: Int) throws(SepolError) -> Child {
    // An unlinked temporary file: the child reads it whole, and no pipe can fill.
    var template = Array(((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/xsm-policy-XXXXXX").utf8CString)
    let inputFD = mkstemp(&template)
    guard inputFD >= 0 else { throw .outOfMemory("a temporary file for the policy's reader") }
    _ = fcntl(inputFD, F_SETFD, FD_CLOEXEC)
    unlink(template)
    defer { close(inputFD) }
    var written = 0
    while written < input.count {
      let n = input.withUnsafeBytes { write(inputFD, $0.baseAddress! + written, input.count - written) }
      guard n > 0 else { throw .outOfMemory("writing the policy for its reader") }
      written += n
    }
    lseek(inputFD, 0, SEEK_SET)
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { throw .outOfMemory("pipe") }
    for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    defer { close(pipeFDs[1]) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inputFD, 0)
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
    posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
    let arguments = [helper, "--memory", String(memoryBytes)]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, helper, &actions, nil, &argv, environ)
    guard rc == 0 else {
      close(pipeFDs[0])
      throw .policyReadBudget("the reader `\(helper)` could not be started (error \(rc))")
    }
    return Child(pid: pid, outputFD: pipeFDs[0])
  }

  /// The exit status once the child has ended, nil while it runs.
  func exitStatus() -> Status? {
    var status: Int32 = 0
    guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
    reaped = true
    let signal = status & 0x7f
    return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
  }

  /// What the child printed (its first 4 KiB, trimmed).
  func output() -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = read(outputFD, &buffer, buffer.count)
    let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    return text.split(separator: "\n").joined(separator: "; ")
  }

  /// Kills and reaps the child.
  func kill() {
    guard !reaped else { return }
    _ = Glibc.kill(pid, SIGKILL)
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
    reaped = true
  }
}
#endif
