import Foundation

/// The terminal transcripts of a Markdown page (the main README's style): a
/// ```` ``` ```` block whose first line is `$ COMMAND`, each `$ ` line a
/// command and the lines up to the next one what it prints (standard output,
/// then standard error). A line `...` stands for any number of lines,
/// `… (K more lines)` for exactly K, and a line ending in ` ...` for any line
/// that starts with the text before it.
///
/// A block the test must not run is marked on the line before its fence
/// (blank lines between are allowed) with `<!-- not run: REASON -->`, e.g.
/// one that needs a file the repository does not hold, a shell pipeline or a
/// running xsmd; a ```` ```sh ```` block (commands to type, no output) needs
/// the same mark, so every block is either checked or skipped on purpose.
public struct Transcripts {
  /// One command of a block and the lines shown for it.
  public struct Command: Sendable {
    public var line: String
    public var shown: [String]
  }

  /// One block: where it is, its commands, and why it is not run (nil: it is run).
  public struct Block: Sendable {
    /// Line number (1-based) of the opening fence.
    public var line: Int
    public var commands: [Command]
    public var notRun: String?
  }

  public let path: String
  public private(set) var blocks: [Block] = []
  /// ```` ```sh ```` blocks without a `not run` mark, by line: each is an error.
  public private(set) var unmarked: [Int] = []

  public init(path: String) throws {
    self.path = path
    let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    var index = 0
    var mark: String?
    while index < lines.count {
      let line = lines[index]
      if let reason = Self.notRunReason(line) {
        mark = reason
        index += 1
        continue
      }
      guard line.hasPrefix("```") else {
        if !line.isEmpty { mark = nil }
        index += 1
        continue
      }
      let start = index
      var body: [String] = []
      index += 1
      while index < lines.count, lines[index] != "```" {
        body.append(lines[index])
        index += 1
      }
      index += 1
      if line == "```sh" {
        if mark == nil { unmarked.append(start + 1) }
      } else if line == "```", body.first?.hasPrefix("$ ") == true {
        var commands: [Command] = []
        for text in body {
          if text.hasPrefix("$ ") {
            commands.append(Command(line: String(text.dropFirst(2)), shown: []))
          } else {
            commands[commands.count - 1].shown.append(text)
          }
        }
        blocks.append(Block(line: start + 1, commands: commands, notRun: mark))
      }
      mark = nil
    }
  }

  /// REASON of a `<!-- not run: REASON -->` line.
  static func notRunReason(_ line: String) -> String? {
    guard line.hasPrefix("<!-- not run: "), line.hasSuffix(" -->") else { return nil }
    return String(line.dropFirst("<!-- not run: ".count).dropLast(" -->".count))
  }

  /// Nil when `printed` is what `command` shows (honouring `...` and
  /// `… (K more lines)`), else the first line that differs.
  public static func difference(_ command: Command, printed: String) -> String? {
    var actual = printed.components(separatedBy: "\n")
    if actual.last == "" { actual.removeLast() }
    var shown = command.shown
    while shown.last == "" { shown.removeLast() }
    return match(shown[...], actual[...])
  }

  private static func match(_ shown: ArraySlice<String>, _ actual: ArraySlice<String>) -> String? {
    var a = actual.startIndex
    var s = shown.startIndex
    while s < shown.endIndex {
      let line = shown[s]
      if line == "..." {
        let rest = shown[(s + 1)...]
        if rest.isEmpty { return nil }
        // The fewest lines that let the rest match.
        var firstFailure: String?
        for skip in a...actual.endIndex {
          guard let failure = match(rest, actual[skip...]) else { return nil }
          if firstFailure == nil { firstFailure = failure }
        }
        return firstFailure
      }
      if let skipped = CommandBlocks.skippedCount(line) {
        a += skipped
        s += 1
        continue
      }
      guard a < actual.endIndex else { return "the page shows `\(line)`, the command prints no more lines" }
      // A line cut short with ` ...` shows the start of the printed line.
      let cut = line.hasSuffix(" ...") ? String(line.dropLast(3)) : nil
      if actual[a] != line && !(cut.map { actual[a].hasPrefix($0) } ?? false) { return "the page shows `\(line)`, the command prints `\(actual[a])`" }
      a += 1
      s += 1
    }
    return a >= actual.endIndex ? nil : "the command prints more lines than the page shows, from `\(actual[a])`"
  }
}
