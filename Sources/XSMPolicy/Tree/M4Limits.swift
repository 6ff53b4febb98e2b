import Foundation

/// What m4 may do while it expands a tree: how long it may run, how much it
/// may output and allocate, and whether its shell builtins (`esyscmd`,
/// `syscmd`) may run commands. A tree comes from elsewhere as often as not,
/// so the defaults are generous for real trees (refpolicy expands in about a
/// second to a few megabytes) and still end a runaway macro.
public struct M4Limits: Sendable, Equatable {
  /// Wall-clock time for each m4 run (`--m4-time-limit`).
  public var time: Duration
  /// Bytes m4 may write (`--m4-output-limit`, in MiB).
  public var outputBytes: Int
  /// m4's address space in bytes (RLIMIT_AS; `--m4-memory-limit`, in MiB).
  public var memoryBytes: Int
  /// `esyscmd` and `syscmd` run their commands (`--allow-m4-shell`); without
  /// it a call is a located `tree.m4-shell-refused` error, and m4 cannot start
  /// processes at all (a seccomp filter, where the system has one).
  public var allowsShell: Bool

  public static let defaultTimeSeconds = 120
  public static let defaultOutputMiB = 256
  public static let defaultMemoryMiB = 2048

  public init(
    time: Duration = .seconds(defaultTimeSeconds), outputBytes: Int = defaultOutputMiB << 20,
    memoryBytes: Int = defaultMemoryMiB << 20, allowsShell: Bool = false
  ) {
    self.time = time
    self.outputBytes = outputBytes
    self.memoryBytes = memoryBytes
    self.allowsShell = allowsShell
  }

  /// The process limits of one m4 run.
  var processLimits: ProcessRunner.Limits {
    ProcessRunner.Limits(wallTime: time, outputBytes: outputBytes, addressSpaceBytes: memoryBytes,
      forbidsNewProcesses: !allowsShell)
  }

  /// The marker the refusing definitions print before the builtin's name.
  static let refusalMarker = "xsmc-refused-shell-builtin "

  /// `-D` options that replace the shell builtins with a refusal m4 prints at
  /// the call's file and line (as its own errors are printed) before it stops.
  /// A call through `builtin` gets past them; the seccomp filter stops that one.
  var shellRefusalDefinitions: [String] {
    guard !allowsShell else { return [] }
    return ["esyscmd", "syscmd"].flatMap { name in
      ["-D", "\(name)=errprint(`m4:'__file__`:'__line__`: \(Self.refusalMarker)\(name)\n')m4exit(`1')"]
    }
  }

  /// A byte count in MiB (KiB below one MiB).
  static func describe(bytes: Int) -> String {
    bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : (bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1048576) : "\(bytes >> 10) KiB")
  }

  /// A duration in seconds, for a message.
  static func describe(seconds duration: Duration) -> String {
    let seconds = duration / .seconds(1)
    return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.2g s", seconds)
  }
}
