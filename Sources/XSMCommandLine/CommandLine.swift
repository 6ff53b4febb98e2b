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
      if code == .validationFailure, let hint = unknownWordHint(arguments) { console.complain(hint) }
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

/// A program that can say more about a word that names none of its
/// commands (xsmq: an op name typed where a command belongs).
public protocol AdvisesOnUnknownWords {
  /// Advice for `word`, met where a subcommand of `path` (the command words
  /// before it) was expected; nil when there is nothing to say.
  static func advice(forUnknownWord word: String, after path: [String]) -> String?
}

extension AsyncParsableCommand {
  /// For a command line that failed to parse: when a word stands where a
  /// subcommand belongs and names none, the closest names (`did you mean`)
  /// and the program's own advice for the word.
  static func unknownWordHint(_ arguments: [String]) -> String? {
    var command: any ParsableCommand.Type = Self.self
    var path = [Self._commandName]
    for word in arguments {
      guard !word.hasPrefix("-") else { return nil }
      let subcommands = command.configuration.subcommands
      guard !subcommands.isEmpty else { return nil }
      if let next = subcommands.first(where: { Self.names(of: $0).contains(word) }) {
        command = next
        path.append(word)
        continue
      }
      var lines: [String] = []
      let names = subcommands.flatMap { Self.names(of: $0) }
      // The nearest name by edits, else those the word starts (`load` for `lo`).
      let close = Suggestion.closest(to: word, in: names).map { [$0] } ?? names.filter { $0.hasPrefix(word) }
      // A command one level further down (`xsmq getenforce` for `xsmq flask getenforce`).
      let deeper = subcommands.filter { sub in sub.configuration.subcommands.contains { Self.names(of: $0).contains(word) } }
      for parent in deeper {
        lines.append("hint: did you mean `\((path + [parent._commandName, word]).joined(separator: " "))`?")
      }
      if !close.isEmpty {
        lines.append("hint: `\(path.joined(separator: " ")) \(word)`: no such command; did you mean \(close.map { "`\($0)`" }.joined(separator: " or "))?")
      }
      if let advisor = Self.self as? any AdvisesOnUnknownWords.Type,
        let advice = advisor.advice(forUnknownWord: word, after: path)
      {
        lines.append("hint: " + advice)
      }
      if lines.isEmpty {
        lines.append("hint: `\(path.joined(separator: " "))` has the commands \(names.joined(separator: ", "))")
      }
      return lines.joined(separator: "\n")
    }
    return nil
  }

  private static func names(of command: any ParsableCommand.Type) -> [String] {
    [command._commandName] + (command.configuration.aliases)
  }
}

extension ParsableCommand {
  /// `--help` of this command and of every subcommand below it (not `help`
  /// itself), each under a `=== PROGRAM SUB --help` line, wrapped at
  /// `columns`: what the help golden files hold.
  public static func everyHelpText(columns: Int = 80) -> String {
    var text = ""
    func walk(_ command: any ParsableCommand.Type, _ path: [any ParsableCommand.Type]) {
      let names = ([Self.self] + path).map { $0._commandName }
      text += "=== \(names.joined(separator: " ")) --help\n" + helpMessage(for: command, columns: columns) + "\n\n"
      for sub in command.configuration.subcommands where sub._commandName != "help" {
        walk(sub, path + [sub])
      }
    }
    walk(Self.self, [])
    return text
  }
}

extension ParsableCommand {
  /// Every command below this one that does the work (one without
  /// subcommands, `help` aside), as the words after the program's name, and
  /// whether it takes `--json`: what the output golden files must cover.
  public static func leafCommands() -> [(words: [String], json: Bool)] {
    var leaves: [(words: [String], json: Bool)] = []
    func walk(_ command: any ParsableCommand.Type, _ words: [String]) {
      let subcommands = command.configuration.subcommands.filter { $0._commandName != "help" }
      guard subcommands.isEmpty else {
        for sub in subcommands { walk(sub, words + [sub._commandName]) }
        return
      }
      leaves.append((words, helpMessage(for: command, columns: 400).contains("--json")))
    }
    walk(Self.self, [])
    return leaves
  }
}
