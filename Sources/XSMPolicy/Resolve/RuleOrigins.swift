import Foundation
import XSMDiagnostics

/// One rule of a resolved policy with where it was written and what it
/// covers after expansion: the real types of its source and target sets
/// (attributes, `*`, `~` and `-` expanded as `PolicyModel.expand` does),
/// its classes and, per class, its permissions.
public struct SourceRule: Sendable, Hashable {
  public var citation: RuleCitation
  /// Indices into `RuleOriginMap.types`, ascending.
  public var sources: [Int]
  public var targets: [Int]
  /// True when the target set names `self` (each source type is also a target of itself).
  public var targetsSelf: Bool
  public var classes: [String]
  /// The permissions for each class of `classes`, in bit order; empty for type rules.
  public var permissions: [[String]]
  /// The `if` condition in postfix form (boolean names and `!`, `&&`, `||`,
  /// `^`, `==`, `!=`), with a trailing `!` for the else branch; nil when unconditional.
  public var condition: [String]?
}

/// A map from the rules of a compiled policy back to their source: every
/// access-vector rule (allow, auditallow, dontaudit, neverallow) and type
/// rule of the resolved policy with its file, line and the macro calls that
/// produced it, and the question "which source rules grant, audit or forbid
/// this permission". Built from the front end's result (the resolved model,
/// the m4 output's `#line` markers and the macro expansion map), never from
/// the binary; `xsmc build --origins` stores it beside the binary as JSON.
public struct RuleOriginMap: Sendable, Codable, Hashable {
  /// What the JSON file is (`format`) and which layout it has (`version`).
  public static let formatName = "xsmtools-rule-origins"
  public static let currentVersion = 1

  public var format = RuleOriginMap.formatName
  public var version = RuleOriginMap.currentVersion
  /// The tree or policy.conf the map was built from, as named to the compiler.
  public var source: String
  /// SHA-256 (hex) of the binary the source compiled to, when the map is stored beside it.
  public var binaryDigest: String?
  /// Real types, in declaration order.
  public var types: [String]
  /// Boolean defaults, for rules under `if`.
  public var booleans: [String: Bool]
  public var rules: [SourceRule]

  /// The map of a front end run that resolved (nil when it did not).
  public init?(_ frontend: FrontendResult, source: String) {
    guard let model = frontend.model else { return nil }
    self.source = source
    types = model.typeOrder
    booleans = model.booleans
    rules = []
    var builder = Builder(model: model, frontend: frontend)
    builder.add(model.syntax.statements, condition: nil)
    rules = builder.rules
  }

  /// Which source rules grant, would grant, audit or forbid `permission` of
  /// `className` for (source type, target type) under `booleans` (the map's
  /// defaults for booleans not named), and which grant the same pair other
  /// permissions of the class.
  public func citations(source: String, target: String, className: String, permission: String,
    booleans values: [String: Bool] = [:]) -> RuleCitations
  {
    var result = RuleCitations()
    guard let s = types.firstIndex(of: source), let t = types.firstIndex(of: target) else { return result }
    let booleans = self.booleans.merging(values) { _, given in given }
    for rule in rules where !rule.permissions.isEmpty {
      guard rule.sources.contains(s), rule.targets.contains(t) || (rule.targetsSelf && s == t),
        let classIndex = rule.classes.firstIndex(of: className)
      else { continue }
      let covers = rule.permissions[classIndex].contains(permission)
      switch rule.citation.kind {
      case AccessRuleKind.allow.rawValue:
        let active = rule.condition.map { Self.evaluate($0, booleans) } ?? true
        if covers {
          if active { result.granting.append(rule.citation) } else { result.switchedOff.append(rule.citation) }
        } else if active {
          result.closest.append(rule.citation)
        }
      case AccessRuleKind.neverallow.rawValue where covers:
        result.forbidding.append(rule.citation)
      case AccessRuleKind.auditallow.rawValue where covers, AccessRuleKind.dontaudit.rawValue where covers:
        result.auditing.append(rule.citation)
      default:
        break
      }
    }
    return result
  }

  // MARK: - Stored form

  /// The JSON keys; rules are stored with the file names in one table (`files`).
  enum CodingKeys: String, CodingKey {
    case format, version, source, binaryDigest, types, booleans, files, calls, rules
  }

  /// A rule as the JSON stores it: files as indices into `files`, its macro
  /// calls as an index into `calls` (one chain serves every rule a call produced), short keys.
  private struct StoredRule: Codable {
    var kind: String
    var file: Int
    var line: Int
    var col: Int
    var rule: String
    /// The condition's text (`!(a && b)` for an else branch).
    var cond: String?
    /// The condition in postfix form.
    var postfix: [String]?
    /// Index of its chain of macro calls in `calls`.
    var via: Int?
    var src: [Int]
    var tgt: [Int]
    var selfTarget: Bool?
    var classes: [String]
    var perms: [[String]]
  }

  private struct StoredCall: Codable {
    var name: String
    var call: String
    var file: Int
    var line: Int
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    format = try container.decode(String.self, forKey: .format)
    version = try container.decode(Int.self, forKey: .version)
    source = try container.decode(String.self, forKey: .source)
    binaryDigest = try container.decodeIfPresent(String.self, forKey: .binaryDigest)
    types = try container.decode([String].self, forKey: .types)
    booleans = try container.decode([String: Bool].self, forKey: .booleans)
    let files = try container.decode([String].self, forKey: .files)
    let chains = try container.decode([[StoredCall]].self, forKey: .calls)
    func file(_ index: Int) throws -> String {
      guard files.indices.contains(index) else {
        throw DecodingError.dataCorruptedError(forKey: .files, in: container, debugDescription: "no file \(index)")
      }
      return files[index]
    }
    rules = try container.decode([StoredRule].self, forKey: .rules).map { stored in
      guard stored.via.map(chains.indices.contains) ?? true else {
        throw DecodingError.dataCorruptedError(forKey: .calls, in: container, debugDescription: "no call chain \(stored.via!)")
      }
      let calls = try (stored.via.map { chains[$0] } ?? []).map {
        MacroCallSite(name: $0.name, call: $0.call, file: try file($0.file), line: $0.line)
      }
      return SourceRule(
        citation: RuleCitation(kind: stored.kind, file: try file(stored.file), line: stored.line, column: stored.col,
          rule: stored.rule, macroCalls: calls, condition: stored.cond),
        sources: stored.src, targets: stored.tgt, targetsSelf: stored.selfTarget ?? false, classes: stored.classes,
        permissions: stored.perms, condition: stored.postfix)
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(format, forKey: .format)
    try container.encode(version, forKey: .version)
    try container.encode(source, forKey: .source)
    try container.encodeIfPresent(binaryDigest, forKey: .binaryDigest)
    try container.encode(types, forKey: .types)
    try container.encode(booleans, forKey: .booleans)
    var files: [String] = []
    var fileIndex: [String: Int] = [:]
    func index(_ file: String) -> Int {
      if let known = fileIndex[file] { return known }
      files.append(file)
      fileIndex[file] = files.count - 1
      return files.count - 1
    }
    var chains: [[StoredCall]] = []
    var chainIndex: [[MacroCallSite]: Int] = [:]
    func chain(_ calls: [MacroCallSite]) -> Int? {
      guard !calls.isEmpty else { return nil }
      if let known = chainIndex[calls] { return known }
      chains.append(calls.map { StoredCall(name: $0.name, call: $0.call, file: index($0.file), line: $0.line) })
      chainIndex[calls] = chains.count - 1
      return chains.count - 1
    }
    let stored = rules.map { rule in
      let c = rule.citation
      return StoredRule(kind: c.kind, file: index(c.file), line: c.line, col: c.column, rule: c.rule, cond: c.condition,
        postfix: rule.condition,
        via: chain(c.macroCalls),
        src: rule.sources, tgt: rule.targets, selfTarget: rule.targetsSelf ? true : nil, classes: rule.classes,
        perms: rule.permissions)
    }
    try container.encode(files, forKey: .files)
    try container.encode(chains, forKey: .calls)
    try container.encode(stored, forKey: .rules)
  }

  /// Evaluates a postfix condition; an unknown boolean counts as false.
  static func evaluate(_ postfix: [String], _ booleans: [String: Bool]) -> Bool {
    var stack: [Bool] = []
    for item in postfix {
      switch item {
      case "!":
        guard let x = stack.popLast() else { return false }
        stack.append(!x)
      case "&&", "||", "^", "==", "!=":
        guard let y = stack.popLast(), let x = stack.popLast() else { return false }
        switch item {
        case "&&": stack.append(x && y)
        case "||": stack.append(x || y)
        case "^", "!=": stack.append(x != y)
        default: stack.append(x == y)
        }
      default:
        stack.append(booleans[item] ?? false)
      }
    }
    return stack.last ?? false
  }

  /// Collects the rules of the statements, in source order.
  private struct Builder {
    let model: PolicyModel
    let macros: MacroExpansionMap?
    /// Output line of the parsed text → the file and line m4 named for it.
    let outputOrigins: [SourceLineOrigin]
    let typeIndex: [String: Int]
    var rules: [SourceRule] = []

    init(model: PolicyModel, frontend: FrontendResult) {
      self.model = model
      macros = frontend.macroExpansions
      outputOrigins = macros == nil ? [] : Self.origins(of: frontend.expandedText ?? "", map: frontend.sourceMap)
      typeIndex = Dictionary(model.typeOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The original line each line of m4's output stands for, following `#line N "file"` as the lexer does.
    static func origins(of text: String, map: SourceMap) -> [SourceLineOrigin] {
      var result: [SourceLineOrigin] = []
      var file = map.primaryFile
      var line = 1
      for text in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if text.hasPrefix("#line ") {
          let parts = text.dropFirst(6).split(separator: " ", maxSplits: 1)
          if let first = parts.first, let number = Int(first) {
            if parts.count == 2 {
              let quoted = parts[1].trimmingCharacters(in: .whitespaces)
              if quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\"") { file = String(quoted.dropFirst().dropLast()) }
            }
            result.append(SourceLineOrigin(file: file, line: line))
            line = number
            continue
          }
        }
        result.append(map.origin(of: file, line: line))
        line += 1
      }
      return result
    }

    mutating func add(_ statements: [Statement], condition: (text: String, postfix: [String])?) {
      for statement in statements {
        switch statement.kind {
        case .conditional(let expression, let then, let otherwise):
          let text = PolicyPrinter.render(expression)
          let postfix = Self.postfix(expression)
          add(then, condition: (text, postfix))
          add(otherwise, condition: ("!(\(text))", postfix + ["!"]))
        case .accessRule(let kind, let source, let target, let classes, let permissions):
          let classNames = model.expand(classSet: classes)
          add(statement, kind.rawValue, source, target, classNames,
            classNames.map { model.expand(permissionSet: permissions, in: $0) }, condition)
        case .typeRule(let kind, let source, let target, let classes, _):
          add(statement, kind.rawValue, source, target, model.expand(classSet: classes), [], condition)
        default:
          break
        }
      }
    }

    private mutating func add(_ statement: Statement, _ kind: String, _ source: NameSet, _ target: NameSet,
      _ classes: [String], _ permissions: [[String]], _ condition: (text: String, postfix: [String])?)
    {
      let sources = model.expand(typeSet: source).compactMap { typeIndex[$0] }.sorted()
      let targets = model.expand(typeSet: target).compactMap { typeIndex[$0] }.sorted()
      let targetsSelf = target.included.contains { $0.text == "self" }
      guard !sources.isEmpty, !targets.isEmpty || targetsSelf, !classes.isEmpty else { return }
      let span = statement.span
      var calls: [MacroCallSite] = []
      if let macros, statement.outputLine >= 1, statement.outputLine <= outputOrigins.count {
        calls = macros.calls(producing: span, forCallOn: outputOrigins[statement.outputLine - 1])
      }
      let citation = RuleCitation(kind: kind, file: span.file, line: span.line, column: span.column,
        rule: PolicyPrinter.render(statement.kind), macroCalls: calls, condition: condition?.text)
      rules.append(SourceRule(citation: citation, sources: sources, targets: targets, targetsSelf: targetsSelf,
        classes: classes, permissions: permissions, condition: condition?.postfix))
    }

    static func postfix(_ expression: ConditionalExpression) -> [String] {
      switch expression {
      case .boolean(let name): [name.text]
      case .not(let e): postfix(e) + ["!"]
      case .and(let a, let b): postfix(a) + postfix(b) + ["&&"]
      case .or(let a, let b): postfix(a) + postfix(b) + ["||"]
      case .xor(let a, let b): postfix(a) + postfix(b) + ["^"]
      case .equal(let a, let b): postfix(a) + postfix(b) + ["=="]
      case .notEqual(let a, let b): postfix(a) + postfix(b) + ["!="]
      }
    }
  }
}
