import ArgumentParser
import XSMCommandLine
import XSMPolicyGen

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `xsmgen`: writes a synthetic Xen FLASK policy.conf for benchmarks and tests.
@main
struct XSMGen: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "xsmgen",
    abstract: "Generate a synthetic Xen FLASK policy.conf with N guest domain types.",
    discussion: """
      The policy starts with the hypervisor's declarations, read from the flask directory \
      (security_classes, initial_sids and access_vectors, concatenated in that order), followed \
      by generated types, attributes, booleans and conditionals, constraints, type rules, \
      neverallows, roles, users, initial SID contexts and device ocontexts. Each guest has about \
      3.5 types; rule counts grow linearly with the number of guests. Output depends only on \
      --guests, --seed and the flask files.

      Compile the result with: checkpolicy -t Xen -c 30 -o policy.bin policy.conf

      Exit status: 0 on success, 2 on usage or I/O errors.
      """)

  @Option(name: .long, help: ArgumentHelp(
      "Number of guest domains (1...\(PolicyGenerator.maximumGuests)).", valueName: "N"))
  var guests: Int

  @Option(name: .long, help: ArgumentHelp("Seed of the pseudo-random choices.", valueName: "S"))
  var seed: UInt64 = PolicyGenerator.defaultSeed

  @Option(
    name: .customLong("flask-dir"),
    help: ArgumentHelp(
      "Directory holding security_classes, initial_sids and access_vectors.", valueName: "DIR"))
  var flaskDir: String = "policy/flask"

  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Write the policy to FILE (through a temporary file and a rename) instead of stdout.",
      valueName: "FILE"))
  var output: String?

  func validate() throws {
    guard guests >= 1 else { throw ValidationError("--guests must be at least 1 (got \(guests)).") }
    guard guests <= PolicyGenerator.maximumGuests else {
      throw ValidationError(
        "--guests must be at most \(PolicyGenerator.maximumGuests) (got \(guests)): larger "
          + "policies overflow libsepol's 16-bit type space.")
    }
    if let output, output.isEmpty { throw ValidationError("-o needs a file name.") }
  }

  func run() throws {
    var preamble = ""
    for name in PolicyGenerator.preambleFiles {
      let path = flaskDir.hasSuffix("/") ? flaskDir + name : flaskDir + "/" + name
      let text = try readFile(path)
      preamble += text
      if !text.isEmpty && !text.hasSuffix("\n") { preamble += "\n" }
    }
    let policy = PolicyGenerator(guests: guests, seed: seed).render(preamble: preamble)
    if let output, !OutputFile.isStandardOutput(output) {
      do {
        try OutputFile.write(policy, to: output)
      } catch {
        throw IOError(message: "cannot write \(output): \(error.reason)")
      }
    } else {
      try writeAll(fd: STDOUT_FILENO, policy, what: "standard output")
    }
  }

  static func main() {
    do {
      OutputFile.removeTemporariesOnSignals()
      var command = try parseAsRoot()
      try command.run()
    } catch let error as IOError {
      printError("xsmgen: error: \(error.message)")
      terminate(2)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        // --help, --version
        exit(withError: error)
      }
      printError(fullMessage(for: error))
      terminate(2)
    }
  }
}

func terminate(_ status: Int32) -> Never { exit(status) }

struct IOError: Error {
  var message: String
}

func printError(_ message: String) {
  let text = message.hasSuffix("\n") ? message : message + "\n"
  _ = try? writeAll(fd: STDERR_FILENO, text, what: "standard error")
}

func errnoText() -> String { String(cString: strerror(errno)) }

func readFile(_ path: String) throws -> String {
  let fd = open(path, O_RDONLY)
  guard fd >= 0 else { throw IOError(message: "cannot open \(path): \(errnoText())") }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 {
      if errno == EINTR { continue }
      throw IOError(message: "cannot read \(path): \(errnoText())")
    }
    if n == 0 { break }
    bytes += buffer[0..<n]
  }
  guard let text = String(validating: bytes, as: UTF8.self) else {
    throw IOError(message: "\(path) is not valid UTF-8")
  }
  return text
}

func writeAll(fd: Int32, _ text: String, what: String) throws {
  var text = text
  try text.withUTF8 { buf in
    var offset = 0
    while offset < buf.count {
      let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
      if n < 0 {
        if errno == EINTR { continue }
        throw IOError(message: "cannot write \(what): \(errnoText())")
      }
      offset += n
    }
  }
}

