import XSMCatalog

/// The rows the C, Rust and Go bindings share, flattened from an
/// `OpCatalog` once so the three languages carry exactly the same data.
///
/// Checks are one row per permission: a catalog check `domain:a+b` becomes
/// two rows with the same subject, object and condition (all rows whose
/// condition holds must pass, so the meaning is unchanged).
struct BindingTable {
  /// One flask permission an op needs.
  struct Check {
    var securityClass: String
    var permission: String
    /// Endpoint name as the catalog writes it (`current`, `channel`, `xen_t`).
    var subject: String
    var object: String
    /// True when the object is the plain SID (`target(raw)`) rather than the derived one.
    var objectRaw: Bool
    /// The situation the row applies in, or nil when it always applies.
    var condition: String?
    /// True for `unless`: the row applies when the situation does not hold.
    var conditionNegated: Bool
    /// `class:perm` the code meant to check, when it checks another by mistake.
    var intended: String?
  }

  /// One step of the dummy module's rule.
  struct DummyRule {
    var action: DummyAction
    var other: Bool
    var subject: String
    var object: String
    var condition: String?
    var conditionNegated: Bool
  }

  /// What flask does, in one word.
  enum FlaskRule: String {
    /// The checks rows apply.
    case checks
    /// The hook makes no permission check.
    case noCheck = "no_check"
    /// Flask has no case for the op (`avc_unknown_permission`).
    case unclassified
    /// The path calls no XSM hook at all.
    case noHook = "no_hook"
  }

  /// Everything one op's binding row holds.
  struct Row {
    var op: Op
    var id: UInt64
    var flask: FlaskRule
    var checks: [Check]
    var dummy: [DummyRule]
    /// Split ops that take this legacy op over (canonical names).
    var replacedBy: [String]
    /// `unsplit`, `retire` or empty.
    var coverage: String
  }

  var rows: [Row]
  /// Hypercalls by number, each once, sorted by number.
  var hypercalls: [Hypercall]
  /// Families with their FNV-1a-32 hash, sorted by name.
  var families: [(name: String, hash: UInt32)]

  init(_ catalog: OpCatalog) {
    rows = catalog.opsInOutputOrder.map { op in
      let flask: FlaskRule
      if op.hooks.isEmpty {
        flask = .noHook
      } else if !op.checks.isEmpty {
        flask = .checks
      } else {
        flask = op.flask == .unclassified ? .unclassified : .noCheck
      }
      let checks = op.checks.flatMap { check in
        check.permissions.map { permission in
          Check(
            securityClass: check.securityClass, permission: permission, subject: check.subject.description,
            object: check.object.name, objectRaw: check.object.raw, condition: check.condition?.name,
            conditionNegated: check.condition?.negated ?? false, intended: check.intended?.description)
        }
      }
      let dummy = (op.hooks.isEmpty ? [] : op.dummy).map { step in
          DummyRule(
            action: step.action, other: step.other, subject: step.subject.description, object: step.object.description,
            condition: step.condition?.name, conditionNegated: step.condition?.negated ?? false)
        }
      var coverage = ""
      var replacedBy: [String] = []
      if op.kind == .legacy {
        replacedBy = catalog.splitOps(replacingAnyNameOf: op).map(\.name)
        if replacedBy.isEmpty, let rule = catalog.coverageRule(for: op.name) { coverage = rule.kind.rawValue }
      }
      return Row(
        op: op, id: OpIdentifier.id(of: op), flask: flask, checks: checks, dummy: dummy, replacedBy: replacedBy,
        coverage: coverage)
    }
    var calls: [Int: Hypercall] = [:]
    for op in catalog.ops {
      if let call = op.hypercall, calls[call.number] == nil { calls[call.number] = call }
    }
    hypercalls = calls.keys.sorted().compactMap { calls[$0] }
    families = catalog.sortedFamilies.map { ($0, OpIdentifier.fnv1a32($0)) }
  }

  /// The canonical names of the legacy ops a split op replaces (aliases resolved).
  static func replacedNames(_ op: Op, in catalog: OpCatalog) -> [String] {
    op.replaces.map { catalog.op(named: $0)?.name ?? $0 }
  }
}

/// String literals for the three languages.
enum Literal {
  /// A C string literal: quotes, backslashes and control characters escaped,
  /// and `??` broken up so no trigraph can form.
  static func c(_ text: String) -> String {
    var out = "\""
    var previous: Character?
    for ch in text {
      switch ch {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "?" where previous == "?": out += "\\?"
      default:
        if let ascii = ch.asciiValue, ascii < 0x20 || ascii == 0x7f {
          out += "\\" + String(ascii, radix: 8).leftPadded(to: 3)
        } else {
          out.append(ch)
        }
      }
      previous = ch
    }
    return out + "\""
  }

  /// A Rust string literal.
  static func rust(_ text: String) -> String {
    quoted(text) { "\\u{" + String($0, radix: 16) + "}" }
  }

  /// A Go interpreted string literal.
  static func go(_ text: String) -> String {
    quoted(text) { "\\x" + String($0, radix: 16).leftPadded(to: 2) }
  }

  /// A double-quoted literal with the escapes Rust and Go share; other
  /// control characters are written by `control`.
  private static func quoted(_ text: String, control: (UInt8) -> String) -> String {
    var out = "\""
    for ch in text {
      switch ch {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default:
        if let ascii = ch.asciiValue, ascii < 0x20 || ascii == 0x7f {
          out += control(ascii)
        } else {
          out.append(ch)
        }
      }
    }
    return out + "\""
  }
}

extension String {
  /// The string with leading zeros up to `width` characters.
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
