import ArgumentParser
import Foundation

/// What the project's executables share: one exit-code convention
/// (0 ok, 1 a "no" or policy errors, 2 usage, input or I/O errors — never
/// ArgumentParser's 64) and one JSON style.
extension AsyncParsableCommand {
  /// Parses the command line, runs the chosen subcommand and exits, mapping
  /// usage errors to status 2.
  public static func mainMappingUsageErrors() async -> Never {
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      Foundation.exit(0)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))
        Foundation.exit(0)
      }
      if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
      FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
      Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
    }
  }
}

/// Pretty, key-sorted JSON with snake_case keys, as every `--json` prints.
public func encodeJSON(_ value: some Encodable) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
  encoder.keyEncodingStrategy = .convertToSnakeCase
  guard let data = try? encoder.encode(value) else { return "{}" }
  return String(decoding: data, as: UTF8.self)
}
