import Foundation
import Synchronization
import Testing
import XSMCommandLine
import XSMTestSupport

/// Output files: only a regular file is replaced (a symbolic link, FIFO,
/// directory or device is refused and stays as it was), the replaced file's
/// mode is kept, `-` and /dev/stdout stream, and a failed write or build
/// leaves nothing behind.
@Suite("output files")
struct OutputFileTests {
  func scratch() throws -> String { try temporaryDirectory() }

  func entries(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
  }

  /// What is at `path` (S_IFREG, S_IFIFO, …), the link itself for a link.
  func kind(_ path: String) -> mode_t {
    var status = stat()
    return lstat(path, &status) == 0 ? status.st_mode & S_IFMT : 0
  }

  @Test func aSymbolicLinkIsRefusedAndItsTargetKept() async throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "kept\n".write(toFile: dir + "/real", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "real")
    let result = await xsmc(["build", projectPolicyDir, "-o", dir + "/link"])
    #expect(result.status == 2)
    #expect(result.err == "xsmc: error: cannot write `\(dir)/link`: it is a symbolic link to `real`, which the write "
      + "would replace with a file, leaving `real` as it was; name the file itself\n")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link") == "real")
    #expect(try String(contentsOfFile: dir + "/real", encoding: .utf8) == "kept\n")
    #expect(try entries(dir) == ["link", "real"])
  }

  @Test func aFIFOIsRefused() async throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(mkfifo(dir + "/pipe", 0o644) == 0)
    let result = await xsmc(["build", projectPolicyDir, "--emit", "conf", "-o", dir + "/pipe"])
    #expect(result.status == 2)
    #expect(result.err.hasSuffix("cannot write `\(dir)/pipe`: it is a named pipe (FIFO), and only a regular file is "
      + "replaced; `-o -` writes to standard output\n"), "\(result.err)")
    #expect(kind(dir + "/pipe") == S_IFIFO)
    #expect(try entries(dir) == ["pipe"])
  }

  @Test func aDirectoryIsRefused() async throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: false)
    let result = await xsmc(["build", projectPolicyDir, "-o", dir + "/out"])
    #expect(result.status == 2 && result.err.hasSuffix("cannot write `\(dir)/out`: it is a directory; name a file\n"))
    #expect(kind(dir + "/out") == S_IFDIR)
    #expect(try entries(dir + "/out") == [])
  }

  /// /dev/null stands for every device: refused, never replaced (as root the
  /// rename would have swapped the device for a regular file).
  @Test func aDeviceIsRefused() async throws {
    let result = await xsmc(["build", projectPolicyDir, "-o", "/dev/null"])
    #expect(result.status == 2 && result.err.contains("`/dev/null`: it is a character device"), "\(result.err)")
    #expect(kind("/dev/null") == S_IFCHR)
    #expect(try entries("/dev").allSatisfy { !$0.hasPrefix(".null.") })
  }

  @Test func aReplacedFileKeepsItsModeAndANewOneGetsTheDefault() async throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (name, mode) in [("private", 0o640), ("script", 0o755)] {
      try "old\n".write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: dir + "/" + name)
      try OutputFile.write("new\n", to: dir + "/" + name)
      let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)
      #expect(attributes[.posixPermissions] as? Int == mode, "\(name)")
      #expect(try String(contentsOfFile: dir + "/" + name, encoding: .utf8) == "new\n")
    }
    try OutputFile.write("fresh\n", to: dir + "/fresh")
    let mask = umask(0)
    umask(mask)
    let mode = try FileManager.default.attributesOfItem(atPath: dir + "/fresh")[.posixPermissions] as? Int
    #expect(mode == 0o644 & ~Int(mask))
    #expect(try entries(dir) == ["fresh", "private", "script"])
  }

  @Test(arguments: ["-", "/dev/stdout"])
  func standardOutputIsAStream(_ name: String) async throws {
    let written = Mutex<[UInt8]>([])
    let console = Console(errorIsTerminal: false, noColour: true, output: { _ in }, error: { _ in },
      bytes: { bytes in written.withLock { $0 += bytes } })
    let binary: [UInt8] = [0x8c, 0xff, 0x7c, 0xf9, 0x00, 0xfe]
    try Console.$current.withValue(console) { try OutputFile.write(binary, to: name) }
    #expect(written.withLock { $0 } == binary)
  }

  /// The binary on standard output; the summary then goes to standard error.
  @Test func aBinaryOnStandardOutput() async throws {
    let result = await xsmc(["build", projectPolicyDir, "-o", "-"])
    #expect(result.status == 0, "\(result.err)")
    #expect(result.out.utf8.count > 10_000 && result.err.contains("built \(projectPolicyDir) -> -"))
    let origins = await xsmc(["build", projectPolicyDir, "-o", "-", "--origins"])
    #expect(origins.status == 2 && origins.err.contains("-o must name a file"), "\(origins.err)")
  }

  @Test func aFailedBuildOrWriteLeavesNothing() async throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "policy_is_broken\n".write(toFile: dir + "/policy.conf", atomically: true, encoding: .utf8)
    let failed = await xsmc(["build", dir + "/policy.conf", "-o", dir + "/out", "--origins"])
    #expect(failed.status == 1)
    let missing = await xsmc(["build", projectPolicyDir, "-o", dir + "/no/such/dir/out"])
    #expect(missing.status == 2 && missing.err.contains("No such file or directory"), "\(missing.err)")
    #expect(try entries(dir) == ["policy.conf"])
  }

  /// A write cut short (a file-size limit: the kernel refuses the second
  /// write) removes its temporary file; the real binary, under prlimit.
  @Test(.enabled(if: TestEnvironment.toolPath("prlimit") != nil))
  func aWriteCutShortLeavesNoTemporaryFile() throws {
    let executable = try #require(TestEnvironment.executable("xsmc"), "xsmc is not built")
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "old\n".write(toFile: dir + "/out", atomically: true, encoding: .utf8)
    let result = try run("prlimit", ["--fsize=4096", executable, "build", projectPolicyDir, "-o", dir + "/out"])
    #expect(result.status == 2 && result.err == "xsmc: error: cannot write `\(dir)/out`: File too large\n", "\(result.err)")
    #expect(try entries(dir) == ["out"])
    #expect(try String(contentsOfFile: dir + "/out", encoding: .utf8) == "old\n")
  }
}
