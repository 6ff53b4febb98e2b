import Foundation
import XSMDiagnostics

// A policy test file (docs/policy-tests.md) decoded into a `PolicyTestFile`:
// the cases as written, before the host is loaded. Structure is checked
// here; whether ops and domains exist is checked by `PolicyTestRunner`
// against the host and the catalog, using the spans kept here.

/// A word of a test file with where it is written.
public struct PolicyTestWord: Sendable, Hashable {
  public var text: String
  public var span: SourceSpan
}

/// What a case expects.
public enum PolicyTestExpectation: String, Sendable, Codable, CaseIterable {
  /// Every question is allowed.
  case may
  /// Every question is refused (denied, or invalid: Xen refuses it whatever the module).
  case mayNot = "may-not"
  /// Every step of the domain-build sequence is allowed to the builder on the guest.
  case build
  /// Exactly the named callers may invoke each op on some target (coverage question).
  case only
  /// For each op, some caller may invoke it on some target (coverage question).
  case reachable
  /// For each op, no caller may invoke it on any target (coverage question).
  case unreachable
  /// The expectations a `[[case]]` table may give.
  public static let written: [PolicyTestExpectation] = allCases

  /// The coverage questions: asked of every caller and target of the host unless the case narrows them.
  public var asksEveryDomain: Bool { self == .only || self == .reachable || self == .unreachable }
}

/// A file's `coverage = { families = [...], min-percent = N }`: each named
/// op family must have at least that share of its catalog ops asked by the cases.
public struct PolicyCoverageRequirement: Sendable {
  public var families: [PolicyTestWord]
  public var minimumPercent: Int
  public var span: SourceSpan
}

/// The modules a case is decided under: one, or all three.
public enum PolicyTestModules: Sendable, Hashable {
  case one(XSMModule)
  case all

  public var modules: [XSMModule] {
    switch self {
    case .one(let module): [module]
    case .all: XSMModule.allCases
    }
  }
}

/// One `[[case]]` table.
public struct PolicyTestCase: Sendable {
  public var name: String
  public var expectation: PolicyTestExpectation
  /// The callers (the builder of a build case): domains as `xsmq can` names
  /// them, or `type:T` / `kind:K` for every domain of that type or kind.
  public var callers: [PolicyTestWord]
  /// The ops asked, by name or as `family.*`; empty for a build case (the sequence gives them).
  public var ops: [PolicyTestWord]
  /// The targets (the guest of a build case); empty for an op without one.
  public var targets: [PolicyTestWord]
  public var modules: PolicyTestModules
  /// `NAME=VALUE`, as `xsmq can --arg` takes them.
  public var arguments: [PolicyTestWord]
  /// Situations, as `xsmq can --situation` takes them.
  public var situations: [PolicyTestWord]
  /// A build case's build-time label: the guest is created with it, and
  /// relabelled to its own context at the end of the sequence.
  public var buildLabel: PolicyTestWord?
  /// Where the case starts (its `[[case]]` header).
  public var span: SourceSpan
}

/// A decoded test file.
public struct PolicyTestFile: Sendable {
  /// The file as named when it was parsed.
  public var file: String
  /// The system file, as written (relative to the test file); nil for the embedded default host.
  public var system: PolicyTestWord?
  /// A policy that replaces the one the system names, as written (relative to the test file).
  public var policy: PolicyTestWord?
  public var cases: [PolicyTestCase]
  /// The file's `coverage` requirement, if it has one.
  public var coverage: PolicyCoverageRequirement?
  /// The file's text by line, for the source lines of later diagnostics.
  var lines: SourceLines

  public static let topLevelKeys = ["system", "policy", "coverage", "case"]
  public static let caseKeys = ["name"] + PolicyTestExpectation.written.map(\.rawValue)
  public static let questionKeys = ["caller", "op", "target", "module", "args", "situations"]
  public static let coverageKeys = ["families", "min-percent"]
  public static let buildKeys = ["builder", "guest", "module", "label"]

  /// `path` as written in the file, made relative to the file's directory.
  public func resolve(_ path: String) -> String { SystemFile.path(path, relativeTo: file) }

  /// Decodes test-file text; spans name `file`. The file is nil when there is any error.
  public static func parse(text: String, file: String) -> (PolicyTestFile?, [Diagnostic]) {
    TOMLParser.decode(PolicyTestDecoder.self, text: text, file: file)
  }

  /// Reads and decodes a test file.
  public static func load(path: String) -> (PolicyTestFile?, [Diagnostic]) {
    TOMLParser.load(PolicyTestDecoder.self, path: path, what: "test file", id: .testfile.io)
  }
}

// MARK: - Decoding

private struct PolicyTestDecoder: TOMLDocumentDecoder {
  let file: String
  let lines: SourceLines
  var diagnostics: [Diagnostic] = []

  init(file: String, lines: SourceLines) {
    self.file = file
    self.lines = lines
  }

  mutating func report(_ id: DiagnosticID, _ message: String, _ at: SourceSpan, help: String? = nil) {
    diagnostics.append(Diagnostic(id, .error, message, span: at, help: help, sourceLine: lines.line(of: at)))
  }

  mutating func checkKeys(_ table: TOMLTable, _ keys: [String], context: String) {
    for entry in table.entries where !keys.contains(entry.key) {
      let help = Suggestion.closest(to: entry.key, in: keys).map { "did you mean `\($0)`?" }
        ?? "the keys of \(context) are " + keys.map { "`\($0)`" }.joined(separator: ", ")
      report(.testfile.unknownKey, "unknown key `\(entry.key)` in \(context)", entry.keySpan, help: help)
    }
  }

  mutating func string(_ value: TOMLValue, _ key: String) -> PolicyTestWord? {
    guard let text = value.stringValue else {
      let hint = value.intValue.map { "write `\"dom\($0)\"` or the domain's name in quotes" }
      report(.testfile.wrongType, "`\(key)` must be a string, not \(value.typeName)", value.span, help: hint)
      return nil
    }
    return PolicyTestWord(text: text, span: value.span)
  }

  /// A string or an array of strings.
  mutating func words(_ value: TOMLValue?, _ key: String) -> [PolicyTestWord] {
    guard let value else { return [] }
    guard let elements = value.arrayValue else { return string(value, key).map { [$0] } ?? [] }
    return elements.compactMap { string($0, key) }
  }

  mutating func decode(_ root: TOMLTable) -> PolicyTestFile {
    checkKeys(root, PolicyTestFile.topLevelKeys, context: "the test file")
    let system = root["system"].flatMap { string($0, "system") }
    let policy = root["policy"].flatMap { string($0, "policy") }
    let coverage = root["coverage"].flatMap { decodeCoverage($0) }
    var cases: [PolicyTestCase] = []
    if let value = root["case"] {
      if let elements = value.arrayValue {
        var names: [String: SourceSpan] = [:]
        for element in elements {
          guard let table = element.tableValue else {
            report(.testfile.wrongType, "`case` must be a table", element.span, help: "write each case as a `[[case]]` table")
            continue
          }
          guard let decoded = decodeCase(table) else { continue }
          if names[decoded.name] != nil {
            report(.testfile.duplicateName, "two cases are named `\(decoded.name)`", table["name"]?.span ?? table.span,
              help: "the runner reports cases by name; give each its own")
          }
          names[decoded.name] = decoded.span
          cases.append(decoded)
        }
      } else {
        report(.testfile.wrongType, "`case` must be an array of tables", value.span, help: "write `[[case]]`, with two brackets, for each case")
      }
    }
    if cases.isEmpty && root["case"] == nil {
      report(.testfile.missingKey, "the test file has no cases", root.span,
        help: "add a `[[case]]` table with `name` and `may`, `may-not` or `build`")
    }
    return PolicyTestFile(file: file, system: system, policy: policy, cases: cases, coverage: coverage, lines: lines)
  }

  mutating func decodeCase(_ table: TOMLTable) -> PolicyTestCase? {
    checkKeys(table, PolicyTestFile.caseKeys, context: "a `[[case]]` table")
    var name: String?
    if let value = table["name"] {
      name = string(value, "name")?.text
    } else {
      report(.testfile.missingKey, "the case has no `name`", table.span, help: "add `name = \"...\"`: the runner reports it")
    }
    let given = PolicyTestExpectation.written.filter { table[$0.rawValue] != nil }
    guard given.count == 1, let expectation = given.first else {
      let what = name.map { "case `\($0)`" } ?? "the case"
      report(.testfile.missingKey,
        given.isEmpty ? "\(what) expects nothing" : "\(what) has more than one expectation", table.span,
        help: "give exactly one of " + PolicyTestExpectation.written.map { "`\($0.rawValue) = {...}`" }.joined(separator: ", "))
      return nil
    }
    guard let body = table[expectation.rawValue]?.tableValue else {
      let value = table[expectation.rawValue]!
      report(.testfile.wrongType, "`\(expectation.rawValue)` must be a table, not \(value.typeName)", value.span,
        help: "write `\(expectation.rawValue) = { caller = \"dom0\", op = \"domctl.pausedomain\", target = \"web\" }`")
      return nil
    }
    let isBuild = expectation == .build
    checkKeys(body, isBuild ? PolicyTestFile.buildKeys : PolicyTestFile.questionKeys,
      context: "`\(expectation.rawValue)`")
    let callerKey = isBuild ? "builder" : "caller"
    let targetKey = isBuild ? "guest" : "target"
    let callers = words(body[callerKey], callerKey)
    let targets = words(body[targetKey], targetKey)
    let ops = isBuild ? [] : words(body["op"], "op")
    var required = [(callerKey, callers.isEmpty)]
    if isBuild { required.append((targetKey, targets.isEmpty)) } else { required.append(("op", ops.isEmpty)) }
    // `reachable` and `unreachable` ask every domain of the host unless `caller` narrows it.
    if expectation == .reachable || expectation == .unreachable { required.removeFirst() }
    for (key, missing) in required where missing && body[key] == nil {
      report(.testfile.missingKey, "`\(expectation.rawValue)` has no `\(key)`", body.span,
        help: isBuild ? "a build case names `builder` and `guest`"
          : expectation.asksEveryDomain && key == "op" ? "name the ops (or `family.*`) the case is about"
          : "a question names `caller`, `op` and usually `target`")
    }
    var modules = PolicyTestModules.one(.flask)
    if let value = body["module"], let word = string(value, "module") {
      if word.text == "all" {
        modules = .all
      } else if let module = XSMModule(rawValue: word.text) {
        modules = .one(module)
      } else {
        let hint = Suggestion.closest(to: word.text, in: XSMModule.allCases.map(\.rawValue) + ["all"])
        report(.testfile.wrongType, "unknown module `\(word.text)`", word.span,
          help: hint.map { "did you mean `\($0)`?" } ?? "the modules are `dummy`, `silo`, `flask` and `all`")
      }
    }
    var arguments: [PolicyTestWord] = []
    for word in isBuild ? [] : words(body["args"], "args") {
      if word.text.firstIndex(of: "=").map({ $0 != word.text.startIndex }) == true {
        arguments.append(word)
      } else {
        report(.testfile.badArgument, "`\(word.text)` is not NAME=VALUE", word.span, help: "write op arguments as `\"remote=dom0\"`")
      }
    }
    let situations = isBuild ? [] : words(body["situations"], "situations")
    let buildLabel = isBuild ? body["label"].flatMap { string($0, "label") } : nil
    let needsCallers = !(expectation == .reachable || expectation == .unreachable)
    guard let name, !needsCallers || !callers.isEmpty, isBuild ? !targets.isEmpty : !ops.isEmpty else { return nil }
    return PolicyTestCase(name: name, expectation: expectation, callers: callers, ops: ops, targets: targets,
      modules: modules, arguments: arguments, situations: situations, buildLabel: buildLabel, span: table.span)
  }

  /// `coverage = { families = ["domctl", "flask"], min-percent = 80 }`.
  mutating func decodeCoverage(_ value: TOMLValue) -> PolicyCoverageRequirement? {
    let example = "write `coverage = { families = [\"domctl\", \"evtchn\"], min-percent = 80 }`"
    guard let table = value.tableValue else {
      report(.testfile.wrongType, "`coverage` must be a table, not \(value.typeName)", value.span, help: example)
      return nil
    }
    checkKeys(table, PolicyTestFile.coverageKeys, context: "`coverage`")
    let families = words(table["families"], "families")
    var percent: Int?
    if let value = table["min-percent"] {
      if let number = value.intValue, (0...100).contains(number) {
        percent = number
      } else {
        report(.testfile.badCoverage, "`min-percent` must be an integer from 0 to 100", value.span,
          help: "the share of each family's catalog ops the cases must ask, in percent: `min-percent = 80`")
      }
    }
    for (key, missing) in [("families", families.isEmpty), ("min-percent", table["min-percent"] == nil)] where missing {
      report(.testfile.badCoverage, "`coverage` has no `\(key)`", table.span, help: example)
    }
    guard !families.isEmpty, let percent else { return nil }
    return PolicyCoverageRequirement(families: families, minimumPercent: percent, span: table.span)
  }
}
