import XSMDiagnostics

/// Cross-entry work on parsed catalog entries: resolves `inherit`, and
/// checks names, numbers, required keys and that every legacy op is
/// covered by the proposed ABI.
struct CatalogLinker {
  private(set) var ops: [Op] = []
  private(set) var diagnostics: [Diagnostic] = []
  private var parsed: [CatalogParser.ParsedOp]
  private let coverage: [CoverageRule]
  private let layouts: [ParsedLayout]
  private let complete: Bool

  init(parsed: [CatalogParser.ParsedOp], coverage: [CoverageRule], layouts: [ParsedLayout] = [], complete: Bool = true) {
    self.parsed = parsed
    self.coverage = coverage
    self.layouts = layouts
    self.complete = complete
  }

  mutating func run() {
    checkNames()
    inheritFacts()
    for i in parsed.indices {
      var entry = parsed[i]
      linkArguments(&entry)
      parsed[i] = entry
    }
    ops = parsed.map(\.op)
    for entry in parsed { checkEntry(entry) }
    checkNumbers()
    checkLayouts()
    guard complete else { return }
    checkReplacements()
    checkCoverage()
  }

  // MARK: Names

  private mutating func checkNames() {
    var firstSpan: [String: (SourceSpan, String)] = [:]
    for entry in parsed {
      let names = [(entry.op.name, entry.op.span)] + entry.op.aliases.map { ($0, entry.aliasSpans[$0] ?? entry.op.span) }
      for (name, span) in names {
        if let (earlier, owner) = firstSpan[name] {
          let what = owner == name ? "an op" : "an alias of `\(owner)`"
          error(.catalog.duplicateName, "`\(name)` is already \(what)", span,
            notes: [DiagnosticNote("first defined here", span: earlier)])
        } else {
          firstSpan[name] = (span, entry.op.name)
        }
      }
    }
  }

  // MARK: inherit

  /// Copies the facts a split op does not set itself from the legacy op it names.
  private mutating func inheritFacts() {
    var byName: [String: Op] = [:]
    for entry in parsed where entry.op.kind == .legacy {
      byName[entry.op.name] = entry.op
      for alias in entry.op.aliases { byName[alias] = entry.op }
    }
    for i in parsed.indices {
      guard let base = parsed[i].op.inherits else { continue }
      let span = parsed[i].inheritSpan ?? parsed[i].op.span
      guard parsed[i].op.kind == .split else {
        error(.catalog.badInherit, "only `split` ops may `inherit`", span)
        continue
      }
      guard let source = byName[base] else {
        unknownOp(base, at: span, what: "inherits from")
        continue
      }
      let keys = parsed[i].keysSet
      var op = parsed[i].op
      if !keys.contains("hook") { op.hooks = source.hooks }
      if !keys.contains("dummy") { op.dummy = source.dummy }
      if !keys.contains("target") { op.targets = source.targets }
      if !keys.contains("check") && !keys.contains("flask") {
        op.checks = source.checks
        op.flask = source.flask
      }
      if !keys.contains("silo") { op.silo = source.silo }
      if !keys.contains("refuses-self") { op.refusesSelf = source.refusesSelf }
      if !keys.contains("class") { op.privilege = source.privilege }
      if !keys.contains("arg") { op.arguments = source.arguments }
      if !keys.contains("gate") && !keys.contains("refuses-self") { op.gates = source.gates }
      if !keys.contains("denial") { op.denial = source.denial }
      if !keys.contains("hypercall") { op.hypercall = nil }
      parsed[i].op = op
      parsed[i].keysSet.formUnion(["hook", "class"])
    }
  }

  // MARK: Arguments

  /// Completes an op's arguments: every party its dummy steps, checks, silo
  /// rule and gates name must be an argument; an op without `arg` lines
  /// gets them derived (the `target` first, with `default self` unless the
  /// op is privileged), as do its situations (flags), device and label
  /// arguments.
  private mutating func linkArguments(_ entry: inout CatalogParser.ParsedOp) {
    var op = entry.op
    let declared = !op.arguments.isEmpty && op.arguments.contains { $0.kind == .domain }
    var parties: [String] = []
    func use(_ endpoint: Endpoint) {
      guard endpoint.kind == .domain, !endpoint.isCaller, !parties.contains(endpoint.name) else { return }
      parties.append(endpoint.name)
    }
    for step in op.dummy {
      use(step.subject)
      // XSM_PRIV and the always-allowed actions ignore the object.
      if [.target, .xsPriv, .dmPriv].contains(step.action) { use(step.object) }
    }
    for check in op.checks {
      use(check.subject)
      use(check.object)
    }
    if let silo = op.silo {
      use(silo.left)
      use(silo.right)
    }
    for gate in op.gates { gate.domains.forEach { use(Endpoint($0)) } }
    if parties.isEmpty && !op.isHooked && !Set(op.targets).isDisjoint(with: ["domain", "domain-pair", "domains"]) {
      parties.append("target")
    }
    if let i = parties.firstIndex(of: "target"), i > 0 { parties.insert(parties.remove(at: i), at: 0) }
    for party in parties where op.argument(named: party) == nil {
      if declared {
        error(.catalog.undeclaredArgument,
          "`\(op.name)` names the party `\(party)`, which none of its `arg` lines declares", op.span,
          help: "add `arg \(party) domain FIELD`")
        continue
      }
      let selfByDefault = party == "target" && op.privilege != .privileged
      op.arguments.append(OpArgument(name: party, kind: .domain, defaultValue: selfByDefault ? "self" : nil, inferred: true))
    }
    for name in op.situationNames + op.gates.compactMap(\.condition?.name) where op.argument(named: name) == nil {
      op.arguments.append(OpArgument(name: name, kind: .flag, inferred: true))
    }
    for check in op.checks {
      for endpoint in [check.subject, check.object] where endpoint.kind == .label {
        let kind: OpArgument.Kind? =
          endpoint.name == "new_label" ? .label : OpArgument.deviceKind(ofLabel: endpoint.name)
        guard let kind, !op.arguments.contains(where: { $0.kind == kind }) else { continue }
        // A device left out stands for an unlabelled one; a new label must be named. A flag of the
        // same name (`if pci`) keeps the name; the device is then `pci_device`.
        let name = op.argument(named: kind.rawValue) == nil ? kind.rawValue : kind.rawValue + "_device"
        op.arguments.append(OpArgument(name: name, kind: kind, defaultValue: kind == .label ? nil : "none",
          inferred: true))
      }
    }
    for gate in op.gates where gate.requirement == .otherVCPU && !op.arguments.contains(where: { $0.kind == .vcpu }) {
      error(.catalog.undeclaredArgument, "`\(op.name)` has an `other-vcpu` gate but no `vcpu` argument", gate.span,
        help: "add `arg vcpu vcpu FIELD`")
    }
    if op.gates.isEmpty && op.refusesSelf, let first = op.positionalArgument {
      op.gates.append(OpGate(stage: .before, requirement: .notCaller, domains: [first.name], error: "-EPERM",
        source: "proposed ABI: the split op refuses the caller itself", span: op.span))
    }
    op.refusesSelf = op.gates.contains { $0.requirement == .notCaller && $0.domains == op.positionalArgument.map { [$0.name] } }
    op.binding = ArgumentBinding(op.arguments)
    entry.op = op
  }

  // MARK: One entry

  private mutating func checkEntry(_ entry: CatalogParser.ParsedOp) {
    let op = entry.op
    let keys = entry.keysSet
    for required in ["class", "summary", "hook"] where !keys.contains(required) {
      error(.catalog.missingKey, "`\(op.name)` has no `\(required)` line", op.span,
        help: required == "hook" ? "write `hook none` for a path without an XSM hook" : nil)
    }
    if op.kind == .legacy && !keys.contains("hypercall") {
      error(.catalog.missingKey, "`\(op.name)` has no `hypercall` line", op.span,
        help: "write `hypercall none` for an internal call site")
    }
    if op.kind == .split && op.number == nil {
      error(.catalog.missingKey, "split op `\(op.name)` has no `number`", op.span)
    }
    if op.kind == .legacy && (keys.contains("replaces") || keys.contains("inherit") || keys.contains("number")) {
      error(.catalog.splitKey, "`replaces`, `inherit` and `number` belong to `split` ops", op.span)
    }
    if op.hooks.isEmpty {
      if !op.checks.isEmpty {
        error(.catalog.checkWithoutHook, "`\(op.name)` has checks but no hook", op.checks[0].span,
          help: "Flask checks are made by a hook; name it on the `hook` line")
      }
      if op.dummy.contains(where: { $0.action != .none }) {
        error(.catalog.dummyWithoutHook, "`\(op.name)` has a dummy rule but no hook", op.span,
          help: "an op without a hook takes `dummy none`")
      }
    } else {
      if op.checks.isEmpty && op.flask == nil {
        error(.catalog.noFlask, "`\(op.name)` has a hook but neither `check` nor `flask` lines", op.span,
          help: "write `flask none` when the hook checks nothing, `flask unclassified` when flask has no case for it")
      }
      if !op.checks.isEmpty, let marker = op.flask {
        error(.catalog.noFlask, "`\(op.name)` has checks and also `flask \(marker.rawValue)`", op.checks[0].span)
      }
      if op.dummy.isEmpty {
        error(.catalog.missingKey, "`\(op.name)` has a hook but no `dummy` line", op.span)
      }
    }
    if op.kind == .split && op.privilege == .mixed {
      warning(.catalog.splitMixed,
        "split op `\(op.name)` is still `mixed`; the split should make it privileged or logical", op.span)
    }
  }

  // MARK: Numbers

  private mutating func checkNumbers() {
    var legacy: [String: Op] = [:]
    var split: [String: Op] = [:]
    for op in ops {
      switch op.kind {
      case .legacy:
        guard let call = op.hypercall else { continue }
        let key = call.name + " " + op.subopPath
        if let earlier = legacy[key] {
          let where_ = op.subops.isEmpty ? "" : " sub-op " + op.subopPath
          error(.catalog.duplicateNumber,
            "`\(op.name)` has the same number as `\(earlier.name)` in `\(call.name)`\(where_)", op.span,
            notes: [DiagnosticNote("`\(earlier.name)` is here", span: earlier.span)])
        } else {
          legacy[key] = op
        }
      case .split:
        guard let n = op.number else { continue }
        let key = "\(op.family) \(n)"
        if let earlier = split[key] {
          error(.catalog.duplicateNumber, "`\(op.name)` has number \(n), as `\(earlier.name)` does", op.span,
            notes: [DiagnosticNote("`\(earlier.name)` is here", span: earlier.span)])
        } else {
          split[key] = op
        }
      }
    }
  }

  // MARK: Split coverage

  private mutating func checkReplacements() {
    let legacyNames = Set(ops.filter { $0.kind == .legacy }.flatMap { [$0.name] + $0.aliases })
    for entry in parsed where entry.op.kind == .split {
      for name in entry.op.replaces where !legacyNames.contains(name) {
        unknownOp(name, at: entry.replacesSpans[name] ?? entry.op.span, what: "replaces")
      }
    }
  }

  private mutating func checkCoverage() {
    var replaced = Set<String>()
    let aliasTarget = Dictionary(
      ops.filter { $0.kind == .legacy }.flatMap { op in op.aliases.map { ($0, op.name) } },
      uniquingKeysWith: { a, _ in a })
    for op in ops where op.kind == .split {
      for name in op.replaces { replaced.insert(aliasTarget[name] ?? name) }
    }
    let legacy = ops.filter { $0.kind == .legacy }
    for op in legacy where !replaced.contains(op.name) && !coverage.contains(where: { $0.matches(op.name) }) {
      error(.catalog.uncovered,
        "legacy op `\(op.name)` is not replaced by any split op and not marked `unsplit` or `retire`", op.span,
        help: "add it to a split op's `replaces`, or write an `unsplit \(op.name)` block saying why it stays")
    }
    for rule in coverage where !legacy.contains(where: { rule.matches($0.name) }) {
      warning(.catalog.unusedCoverage, "`\(rule.kind.rawValue) \(rule.pattern)` matches no legacy op", rule.span)
    }
  }

  // MARK: Layouts

  /// Each layout names a split op, once per role, and comes with its other half.
  private mutating func checkLayouts() {
    let splitNames = Set(parsed.filter { $0.op.kind == .split }.map(\.op.name))
    var seen: [String: SourceSpan] = [:]
    for entry in layouts {
      let layout = entry.layout
      guard splitNames.contains(layout.op) else {
        error(.catalog.layoutOp, "layout for `\(layout.op)`, which is not a split op", entry.opSpan,
          help: "payload layouts describe the proposed ABI's split ops")
        continue
      }
      let key = layout.op + " " + layout.role.rawValue
      if let first = seen[key] {
        error(.catalog.layoutOp, "`\(layout.op)` has a second \(layout.role.rawValue) layout", entry.opSpan,
          notes: [DiagnosticNote("the first is here", span: first)])
        continue
      }
      seen[key] = entry.opSpan
      let other: PayloadRole = layout.role == .request ? .reply : .request
      if !layouts.contains(where: { $0.layout.op == layout.op && $0.layout.role == other }) {
        error(.catalog.layoutOp, "`\(layout.op)` has a \(layout.role.rawValue) layout but no \(other.rawValue) layout",
          entry.opSpan, help: "give both; an op that answers nothing has `size 0` reply")
      }
    }
  }

  // MARK: Helpers

  private mutating func unknownOp(_ name: String, at span: SourceSpan, what: String) {
    let candidates = ops.isEmpty ? parsed.map(\.op.name) : ops.map(\.name)
    let hint = Suggestion.closest(to: name, in: candidates).map { "did you mean `\($0)`?" }
    error(.catalog.unknownOp, "`\(what)` names `\(name)`, which is not a legacy op", span, help: hint)
  }

  private mutating func error(_ id: DiagnosticID, _ message: String, _ span: SourceSpan, help: String? = nil,
    notes: [DiagnosticNote] = [])
  {
    diagnostics.append(Diagnostic(id, .error, message, span: span, help: help, notes: notes))
  }

  private mutating func warning(_ id: DiagnosticID, _ message: String, _ span: SourceSpan) {
    diagnostics.append(Diagnostic(id, .warning, message, span: span))
  }
}
