import ArgumentParser
import Foundation
import XSMDiagnostics

/// What the project's executables share: one exit-code convention
/// (0 ok, 1 a "no" or policy errors, 2 usage, input or I/O errors — never
/// ArgumentParser's 64) and one JSON style.
extension AsyncParsableCommand {
  /// Parses the command line, runs the chosen subcommand and exits, mapping
  /// usage errors to status 2.
  public static func mainMappingUsageErrors() async -> Never {
    Foundation.exit(await execute(Array(CommandLine.arguments.dropFirst())))
  }

  /// Parses `arguments`, runs the chosen subcommand and returns its exit
  /// status; help, usage errors and failures are written to `Console.current`.
  public static func execute(_ arguments: [String]) async -> Int32 {
    let console = Console.current
    do {
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      return 0
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        console.say(fullMessage(for: error))
        return 0
      }
      if let exit = error as? ExitCode { return exit.rawValue }
      console.complain(fullMessage(for: error))
      return code == .validationFailure ? 2 : code.rawValue
    }
  }

  /// Runs `arguments` in this process with the output captured, as a test
  /// runs a command: its exit status, standard output and standard error.
  public static func run(capturing arguments: [String]) async -> (status: Int32, output: String, error: String) {
    let captured = CapturedOutput()
    let status = await Console.$current.withValue(captured.console) { await execute(arguments) }
    return (status, captured.output, captured.error)
  }
}

/// JSON as every `--json` prints it (`JSONStyle`: pretty, sorted, snake_case keys).
public func encodeJSON(_ value: some Encodable) -> String {
  guard let data = try? JSONStyle.encoder().encode(value) else { return "{}" }
  return String(decoding: data, as: UTF8.self)
}
