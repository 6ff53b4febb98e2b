import CProcessControl
import Foundation

/// Runs an external program (m4, and in tests checkpolicy or secilc) and
/// collects its exit status and output. The child stays in this process
/// group and dies with this process; one `poll` loop on the calling thread
/// drains both pipes (so a chatty program never blocks on a full pipe) and
/// enforces the time and output limits.
public enum ProcessRunner {
  /// Bounds on one run; nil fields are unbounded.
  public struct Limits: Sendable, Equatable {
    /// Wall-clock time before the program is killed.
    public var wallTime: Duration?
    /// Bytes of standard output (and, separately, of standard error) before the program is killed.
    public var outputBytes: Int?
    /// The program's address space (RLIMIT_AS): past it, its allocations fail.
    public var addressSpaceBytes: Int?
    /// The program cannot start processes of its own (a seccomp filter on Linux).
    public var forbidsNewProcesses: Bool

    public init(wallTime: Duration? = nil, outputBytes: Int? = nil, addressSpaceBytes: Int? = nil,
      forbidsNewProcesses: Bool = false)
    {
      self.wallTime = wallTime
      self.outputBytes = outputBytes
      self.addressSpaceBytes = addressSpaceBytes
      self.forbidsNewProcesses = forbidsNewProcesses
    }

    /// No bounds: the program runs to its end.
    public static let none = Limits()
  }

  /// Why a run was cut short.
  public enum Stop: Sendable, Equatable {
    case timeLimit
    case outputLimit
  }

  /// The outcome of one run.
  public struct Output: Sendable {
    /// The exit status, or 128 + the signal that ended the program.
    public var status: Int32
    public var standardOutput: Data
    public var standardError: Data
    /// Set when a limit stopped the program (it was killed).
    public var stop: Stop?
    public var text: String { String(decoding: standardOutput, as: UTF8.self) }
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }
  }

  /// The program could not be started.
  public struct LaunchError: Error, LocalizedError, Sendable {
    public var program: String
    public var code: Int32
    public var errorDescription: String? { "`\(program)`: \(String(cString: strerror(code)))" }
  }

  /// Runs `program` (a path, or a name looked up on the PATH) with no standard input.
  public static func run(_ program: String, _ arguments: [String], directory: String? = nil, limits: Limits = .none)
    throws -> Output
  {
    guard let path = executablePath(program) else { throw LaunchError(program: program, code: ENOENT) }
    var outputPipe: [Int32] = [-1, -1]
    var errorPipe: [Int32] = [-1, -1]
    guard xsm_pipe_cloexec(&outputPipe) == 0 else { throw LaunchError(program: program, code: errno) }
    guard xsm_pipe_cloexec(&errorPipe) == 0 else {
      let code = errno
      close(outputPipe[0])
      close(outputPipe[1])
      throw LaunchError(program: program, code: code)
    }
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var slot: Int32 = -1
    let pid = argv.withUnsafeBufferPointer { pointers in
      xsm_spawn(path, pointers.baseAddress, directory, outputPipe[1], errorPipe[1],
        Int64(limits.addressSpaceBytes ?? 0), limits.forbidsNewProcesses ? 1 : 0, &slot)
    }
    close(outputPipe[1])
    close(errorPipe[1])
    guard pid > 0 else {
      close(outputPipe[0])
      close(errorPipe[0])
      throw LaunchError(program: program, code: -pid)
    }
    var drain = PipeDrain(output: outputPipe[0], error: errorPipe[0], limits: limits)
    let stop = drain.run()
    if stop != nil { kill(pid, SIGKILL) }
    // Forgotten before it is reaped, so a signal handler never kills a reused pid.
    xsm_cleanup_forget(0, slot)
    var status: Int32 = 0
    var reaped: Int32
    repeat { reaped = waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
    // Reaped elsewhere (a signal handler ending the process): count it killed.
    if reaped < 0 { status = SIGKILL }
    let signal = status & 0x7f
    let exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
    return Output(status: exitStatus, standardOutput: drain.output, standardError: drain.error, stop: stop)
  }

  /// The file `program` names: a path as it is, or a name found on the PATH.
  static func executablePath(_ program: String) -> String? {
    if program.contains("/") { return program }
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    for directory in directories {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + program
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }
}

/// Reads a child's standard output and error to their ends with one `poll`
/// loop, stopping early when a limit is passed.
private struct PipeDrain {
  var output = Data()
  var error = Data()
  private var descriptors: [pollfd]
  private let limits: ProcessRunner.Limits
  private let deadline: ContinuousClock.Instant?

  init(output: Int32, error: Int32, limits: ProcessRunner.Limits) {
    for descriptor in [output, error] { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
    descriptors = [pollfd(fd: output, events: Int16(POLLIN), revents: 0), pollfd(fd: error, events: Int16(POLLIN), revents: 0)]
    self.limits = limits
    deadline = limits.wallTime.map { ContinuousClock.now + $0 }
  }

  /// Drains both pipes; closes them; says which limit stopped the run, if one did.
  mutating func run() -> ProcessRunner.Stop? {
    defer { for descriptor in descriptors where descriptor.fd >= 0 { close(descriptor.fd) } }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while descriptors.contains(where: { $0.fd >= 0 }) {
      var timeout: Int32 = -1
      if let deadline {
        let left = deadline - ContinuousClock.now
        if left <= .zero { return .timeLimit }
        timeout = Int32(min((left / .milliseconds(1)).rounded(.up), 60_000))
      }
      let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
      if ready < 0 && errno != EINTR { return nil }
      for index in descriptors.indices where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
        let count = buffer.withUnsafeMutableBytes { read(descriptors[index].fd, $0.baseAddress, $0.count) }
        if count > 0 {
          if index == 0 { output.append(contentsOf: buffer[0..<count]) } else { error.append(contentsOf: buffer[0..<count]) }
          if let limit = limits.outputBytes, (index == 0 ? output.count : error.count) > limit { return .outputLimit }
        } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
          close(descriptors[index].fd)
          descriptors[index].fd = -1
        }
      }
    }
    return nil
  }
}
