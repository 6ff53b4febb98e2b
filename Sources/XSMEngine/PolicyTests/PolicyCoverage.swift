import Foundation
import XSMCatalog
import XSMDiagnostics

// The coverage questions of a policy test file (docs/policy-tests.md):
// `only`, `reachable` and `unreachable` cases, which ask every domain of the
// host, and what a file's cases asked per op family and policy permission
// (`xsmc test --coverage`, and a file's `coverage` requirement).

/// What the cases of one file asked: per op family of the catalog, how many
/// of its ops some question asked; and which permissions of the host's policy
/// (`class:permission`) no Flask check of those questions made.
public struct PolicyCoverageReport: Sendable, Encodable {
  /// One op family of the catalog.
  public struct Family: Sendable, Encodable {
    public var family: String
    /// The family's ops in the catalog, and how many of them were asked.
    public var ops: Int
    public var asked: Int
    /// `asked` of `ops`, in percent, rounded down.
    public var percent: Int
  }

  /// Every family of the catalog, in catalog order.
  public var families: [Family]
  /// The permissions of the host's policy, and how many a Flask check of the cases made.
  public var permissions: Int
  public var checked: Int
  /// The policy's permissions no check made, `class:permission`, in policy order.
  public var unchecked: [String]

  init(askedOps: Set<String>, checkedPermissions: Set<String>, host: XenHost) {
    let catalog = host.catalog
    families = catalog.families.map { family in
      let members = catalog.ops.filter { $0.family == family }
      let asked = members.count { askedOps.contains($0.name) }
      return Family(family: family, ops: members.count, asked: asked, percent: asked * 100 / max(1, members.count))
    }
    let all = (host.server?.policy.data.classes ?? []).flatMap { cls in cls.permissions.map { "\(cls.name):\($0)" } }
    permissions = all.count
    checked = all.count { checkedPermissions.contains($0) }
    unchecked = all.filter { !checkedPermissions.contains($0) }
  }

  /// The families some case asked about, one line each; then those none did,
  /// and the permissions no check made, by class.
  public func text() -> String {
    var out = "coverage: ops asked per family of the catalog\n"
    let asked = families.filter { $0.asked > 0 }
    let width = asked.map(\.family.count).max() ?? 0
    for family in asked {
      out += "  " + family.family.padding(toLength: width, withPad: " ", startingAt: 0)
        + "  \(family.asked) of \(family.ops) ops (\(family.percent)%)\n"
    }
    let none = families.filter { $0.asked == 0 }.map(\.family)
    if !none.isEmpty { out += "  no op asked in \(none.count) families: \(none.joined(separator: ", "))\n" }
    out += "coverage: \(checked) of \(permissions) permissions of the policy checked"
    guard !unchecked.isEmpty else { return out + "\n" }
    out += "; never checked:\n"
    var byClass: [(String, [String])] = []
    for permission in unchecked {
      let parts = permission.split(separator: ":", maxSplits: 1).map(String.init)
      if byClass.last?.0 == parts[0] { byClass[byClass.count - 1].1.append(parts[1]) } else { byClass.append((parts[0], [parts[1]])) }
    }
    for (cls, names) in byClass { out += "  \(cls): \(names.joined(separator: " "))\n" }
    return out
  }
}

/// A file's `coverage` requirement and whether the cases met it.
public struct PolicyCoverageResult: Sendable, Encodable {
  public var families: [String]
  public var minPercent: Int
  /// The line of the `coverage` key.
  public var line: Int
  /// The families below the minimum, as `domctl: 12 of 91 ops (13%)`.
  public var below: [String]
  /// True when no family is below the minimum.
  public var passed: Bool

  init(families: [String], minPercent: Int, line: Int, below: [String]) {
    self.families = families
    self.minPercent = minPercent
    self.line = line
    self.below = below
    passed = below.isEmpty
  }

  /// The name it is reported under, as a case.
  public var name: String {
    "coverage: at least \(minPercent)% of the ops of \(families.joined(separator: ", ")) asked"
  }
}

extension CaseContext {
  /// A file's coverage requirement against what its cases asked; nil after
  /// reporting a family the catalog does not have.
  mutating func evaluate(_ requirement: PolicyCoverageRequirement, _ coverage: PolicyCoverageReport)
    -> PolicyCoverageResult?
  {
    var below: [String] = []
    var known = true
    for word in requirement.families {
      guard let family = coverage.families.first(where: { $0.family == word.text }) else {
        let hint = Suggestion.closest(to: word.text, in: coverage.families.map(\.family)).map { "did you mean `\($0)`?" }
        report(.testfile.unknownFamily, "no op family `\(word.text)`", word.span,
          help: hint ?? "`xsmc ops` lists the ops by family")
        known = false
        continue
      }
      if family.asked * 100 < requirement.minimumPercent * family.ops {
        below.append("\(family.family): \(family.asked) of \(family.ops) ops (\(family.percent)%)")
      }
    }
    guard known else { return nil }
    return PolicyCoverageResult(families: requirement.families.map(\.text), minPercent: requirement.minimumPercent,
      line: requirement.span.line, below: below)
  }

  /// An `only`, `reachable` or `unreachable` case: for each module and op,
  /// which callers may invoke it on some target (or with some target's
  /// label, for an op that takes a label and no domain). `callers` and `targets`
  /// are the case's (every domain of the host when it names none); a
  /// domain is not asked about itself when either side names several.
  /// False when a question cannot be bound (reported).
  mutating func askEveryDomain(_ testCase: PolicyTestCase, ops: [Op], callers named: [HostDomain],
    targets: [HostDomain], into result: inout PolicyTestReport.CaseResult) -> Bool
  {
    let expectation = testCase.expectation
    let listed = Set(named.map(\.domid))
    // `only` asks everybody: its callers are the expected answer.
    let callers = expectation == .only || named.isEmpty ? host.domains : named
    let targetList = targets.isEmpty ? host.domains : targets
    let pairsOnly = callers.count > 1 || targetList.count > 1
    for module in testCase.modules.modules {
      // Per op: the first allowed question of each caller that may, and the first question of each that may not.
      struct Answers {
        var op: Op
        var allowed: [(HostDomain, OpQuestion, Decision)] = []
        var refused: [(HostDomain, OpQuestion, Decision)] = []
        /// Callers to whom Xen refuses the op whatever the module (every answer `invalid`).
        var neverValid: Set<Int> = []
        /// Listed callers the module refuses (`only`): those Xen refuses anyway do not count.
        func missing(_ listed: Set<Int>) -> [(HostDomain, OpQuestion, Decision)] {
          refused.filter { listed.contains($0.0.domid) && !neverValid.contains($0.0.domid) }
        }
      }
      var answers: [Answers] = []
      for op in ops {
        var found = Answers(op: op)
        for caller in callers {
          var firstRefusal: (OpQuestion, Decision)?
          var allowed = false
          // Only `invalid` answers: Xen refuses the op to this caller whatever the module.
          var onlyInvalid = true
          // An op without a domain argument is asked once, or once per target label when it takes a
          // label (`domctl.createdomain`: may the caller create a domain labelled as that target?).
          let takesLabel = op.arguments.contains { $0.kind == .label && $0.isRequired }
          let asked: [HostDomain?] = op.positionalArgument == nil && !takesLabel ? [nil] : targetList.map(Optional.some)
          for target in asked where !(pairsOnly && target?.domid == caller.domid) {
            guard let question = bind(testCase, caller: caller, op: op, target: target, defaults: true) else {
              return false
            }
            let decision = decide(question, module: module, into: &result)
            if decision.verdict == .allowed {
              found.allowed.append((caller, question, decision))
              allowed = true
              break
            }
            // The example refusal is a denial by the module when there is one.
            if firstRefusal == nil || (onlyInvalid && decision.verdict != .invalid) { firstRefusal = (question, decision) }
            if decision.verdict != .invalid { onlyInvalid = false }
          }
          if !allowed, let (question, decision) = firstRefusal {
            found.refused.append((caller, question, decision))
            if onlyInvalid { found.neverValid.insert(caller.domid) }
          }
        }
        answers.append(found)
      }
      let failing: [Answers]
      switch expectation {
      case .only:
        failing = answers.filter { a in
          a.allowed.contains { !listed.contains($0.0.domid) } || !a.missing(listed).isEmpty
        }
      case .reachable: failing = answers.filter { $0.allowed.isEmpty }
      default: failing = answers.filter { !$0.allowed.isEmpty }
      }
      guard let first = failing.first else { continue }
      let others = failing.dropFirst().map(\.op.name)
      let also = others.isEmpty ? "" : "; also " + others.joined(separator: ", ")
      let asked = "under \(module.rawValue)"
      var failure: PolicyTestReport.Failure
      switch expectation {
      case .only:
        let unexpected = first.allowed.filter { !listed.contains($0.0.domid) }
        let missing = first.missing(listed)
        let (question, decision) = unexpected.first.map { ($0.1, $0.2) } ?? (missing[0].1, missing[0].2)
        failure = PolicyTestReport.Failure(question: question, decision: decision,
          expectedAllowed: unexpected.isEmpty, step: nil)
        var parts: [String] = []
        if !unexpected.isEmpty { parts.append("may, but not listed: " + unexpected.map(\.0.label).joined(separator: ", ")) }
        if !missing.isEmpty { parts.append("listed, but may not: " + missing.map(\.0.label).joined(separator: ", ")) }
        failure.finding = "\(first.op.name) \(asked): " + parts.joined(separator: "; ") + also
        failure.unexpectedCallers = unexpected.map(\.0.label)
        failure.missingCallers = missing.map(\.0.label)
      case .reachable:
        guard let example = first.refused.first else { continue }
        failure = PolicyTestReport.Failure(question: example.1, decision: example.2, expectedAllowed: true, step: nil)
        failure.finding = "no domain may invoke \(first.op.name) \(asked)" + also
      default:
        let example = first.allowed[0]
        failure = PolicyTestReport.Failure(question: example.1, decision: example.2, expectedAllowed: false, step: nil)
        failure.finding = "\(first.op.name) \(asked): " + first.allowed.map(\.0.label).joined(separator: ", ") + " may invoke it"
          + also
        failure.unexpectedCallers = first.allowed.map(\.0.label)
      }
      failure.failingOps = failing.map(\.op.name)
      result.failure = failure
      return true
    }
    return true
  }
}
