import Foundation

/// The command examples of a Markdown page, checked against what the commands
/// print: a ```` ```sh ```` block of command lines, then `<!-- output -->` and
/// a block holding, for each command, `$ COMMAND`, its standard output and
/// `(exit N)`.
///
/// A long output may be shown in part: its first lines, a line
/// `… (K more lines)`, and optionally its last lines; the check then wants
/// exactly K lines in between. `XSM_UPDATE_SNAPSHOTS=1` rewrites every output
/// block from what the commands print now, cutting outputs longer than
/// `longOutput` lines that way.
public struct CommandBlocks {
  /// One ```` ```sh ```` block with the output block that follows it.
  public struct Example: Sendable {
    /// Line number (1-based) of the ```` ```sh ```` line.
    public var line: Int
    public var commands: [String]
    /// The lines of the output block, without its fences; nil when the page shows none.
    public var shown: [String]?
    /// Line range (0-based, fences excluded) of the output block in the page.
    var outputLines: Range<Int>?
  }

  /// What a command printed and how it ended.
  public struct Run: Sendable {
    public var output: String
    public var status: Int32
    public init(output: String, status: Int32) {
      self.output = output
      self.status = status
    }
  }

  public let path: String
  public private(set) var lines: [String]
  public private(set) var examples: [Example] = []
  /// Outputs longer than this are cut when the page is rewritten.
  public var longOutput = 40

  public init(path: String) throws {
    self.path = path
    lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
    var index = 0
    while index < lines.count {
      guard lines[index] == "```sh" else {
        index += 1
        continue
      }
      let start = index
      var commands: [String] = []
      index += 1
      while index < lines.count, lines[index] != "```" {
        if !lines[index].isEmpty { commands.append(lines[index]) }
        index += 1
      }
      var example = Example(line: start + 1, commands: commands, shown: nil, outputLines: nil)
      var next = index + 1
      while next < lines.count, lines[next].isEmpty { next += 1 }
      if next + 1 < lines.count, lines[next] == "<!-- output -->", lines[next + 1] == "```" {
        var end = next + 2
        while end < lines.count, lines[end] != "```" { end += 1 }
        example.outputLines = (next + 2)..<end
        example.shown = Array(lines[(next + 2)..<end])
        index = end
      }
      examples.append(example)
      index += 1
    }
  }

  /// The output block `runs` (one per command, in order) should show.
  func block(for example: Example, runs: [Run], cut: Bool) -> [String] {
    var out: [String] = []
    for (command, run) in zip(example.commands, runs) {
      if !out.isEmpty { out.append("") }
      out.append("$ " + command)
      var printed = run.output.components(separatedBy: "\n")
      if printed.last == "" { printed.removeLast() }
      if cut, printed.count > longOutput {
        let head = longOutput / 2
        let tail = 3
        out += printed.prefix(head)
        out.append("… (\(printed.count - head - tail) more lines)")
        out += printed.suffix(tail)
      } else {
        out += printed
      }
      out.append("(exit \(run.status))")
    }
    return out
  }

  /// Nil when `shown` is what `runs` print (honouring `… (K more lines)`), else the first difference.
  public func difference(_ example: Example, runs: [Run]) -> String? {
    guard let shown = example.shown else { return nil }
    let expected = block(for: example, runs: runs, cut: false)
    var e = 0
    for (number, line) in shown.enumerated() {
      if let skipped = Self.skippedCount(line) {
        // The lines after the marker must follow exactly `skipped` lines later.
        e += skipped
        continue
      }
      guard e < expected.count else {
        return "\(path):\(example.line): the page shows more lines than the commands print (from `\(line)`)"
      }
      if expected[e] != line {
        return "\(path):\(example.line): output line \(number + 1) is `\(line)`, the command prints `\(expected[e])`"
      }
      e += 1
    }
    return e == expected.count
      ? nil : "\(path):\(example.line): the commands print \(expected.count - e) more lines than the page shows"
  }

  /// Rewrites every shown output from `runs` (one list per example) and saves the page.
  public mutating func rewrite(with runs: [[Run]]) throws {
    for (example, result) in zip(examples, runs).reversed() {
      guard let range = example.outputLines else { continue }
      lines.replaceSubrange(range, with: block(for: example, runs: result, cut: true))
    }
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// K of a `… (K more lines)` line.
  static func skippedCount(_ line: String) -> Int? {
    guard line.hasPrefix("… ("), line.hasSuffix(" more lines)") || line.hasSuffix(" more line)") else { return nil }
    return Int(line.dropFirst(3).prefix { $0.isNumber })
  }

  /// Splits a command line into words: spaces separate, single and double quotes group.
  public static func words(_ line: String) -> [String] {
    var words: [String] = []
    var current = ""
    var quote: Character?
    var inWord = false
    for c in line {
      if let q = quote {
        if c == q { quote = nil } else { current.append(c) }
      } else if c == "'" || c == "\"" {
        quote = c
        inWord = true
      } else if c == " " {
        if inWord { words.append(current) }
        current = ""
        inWord = false
      } else {
        current.append(c)
        inWord = true
      }
    }
    if inWord { words.append(current) }
    return words
  }
}
