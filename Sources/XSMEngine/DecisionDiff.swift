import XSMCatalog
import XSMDiagnostics

/// What changes in who may invoke which op on whom between two sides: two
/// policies on one host, two hosts, or two modules on one host.
///
/// Each side is decided once as an `AccessMatrix`; domains are matched by
/// name, so two system files may number them differently. Ops are compared
/// by op, not by permission bit: each side's engine checks the op's
/// permissions by name in its own policy, so a permission renamed between
/// Xen releases compares as the op it guards. An op is *gained* for a
/// (caller, target) pair when the new side allows it and the old one does
/// not, *lost* the other way round; a change between denied and invalid is
/// not counted. Each change names the Flask checks whose outcome differs,
/// with the rules that grant them (the new side's for a gain, the old
/// side's for a loss) and, when that side's policy came from source, the
/// source rules and macro calls behind them.
public struct DecisionDiff: Sendable, Codable {
  /// One side to compare: a loaded host and the module to decide under.
  public struct Side: Sendable {
    public var host: XenHost
    public var module: XSMModule
    /// How the side is named to the user (the policy or system path as given).
    public var name: String

    public init(host: XenHost, module: XSMModule, name: String) {
      self.host = host
      self.module = module
      self.name = name
    }
  }

  /// A side as reported.
  public struct SideFacts: Sendable, Codable, Equatable {
    public var name: String
    public var system: String
    public var module: XSMModule
    /// The policy as the system names it (`embedded`, a path).
    public var policy: String
    public var policyDigest: String?
  }

  /// A domain of a pair: its name and domid on the new side, the type of its label and its kind.
  public struct Party: Sendable, Codable, Equatable, Hashable {
    public var name: String
    public var domid: Int
    /// The type of the domain's context (`domU_t`).
    public var type: String
    /// The old side's type, when it differs.
    public var oldType: String?
    /// `pv`, `hvm` or `pvh`.
    public var kind: String
  }

  /// How one Flask permission check came out on one side.
  public enum CheckOutcome: String, Sendable, Codable {
    case granted, denied
    /// Not granted, but recorded only (flask or the subject type is permissive).
    case permissive
    /// The side's policy has no such permission in the class.
    case undefinedPermission = "undefined-permission"
    /// The side's policy has no such class.
    case undefinedClass = "undefined-class"
    /// The check is not made on this side (the decision stops before it, or another module decides).
    case notMade = "not-made"
  }

  /// A Flask check whose outcome differs between the sides.
  public struct CheckChange: Sendable, Codable, Equatable {
    /// `class:perm`, with the parties when the check names them (`domain:pause current -> target`).
    public var check: String
    public var old: CheckOutcome
    public var new: CheckOutcome
    /// For a gain, the new side's rules that grant it; for a loss, the old side's rules that granted it.
    public var rules: [String]
    /// Why a side cannot decide it by the policy's rules (an undefined permission or class).
    public var note: String?
    /// The source rules behind `rules` (file:line and macro calls), when that side's policy came from source.
    public var origins: [RuleCitation]?
  }

  /// One op whose verdict changed for a pair.
  public struct OpChange: Sendable, Codable, Equatable {
    public var op: String
    public var family: String
    public var old: Verdict
    public var new: Verdict
    /// The Flask checks responsible; empty when no Flask check differs.
    public var checks: [CheckChange]
    /// When no Flask check differs: the step that refuses on the refusing side.
    public var reason: String?
  }

  /// The changes of one (caller, target) pair.
  public struct PairChanges: Sendable, Codable, Equatable {
    public var caller: Party
    public var target: Party
    public var gained: [OpChange]
    public var lost: [OpChange]
  }

  public var old: SideFacts
  public var new: SideFacts
  /// Pairs with at least one change, in the new side's domain order.
  public var pairs: [PairChanges]
  /// (pair, op) changes in all.
  public var gained: Int
  public var lost: Int
  /// Ops and (caller, target) pairs compared.
  public var opsCompared: Int
  public var pairsCompared: Int
  /// Domains only one side has, by name: not compared.
  public var onlyOld: [String]
  public var onlyNew: [String]
  /// Why a side's changes name no source rules (its policy is a binary without a map), by side name.
  public var sourceNotes: [String: String] = [:]

  /// Both sides' matrices and the domains compared, which the HTML report draws its grids from; not encoded.
  var grids: Grids?

  /// The matrices a diff was computed from.
  struct Grids: Sendable {
    var old: AccessMatrix
    var new: AccessMatrix
    /// Each compared domain's index in `new.domains` and in `old.domains`, in the new side's order.
    var common: [(new: Int, old: Int)]
    /// Each side's enforcing mode and booleans, among the rest.
    var identities: (old: XSMIdentity, new: XSMIdentity)
  }

  enum CodingKeys: String, CodingKey {
    case old, new, pairs, gained, lost, opsCompared, pairsCompared, onlyOld, onlyNew, sourceNotes
  }

  /// True when nothing changed.
  public var isEmpty: Bool { gained == 0 && lost == 0 }

  /// Compares `ops` on both sides (their hosts share one catalog), over the
  /// domains both have, or only those named in `domains` (by name).
  /// `progress` is called with (matrices done, 2).
  public init(old oldSide: Side, new newSide: Side, ops: [Op], domains: Set<String>? = nil,
    progress: ((Int, Int) -> Void)? = nil)
  {
    func facts(_ side: Side) -> SideFacts {
      SideFacts(name: side.name, system: side.host.spec.file, module: side.module, policy: side.host.policySource,
        policyDigest: side.host.policyDigest)
    }
    old = facts(oldSide)
    new = facts(newSide)
    for side in [oldSide, newSide] where side.host.ruleSources.lookup == nil {
      sourceNotes[side.name] = side.host.ruleSources.note
    }
    let oldMatrix = AccessMatrix(engine: DecisionEngine(host: oldSide.host), ops: ops, modules: [oldSide.module])
    progress?(1, 2)
    let newMatrix = AccessMatrix(engine: DecisionEngine(host: newSide.host), ops: ops, modules: [newSide.module])
    progress?(2, 2)

    let oldIndex = Dictionary(oldMatrix.domains.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    let common = newMatrix.domains.enumerated().compactMap { i, d in
      domains.map { $0.contains(d.name) } ?? true ? oldIndex[d.name].map { (new: i, old: $0) } : nil
    }
    onlyOld = oldMatrix.domains.map(\.name).filter { name in !newMatrix.domains.contains { $0.name == name } }
    onlyNew = newMatrix.domains.map(\.name).filter { oldIndex[$0] == nil }
    opsCompared = ops.count
    pairsCompared = common.count * common.count
    grids = Grids(old: oldMatrix, new: newMatrix, common: common,
      identities: (oldSide.host.identity, newSide.host.identity))

    // Every (pair, op) whose allowed-ness differs, by pair.
    var changed: [[Int]: [(op: Int, old: Verdict, new: Verdict)]] = [:]
    for row in ops.indices {
      let readOld = oldMatrix.reader(row: row)
      let readNew = newMatrix.reader(row: row)
      for (c, caller) in common.enumerated() {
        for (t, target) in common.enumerated() {
          // Ops without a domain argument have a cell per caller only: nil elsewhere on both sides.
          guard let before = readOld(caller.old, target.old, 0), let after = readNew(caller.new, target.new, 0),
            (before == .allowed) != (after == .allowed)
          else { continue }
          changed[[c, t], default: []].append((row, before, after))
        }
      }
    }

    let oldEngine = DecisionEngine(host: oldSide.host)
    let newEngine = DecisionEngine(host: newSide.host)
    // Pairs of the same classes on both sides fail or pass the same checks: explained once.
    struct ExplanationKey: Hashable {
      var op: Int, oldCaller: Int, oldTarget: Int, oldRelation: AccessMatrix.Relation
      var newCaller: Int, newTarget: Int, newRelation: AccessMatrix.Relation
    }
    var explained: [ExplanationKey: [CheckChange]] = [:]
    var pairs: [PairChanges] = []
    var gained = 0
    var lost = 0
    for key in changed.keys.sorted(by: { ($0[0], $0[1]) < ($1[0], $1[1]) }) {
      let (caller, target) = (common[key[0]], common[key[1]])
      let oldCaller = oldMatrix.domains[caller.old]
      let oldTarget = oldMatrix.domains[target.old]
      let newCaller = newMatrix.domains[caller.new]
      let newTarget = newMatrix.domains[target.new]
      var entry = PairChanges(caller: Self.party(newCaller, old: oldCaller), target: Self.party(newTarget, old: oldTarget),
        gained: [], lost: [])
      for change in changed[key] ?? [] {
        let op = ops[change.op]
        let isGain = change.new == .allowed
        let explanationKey = ExplanationKey(op: change.op, oldCaller: oldMatrix.classOf[caller.old],
          oldTarget: oldMatrix.classOf[target.old], oldRelation: AccessMatrix.relation(oldCaller, oldTarget),
          newCaller: newMatrix.classOf[caller.new], newTarget: newMatrix.classOf[target.new],
          newRelation: AccessMatrix.relation(newCaller, newTarget))
        var checks: [CheckChange]
        var reason: String?
        if let known = explained[explanationKey] {
          checks = known
        } else {
          let (oldObjectTarget, oldObjects) = OpQuestion.matrixCell(caller: oldCaller, op: op, target: oldTarget)
          let (newObjectTarget, newObjects) = OpQuestion.matrixCell(caller: newCaller, op: op, target: newTarget)
          let before = oldEngine.decide(caller: oldCaller, op: op, target: oldObjectTarget, module: oldSide.module,
            objects: oldObjects, explain: true)
          let after = newEngine.decide(caller: newCaller, op: op, target: newObjectTarget, module: newSide.module,
            objects: newObjects, explain: true)
          checks = Self.checkChanges(old: before, new: after, gain: isGain, refusing: isGain ? oldSide : newSide)
          if checks.isEmpty {
            let refusing = isGain ? before : after
            reason = refusing.trace.last { $0.outcome == .fail }.map { "\(isGain ? "old" : "new"): \($0.layer): \($0.text)" }
          }
          // A reason (a gate, a dummy rule) may name the pair's domains: kept per pair.
          if reason == nil { explained[explanationKey] = checks }
        }
        let opChange = OpChange(op: op.name, family: op.family, old: change.old, new: change.new, checks: checks,
          reason: reason)
        if isGain {
          entry.gained.append(opChange)
          gained += 1
        } else {
          entry.lost.append(opChange)
          lost += 1
        }
      }
      pairs.append(entry)
    }
    self.pairs = pairs
    self.gained = gained
    self.lost = lost
  }

  static func party(_ domain: HostDomain, old: HostDomain) -> Party {
    let type = contextType(domain.contextText)
    let oldType = contextType(old.contextText)
    return Party(name: domain.name, domid: domain.domid, type: type, oldType: oldType == type ? nil : oldType,
      kind: domain.kind.rawValue)
  }

  /// The type field of a context (`user:role:type[:range]`), or the text when it has none.
  static func contextType(_ context: String) -> String {
    let parts = context.split(separator: ":", omittingEmptySubsequences: false)
    return parts.count >= 3 ? String(parts[2]) : context
  }

  /// One Flask permission step of a decision's trace.
  struct CheckStep {
    /// `class:perm`, the key steps of the two sides are matched by.
    var permission: String
    /// `class:perm subject -> object` where the step names its parties.
    var text: String
    var outcome: CheckOutcome
    var rules: [String]
    var origins: [RuleCitation]?
  }

  /// The Flask permission steps of a decision, as the engine writes them
  /// (`class:perm subject -> object`, or `class:perm: the class has no such
  /// permission`, or `class:perms subject -> object: the policy has no class`).
  static func checkSteps(_ decision: Decision) -> [CheckStep] {
    decision.trace.compactMap { step in
      guard step.layer == "flask", let first = step.text.split(separator: " ").first, first.contains(":")
      else { return nil }
      var permission = String(first)
      if permission.hasSuffix(":") { permission.removeLast() }
      let outcome: CheckOutcome
      if step.text.contains(": the class has no such permission") {
        outcome = .undefinedPermission
      } else if step.text.contains(": the policy has no class") {
        outcome = .undefinedClass
      } else if step.text.contains(": a party has no label") {
        outcome = .denied
      } else {
        switch step.outcome {
        case .pass: outcome = .granted
        case .fail: outcome = .denied
        case .permissive: outcome = .permissive
        case .info: return nil
        }
      }
      // The step's check without the engine's reason after `: ` (`class:perm: the class has no such permission`).
      let text = step.text.range(of: ": ").map { String(step.text[..<$0.lowerBound]) } ?? step.text
      return CheckStep(permission: permission, text: text, outcome: outcome, rules: step.rules, origins: step.origins)
    }
  }

  /// The checks that refuse on the refusing side (the old one for a gain, the new one for a loss) and
  /// not on the other, where the other side grants them or does not make them; matched by
  /// `class:perm` in order of appearance. The rules are the other side's, which grant the check.
  static func checkChanges(old: Decision, new: Decision, gain: Bool, refusing: Side) -> [CheckChange] {
    func isGranted(_ outcome: CheckOutcome) -> Bool { outcome == .granted || outcome == .permissive }
    let refusingName = refusing.name
    // Xen grants no permission the policy's class lacks, whatever handle_unknown says:
    // context_struct_compute_av (xen/xsm/flask/ss/services.c) does not support handle_unknown allow.
    let unknown = refusing.host.server.map { _ in
      " (denied: Xen's compute_av grants no permission the policy does not define, whatever handle_unknown says)"
    } ?? ""
    var others = checkSteps(gain ? new : old)
    var changes: [CheckChange] = []
    for step in checkSteps(gain ? old : new) {
      let other = others.firstIndex { $0.permission == step.permission }.map { others.remove(at: $0) }
      guard !isGranted(step.outcome), other.map({ isGranted($0.outcome) }) ?? true else { continue }
      let otherOutcome = other?.outcome ?? .notMade
      let className = step.permission.split(separator: ":").first.map(String.init) ?? step.permission
      let note: String? = switch step.outcome {
      case .undefinedPermission: "permission `\(step.permission)` is not in \(refusingName)'s classes" + unknown
      case .undefinedClass: "class `\(className)` is not in \(refusingName)'s classes"
      default: nil
      }
      // The refusing side's text may lack the parties (`class:perm: the class has no such permission`).
      let text = [step, other].compactMap { $0 }.first { $0.text.contains("->") }?.text ?? step.text
      changes.append(CheckChange(check: text, old: gain ? step.outcome : otherOutcome,
        new: gain ? otherOutcome : step.outcome, rules: other?.rules ?? [], note: note, origins: other?.origins))
    }
    return changes
  }
}
