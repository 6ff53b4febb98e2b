/// A policy rule named by where its author wrote it: the file and line of
/// the statement (in a macro body when a macro produced it), the rule as the
/// compiler read it (after m4), and the macro calls that expanded it. The
/// compiler's front end makes these (`RuleOriginMap`); the engine, explain
/// and diff print them under the binary rules they stand for.
public struct RuleCitation: Sendable, Codable, Hashable {
  /// `allow`, `auditallow`, `dontaudit`, `neverallow`, `type_transition`...
  public var kind: String
  public var file: String
  public var line: Int
  /// 0 when only the line is known.
  public var column: Int
  /// The statement after m4 expansion (`allow dom0_t domU_t:domain { pause … };`).
  public var rule: String
  /// The calls that produced the statement, outermost first (the one in a
  /// policy file, then the calls in macro bodies); empty when written as it is.
  public var macroCalls: [MacroCallSite]
  /// The `if` condition the rule sits under (`!(a && b)` for the else branch), nil when unconditional.
  public var condition: String?

  public init(kind: String, file: String, line: Int, column: Int, rule: String, macroCalls: [MacroCallSite] = [],
    condition: String? = nil)
  {
    self.kind = kind
    self.file = file
    self.line = line
    self.column = column
    self.rule = rule
    self.macroCalls = macroCalls
    self.condition = condition
  }

  /// `file:line` of the statement.
  public var location: String { "\(file):\(line)" }

  /// `via outer(a, b) at file:line, inner(…) at body:line`, nil without macro calls.
  public var viaText: String? {
    guard !macroCalls.isEmpty else { return nil }
    return "via " + macroCalls.map { "\($0.call) at \($0.file):\($0.line)" }.joined(separator: ", then ")
  }

  /// The rule with a long permission set shortened to `permissions`
  /// (`{ pause … 14 more }`; the first one when none is in the set), for one-line text output.
  public func shortRule(keeping permissions: [String], limit: Int = 6) -> String {
    guard let open = rule.lastIndex(of: "{"), let close = rule.lastIndex(of: "}"), open < close else { return rule }
    let names = rule[rule.index(after: open)..<close].split(separator: " ").map(String.init)
    guard names.count > limit else { return rule }
    let kept = names.filter(permissions.contains).prefix(limit)
    let shown = kept.isEmpty ? Array(names.prefix(1)) : Array(kept)
    let inner = shown.joined(separator: " ") + " … \(names.count - shown.count) more"
    return String(rule[..<open]) + "{ \(inner) }" + String(rule[rule.index(after: close)...])
  }
}

/// One macro call on the way from a policy file to a rule.
public struct MacroCallSite: Sendable, Codable, Hashable {
  /// The macro's name.
  public var name: String
  /// The call as written, whitespace collapsed (`toolstack_manages(dom0_t, domU_t)`).
  public var call: String
  /// Where the call is written (a policy file, or the body of the enclosing macro).
  public var file: String
  public var line: Int

  public init(name: String, call: String, file: String, line: Int) {
    self.name = name
    self.call = call
    self.file = file
    self.line = line
  }
}

/// The source rules behind one (source type, target type, class, permission)
/// question, by what they do to it.
public struct RuleCitations: Sendable, Codable, Hashable {
  /// `allow` rules that grant it (unconditional, or under an enabled branch).
  public var granting: [RuleCitation] = []
  /// `allow` rules that would grant it under a branch the booleans switch off.
  public var switchedOff: [RuleCitation] = []
  /// `allow` rules for the same source, target and class that grant other
  /// permissions: the natural place to add a missing one.
  public var closest: [RuleCitation] = []
  /// `auditallow` and `dontaudit` rules that cover it.
  public var auditing: [RuleCitation] = []
  /// `neverallow` rules that forbid it.
  public var forbidding: [RuleCitation] = []

  public init(granting: [RuleCitation] = [], switchedOff: [RuleCitation] = [], closest: [RuleCitation] = [],
    auditing: [RuleCitation] = [], forbidding: [RuleCitation] = [])
  {
    self.granting = granting
    self.switchedOff = switchedOff
    self.closest = closest
    self.auditing = auditing
    self.forbidding = forbidding
  }
}
