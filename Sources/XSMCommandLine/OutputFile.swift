import ArgumentParser
import CProcessControl
import Foundation

/// The one way the project's commands write an output file (`xsmc build -o`,
/// its `--origins` map, `--emit`/`--dump`, `xsmc docs`, `fmt`/`port` in
/// place, `test --junit`, xsmq's reports, xsmgen): into a temporary file
/// beside the target, made with the target's permissions (0644 less the
/// umask for a new file), synced, then renamed over the target, so a reader
/// sees the old file or the whole new one. Only a regular file is replaced:
/// a symbolic link, directory, FIFO, device or socket at the path is refused
/// (the rename would swap it for a file). `-` and `/dev/stdout` mean standard
/// output, written as a stream. Nothing is left behind when writing fails,
/// nor on SIGINT/SIGTERM/SIGHUP in a program that ran
/// `OutputFile.removeTemporariesOnSignals()`.
public enum OutputFile {
  /// Why an output was not written; the description continues "cannot write `PATH`: ".
  public struct Failure: Error, LocalizedError, Sendable {
    public var path: String
    public var reason: String
    public var errorDescription: String? { reason }
  }

  /// True for the names that stand for standard output.
  public static func isStandardOutput(_ path: String) -> Bool { path == "-" || path == "/dev/stdout" }

  /// Writes `text` to `path` (standard output for `-`).
  public static func write(_ text: String, to path: String) throws(Failure) {
    try write(Array(text.utf8), to: path)
  }

  /// Writes `bytes` to `path` (standard output for `-`).
  public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
    if isStandardOutput(path) {
      Console.current.write(bytes: bytes)
      return
    }
    let existing = try existingFile(at: path)
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
      .appendingPathComponent(".\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp").path
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw Failure(path: path, reason: errorText()) }
    let slot = xsm_cleanup_remember_file(temporary)
    defer { xsm_cleanup_forget(1, slot) }
    var failure: String?
    if let existing {
      // The replaced file's mode (open applies the umask) and, where allowed, its owner.
      if fchmod(descriptor, existing.st_mode & 0o7777) != 0 { failure = errorText() }
      if existing.st_uid != geteuid() || existing.st_gid != getegid() { _ = fchown(descriptor, existing.st_uid, existing.st_gid) }
    }
    if failure == nil { failure = writeAll(bytes, to: descriptor) }
    if failure == nil, fsync(descriptor) != 0 { failure = errorText() }
    if close(descriptor) != 0, failure == nil { failure = errorText() }
    if failure == nil, rename(temporary, path) != 0 { failure = errorText() }
    if let failure {
      unlink(temporary)
      throw Failure(path: path, reason: failure)
    }
  }

  /// Writes as `write(_:to:)` does; a failure is reported on the console as
  /// `PROGRAM: error: cannot write `PATH`: why` and thrown as exit status 2.
  public static func write(_ bytes: [UInt8], to path: String, reportingAs program: String) throws(ExitCode) {
    do {
      try write(bytes, to: path)
    } catch {
      Console.current.complain("\(program): error: cannot write `\(path)`: \(error.reason)")
      throw ExitCode(2)
    }
  }

  /// Makes SIGINT, SIGTERM and SIGHUP remove the temporary files being
  /// written (and kill and reap the m4 or other children running)
  /// before the program ends as the signal's default action ends it. The executables call it
  /// first thing; a library never does, so a host's own handlers stay.
  public static func removeTemporariesOnSignals() { xsm_cleanup_install_handlers() }

  /// The status of the regular file at `path`, nil when nothing is there;
  /// anything else at the path is refused.
  private static func existingFile(at path: String) throws(Failure) -> stat? {
    var status = stat()
    guard lstat(path, &status) == 0 else {
      if errno == ENOENT { return nil }
      throw Failure(path: path, reason: errorText())
    }
    let kind: String
    switch status.st_mode & S_IFMT {
    case S_IFREG: return status
    case S_IFLNK:
      let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
      throw Failure(path: path, reason: "it is a symbolic link to `\(target)`, which the write would replace with a "
        + "file, leaving `\(target)` as it was; name the file itself")
    case S_IFDIR:
      throw Failure(path: path, reason: "it is a directory; name a file")
    case S_IFIFO: kind = "a named pipe (FIFO)"
    case S_IFCHR: kind = "a character device"
    case S_IFBLK: kind = "a block device"
    case S_IFSOCK: kind = "a socket"
    default: kind = "not a regular file"
    }
    throw Failure(path: path, reason: "it is \(kind), and only a regular file is replaced; `-o -` writes to standard output")
  }

  /// Writes all of `bytes`; an error text when that fails.
  private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
    var offset = 0
    while offset < bytes.count {
      let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
      if count < 0 {
        if errno == EINTR { continue }
        return errorText()
      }
      offset += count
    }
    return nil
  }

  private static func errorText() -> String { String(cString: strerror(errno)) }
}
