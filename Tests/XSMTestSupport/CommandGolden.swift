import Foundation

/// Golden files of whole command runs, `Tests/Snapshots/<program>/<command>/<case>.txt`:
/// the command line, what it printed on standard output, what it printed on
/// standard error (after a line `--- stderr`, when anything) and `(exit N)`.
///
/// Outputs are made deterministic by one rule, applied to every golden: the
/// package root becomes `$ROOT`, a temporary directory `$TMP`, an xsmd URL on
/// a loopback port `http://127.0.0.1:PORT`, a duration `in 0.03 s` becomes
/// `in T s` and each member of a JSON `timings` object `T`; nothing else is rewritten, so a command that prints another
/// run-dependent value needs its case chosen so it does not.
public enum CommandGolden {
  /// One golden case: a name, and the words after the program's name.
  public struct Case: Sendable, CustomStringConvertible {
    public var name: String
    public var words: [String]
    public init(_ name: String, _ words: [String]) {
      self.name = name
      self.words = words
    }
    public var description: String { name }

    /// The leaf command this case runs: the longest of `leaves` its words start with.
    public func command(in leaves: [[String]]) -> [String]? {
      leaves.filter { words.starts(with: $0) }.max { $0.count < $1.count }
    }

    /// Whether the case asks for JSON.
    public var isJSON: Bool { words.contains("--json") }
  }

  /// The golden file's name for `golden` of `program`, run as the leaf `command`.
  public static func name(program: String, command: [String], case golden: Case) -> String {
    "\(program)/\(command.joined(separator: "-"))/\(golden.name)\(golden.isJSON ? "-json" : "").txt"
  }

  /// The golden text of one run, normalised (`temporary`: directories to call `$TMP`).
  public static func text(program: String, words: [String], status: Int32, output: String, error: String,
    temporary: [String] = []) -> String
  {
    var text = "$ " + ([program] + words).map(quoted).joined(separator: " ") + "\n" + output
    if !output.isEmpty && !output.hasSuffix("\n") { text += "\n" }
    if !error.isEmpty { text += "--- stderr\n" + error + (error.hasSuffix("\n") ? "" : "\n") }
    text += "(exit \(status))\n"
    return normalised(text, temporary: temporary)
  }

  /// `text` with the run-dependent parts replaced (the rule above).
  public static func normalised(_ text: String, temporary: [String] = []) -> String {
    var text = text
    for directory in temporary.sorted(by: { $0.count > $1.count }) {
      text = text.replacingOccurrences(of: directory, with: "$TMP")
    }
    text = text.replacingOccurrences(of: TestEnvironment.packageRoot, with: "$ROOT")
    // The members of a JSON `"timings" : {…}` object.
    var timings = false
    text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      if line.hasSuffix("\"timings\" : {") {
        timings = true
        return String(line)
      }
      if timings && line.contains("}") { timings = false }
      guard timings, let colon = line.range(of: " : ") else { return String(line) }
      return line[..<colon.upperBound] + "T" + (line.hasSuffix(",") ? "," : "")
    }.joined(separator: "\n")
    text = text.replacingOccurrences(of: #"\bin [0-9]+(\.[0-9]+)? s\b"#, with: "in T s", options: .regularExpression)
    return text.replacingOccurrences(
      of: #"http://127\.0\.0\.1:[0-9]+"#, with: "http://127.0.0.1:PORT", options: .regularExpression)
  }

  /// The leaf commands (`leaves`, with whether each takes `--json`) no case
  /// covers: each needs a human case, and one with `--json` when it takes it;
  /// and cases that would write one golden file twice.
  public static func uncovered(_ leaves: [(words: [String], json: Bool)], by cases: [Case]) -> [String] {
    let paths = leaves.map(\.words)
    var missing: [String] = []
    var files = Set<String>()
    for golden in cases {
      guard let command = golden.command(in: paths) else {
        missing.append("case `\(golden.name)` runs no command: \(golden.words)")
        continue
      }
      let file = name(program: "", command: command, case: golden)
      if !files.insert(file).inserted { missing.append("two cases write the golden file `\(file)`") }
    }
    for leaf in leaves {
      let mine = cases.filter { $0.command(in: paths) == leaf.words }
      let name = leaf.words.joined(separator: " ")
      if !mine.contains(where: { !$0.isJSON }) { missing.append("`\(name)` has no human-output case") }
      if leaf.json && !mine.contains(where: \.isJSON) { missing.append("`\(name)` has no --json case") }
    }
    return missing
  }

  /// xsmq's `output` without the host it names (its `host: ` lines and the
  /// top-level `host` object of its JSON): what a local answer and xsmd's
  /// answer to the same question share.
  public static func withoutHost(_ output: String) -> String {
    var kept: [Substring] = []
    var inHost = false
    for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
      if inHost {
        if line.hasPrefix("  }") { inHost = false }
        continue
      }
      if line == "  \"host\" : {" {
        inHost = true
        continue
      }
      if !line.hasPrefix("host: ") { kept.append(line) }
    }
    return kept.joined(separator: "\n")
  }

  private static func quoted(_ word: String) -> String {
    word.isEmpty || word.contains(where: { " \"'$*?".contains($0) }) ? "'" + word + "'" : word
  }
}
