import XSMCatalog
import XSMEngine

/// Explains avc records in Xen's terms on a host: which ops make the
/// logged check for these domains, why the host's policy (with the host's
/// booleans) denies it, the smallest rule or boolean that grants it, and
/// whether that rule breaks a neverallow of the policy's source.
public struct AVCExplainer: Sendable {
  public let host: XenHost
  /// Set when the policy in force is not the one the host's system names
  /// (xsmd had another loaded at run time): what is in force instead. Then
  /// no macro call is proposed and no neverallow is checked.
  public let replacedPolicy: String?

  public init(host: XenHost, replacedPolicy: String? = nil) {
    self.host = host
    self.replacedPolicy = replacedPolicy
  }

  /// Every distinct record of `log`, explained; identical records are grouped.
  public func explain(_ log: AVCLog) async -> AVCReport {
    var groups: [String: Int] = [:]
    var firsts: [AVCLog.Entry] = []
    var counts: [Int] = []
    for entry in log.entries {
      let key = entry.record.groupKey
      if let index = groups[key] {
        counts[index] += 1
      } else {
        groups[key] = firsts.count
        firsts.append(entry)
        counts.append(1)
      }
    }
    var entries = zip(firsts, counts).map { explain($0.record, count: $1, line: $0.line, input: $0.input) }
    await checkNeverallows(&entries)
    let unavailable = suggestMacroCalls(&entries)
    var report = AVCReport(system: host.spec.name, policy: host.policySource, linesRead: log.linesRead,
      avcLines: log.entries.count, otherLines: log.otherLines, malformed: log.malformed, entries: entries)
    report.macroCallsUnavailable = unavailable
    return report
  }

  /// The flask denials of one decision (`xsmq explain --caller --op --target`), as
  /// the avc records Xen would log for them, explained with `op` as the op.
  public func explain(_ decision: Decision, caller: HostDomain, op: Op, target: HostDomain?) async -> AVCReport {
    var records: [AVCRecord] = []
    for step in decision.trace where step.layer == "flask" && (step.outcome == .fail || step.outcome == .permissive) {
      guard let subject = step.subject, let object = step.object,
        let checked = step.text.split(separator: " ").first, let colon = checked.firstIndex(of: ":")
      else { continue }
      let tclass = String(checked[..<colon])
      // `class:perm` (`class:perm:` when the step says the class has no such permission).
      let permission = String(checked[checked.index(after: colon)...].prefix { $0 != ":" })
      if let i = records.firstIndex(where: { $0.scontext == subject && $0.tcontext == object && $0.tclass == tclass }) {
        if !records[i].permissions.contains(permission) { records[i].permissions.append(permission) }
        continue
      }
      let source = AVCDomain("d\(caller.domid)")
      let targetDomain = target.flatMap { $0.domid == caller.domid ? nil : AVCDomain("d\($0.domid)") }
      records.append(AVCRecord(verdict: .denied, permissions: [permission], source: source, target: targetDomain,
        details: [], scontext: subject, tcontext: object, tclass: tclass))
    }
    var entries = records.map { explain($0, count: 1, line: 0, input: "query", knownOp: (op, caller, target)) }
    await checkNeverallows(&entries)
    return AVCReport(system: host.spec.name, policy: host.policySource, linesRead: 0, avcLines: 0, otherLines: 0,
      malformed: [], entries: entries)
  }

  // MARK: - One record

  func explain(_ record: AVCRecord, count: Int, line: Int, input: String,
    knownOp: (Op, HostDomain, HostDomain?)? = nil) -> AVCEntry
  {
    var entry = AVCEntry(verdict: record.verdict, count: count, firstLine: line, input: input,
      source: record.source.map(logged), target: record.target.map(logged), current: record.current.map(logged),
      scontext: record.scontext, tcontext: record.tcontext, ssid: record.ssid, tsid: record.tsid,
      tclass: record.tclass, permissions: record.permissions, details: record.details, problems: [],
      explanations: [], fix: nil)
    for domain in [entry.source, entry.target, entry.current].compactMap({ $0 }) where domain.onHost == nil {
      entry.problems.append(domain.domid >= AVCDomain.firstSystemDomid
        ? "\(domain.printed) is one of Xen's own domains: ops are asked with every domain of the host as target"
        : "\(domain.printed) is not a domain of this host: explained by its contexts only")
    }
    let fits: [String: [FittingOp]]
    var mismatches: [String: [FittingOp]] = [:]
    let candidates = record.permissions.map { ($0, ops(checking: record.tclass, $0)) }
    if let (op, caller, target) = knownOp {
      let fit = FittingOp(op: op.name, caller: caller.label, target: target?.label)
      fits = Dictionary(record.permissions.map { ($0, [fit]) }, uniquingKeysWith: { first, _ in first })
    } else {
      (fits, mismatches) = fittingOps(record, candidates: candidates)
    }
    let policy = host.server?.policy
    var source: SecurityContext?
    var target: SecurityContext?
    var classValue: Int?
    var general: DenialReason?
    if let policy {
      if record.scontext == nil || record.tcontext == nil {
        general = DenialReason(kind: .noContexts,
          text: "Xen printed SIDs, not contexts: the rules cannot be looked up (the SIDs of a running Xen are not this host's)")
      }
      for (text, side) in [(record.scontext, "source"), (record.tcontext, "target")] {
        guard let text, policy.context(text) == nil else { continue }
        let why = XenHost.explainUnknown(text, policy)
        entry.problems.append("the \(side) context `\(text)` is not a context of the host's policy: \(why)")
        general = DenialReason(kind: .unknownContext, text: "the host's policy does not know `\(text)`: \(why)")
      }
      source = record.scontext.flatMap(policy.context)
      target = record.tcontext.flatMap(policy.context)
      classValue = policy.classValue(record.tclass)
      if general == nil && classValue == nil {
        general = DenialReason(kind: .unknownClass, text: "the host's policy has no class `\(record.tclass)`")
      }
    } else {
      general = DenialReason(kind: .noPolicy, text: "the host has no flask policy")
    }
    for (permission, ops) in candidates {
      let fitting = fits[permission] ?? []
      let fittingNames = Set(fitting.map(\.op))
      var reason = general ?? DenialReason(kind: .noAllowRule, text: "")
      if general == nil, let policy, let source, let target, let classValue {
        reason = self.reason(record.verdict, record.tclass, permission, policy, source, target, classValue)
        cite(&reason, record.tclass, permission, policy, source, target)
      }
      entry.explanations.append(PermissionExplanation(permission: permission, reason: reason, fittingOps: fitting,
        otherOps: ops.map(\.name).filter { !fittingNames.contains($0) },
        otherContexts: fitting.isEmpty ? mismatches[permission] ?? [] : []))
    }
    if record.verdict == .denied, let policy, let source, let target {
      entry.fix = fix(entry, policy.typeNames[source.type - 1], policy.typeNames[target.type - 1])
    }
    return entry
  }

  private func logged(_ d: AVCDomain) -> LoggedDomain {
    LoggedDomain(domid: d.domid, printed: d.text, onHost: host.domain(domid: d.domid)?.label)
  }

  /// The catalog's ops with a check of `tclass:permission` (`use_*` counts for each of its forms).
  func ops(checking tclass: String, _ permission: String) -> [Op] {
    host.catalog.ops.filter { op in
      op.checks.contains { $0.securityClass == tclass && $0.concretePermissions.contains(permission) }
    }
  }

  // MARK: - Fitting ops

  /// For each permission, the candidate ops whose flask decision on the host,
  /// asked for the logged domids, makes the logged check with the logged
  /// contexts; and those that make it with other contexts.
  func fittingOps(_ record: AVCRecord, candidates: [(String, [Op])])
    -> (fits: [String: [FittingOp]], mismatches: [String: [FittingOp]])
  {
    guard let server = host.server, let subjectDomain = record.subjectDomain,
      let caller = host.domain(domid: subjectDomain.domid)
    else { return ([:], [:]) }
    let policy = server.policy
    func normalized(_ text: String?) -> String? { text.map { policy.context($0).map(policy.contextString) ?? $0 } }
    let subject = normalized(record.scontext)
    let object = normalized(record.tcontext)
    let engine = DecisionEngine(host: host)
    // Targets to ask about: the logged object domain, or every domain for a
    // `current=` line and for Xen's own domains (d[XEN], d[IO]).
    let targets: [HostDomain]?
    if let objectDomain = record.objectDomain, objectDomain.domid < AVCDomain.firstSystemDomid {
      guard let domain = host.domain(domid: objectDomain.domid) else { return ([:], [:]) }
      targets = [domain]
    } else {
      targets = nil
    }
    var traces: [String: [(HostDomain?, [TraceStep])]] = [:]
    var fits: [String: [FittingOp]] = [:]
    var mismatches: [String: [FittingOp]] = [:]
    for (permission, ops) in candidates {
      let prefix = "\(record.tclass):\(permission) "
      for op in ops {
        if traces[op.name] == nil {
          traces[op.name] = questions(op, caller: caller, targets: targets).map { target, objects in
            (target, engine.decide(caller: caller, op: op, target: target, module: .flask, objects: objects).trace)
          }
        }
        for (target, trace) in traces[op.name] ?? [] {
          let made = trace.filter { $0.layer == "flask" && $0.text.hasPrefix(prefix) && $0.outcome != .info }
          let fit = FittingOp(op: op.name, caller: caller.label, target: target?.label)
          if made.contains(where: { (subject == nil || $0.subject == subject) && (object == nil || $0.object == object) }) {
            if !(fits[permission]?.contains(fit) ?? false) { fits[permission, default: []].append(fit) }
          } else if let other = made.first, let s = other.subject, let o = other.object, targets != nil {
            var mismatch = fit
            mismatch.checkedAs = "\(s) -> \(o)"
            if !(mismatches[permission]?.contains(mismatch) ?? false) { mismatches[permission, default: []].append(mismatch) }
          }
        }
      }
    }
    return (fits, mismatches)
  }

  /// The questions to ask for `op`: one per target (the caller alone for an
  /// op without a domain argument), bound as a matrix cell, without
  /// situations and, when the op has conditional checks, with every situation
  /// that switches one on.
  private func questions(_ op: Op, caller: HostDomain, targets: [HostDomain]?) -> [(HostDomain?, QueryObjects)] {
    let situations = Set(op.checks.compactMap { $0.condition }.filter { !$0.negated }.map(\.name))
    let asked: [HostDomain] = op.positionalArgument == nil ? [caller] : (targets ?? host.domains)
    return asked.flatMap { target in
      let (bound, plain) = OpQuestion.matrixCell(caller: caller, op: op, target: target)
      var situated = plain
      situated.situations.formUnion(situations)
      let boundTarget = op.positionalArgument == nil ? nil : bound
      return situations.isEmpty ? [(boundTarget, plain)] : [(boundTarget, plain), (boundTarget, situated)]
    }
  }

  // MARK: - Reasons

  func reason(_ verdict: AVCRecord.Verdict, _ tclass: String, _ permission: String, _ policy: FlaskPolicy, _ source: SecurityContext,
    _ target: SecurityContext, _ classValue: Int) -> DenialReason
  {
    guard let bit = policy.permissionBit(classValue: classValue, permission: permission) else {
      return DenialReason(kind: .unknownPermission,
        text: "class `\(tclass)` of the host's policy has no permission `\(permission)`")
    }
    let booleans = host.server?.booleans ?? policy.booleanDefaults
    func grants(_ values: [Bool]) -> Bool {
      policy.computeAV(source: source, target: target, classValue: classValue, booleans: values).allowed
        & (UInt32(1) << UInt32(bit)) != 0
    }
    func rules(_ values: [Bool]) -> [String] {
      policy.grantingRules(source: source, target: target, classValue: classValue, permissionBit: bit, booleans: values)
        .map(\.description)
    }
    let granting = rules(booleans)
    if grants(booleans) {
      return verdict == .granted
        ? DenialReason(kind: .granted, text: "granted by the rules below (an auditallow rule logs it)", rules: granting)
        : DenialReason(kind: .grantedNow,
          text: "the host's policy grants it now: the log came from another policy or other boolean values",
          rules: granting)
    }
    if !granting.isEmpty {
      let constraints = policy.failingConstraints(source: source, target: target, classValue: classValue,
        permissionBit: bit)
      if constraints.isEmpty {
        return DenialReason(kind: .removed,
          text: "allow rules grant it, but the policy's role rules or type bounds remove it", rules: granting)
      }
      return DenialReason(kind: .constraint,
        text: "allow rules grant it, but a constraint removes it", rules: granting, constraints: constraints)
    }
    // A rule added for it would still meet the class's constraints.
    let constraints = policy.failingConstraints(source: source, target: target, classValue: classValue, permissionBit: bit)
    let still = constraints.isEmpty ? "" : ", and a constraint would remove it even then"
    if let flips = Self.fewestFlips(count: min(booleans.count, policy.booleanNames.count), granting: { flips in
      var values = booleans
      for index in flips { values[index].toggle() }
      return grants(values)
    }) {
      var values = booleans
      for index in flips { values[index].toggle() }
      let ordered = flips.sorted { policy.booleanNames[$0] < policy.booleanNames[$1] }
      let changes = ordered.map { BooleanChange(name: policy.booleanNames[$0], value: values[$0]) }
      let now = ordered.map { "`\(policy.booleanNames[$0])` is \(booleans[$0])" }.joined(separator: ", ")
      return DenialReason(kind: .boolean,
        text: "a conditional rule grants it when " + changes.map { "`\($0.name)` is \($0.value)" }.joined(separator: " and ")
          + " (on this host \(now))",
        rules: rules(values), constraints: constraints, booleans: changes)
    }
    return DenialReason(kind: .noAllowRule, text: "no allow rule grants it" + still, constraints: constraints)
  }

  /// Adds the source rules behind the permission, or why there are none.
  func cite(_ reason: inout DenialReason, _ tclass: String, _ permission: String, _ policy: FlaskPolicy,
    _ source: SecurityContext, _ target: SecurityContext)
  {
    guard let lookup = host.ruleSources.lookup else {
      reason.sourceNote = host.ruleSources.note
      return
    }
    let values = host.server?.booleans ?? policy.booleanDefaults
    let booleans = Dictionary(zip(policy.booleanNames, values), uniquingKeysWith: { a, _ in a })
    reason.sources = lookup(policy.typeNames[source.type - 1], policy.typeNames[target.type - 1], tclass, permission,
      booleans)
  }

  /// The smallest set of boolean indices whose flip makes `granting` true:
  /// single flips first, then pairs, then triples (pairs at most beyond 16 booleans).
  static func fewestFlips(count: Int, granting: ([Int]) -> Bool) -> [Int]? {
    func combinations(_ size: Int, from start: Int) -> [[Int]] {
      guard size > 0 else { return [[]] }
      guard start < count else { return [] }
      return (start..<count).flatMap { first in combinations(size - 1, from: first + 1).map { [first] + $0 } }
    }
    for size in 1...max(1, min(count, count > 16 ? 2 : 3)) where count > 0 {
      if let found = combinations(size, from: 0).first(where: granting) { return found }
    }
    return nil
  }

  // MARK: - Fixes

  func fix(_ entry: AVCEntry, _ sourceType: String, _ targetType: String) -> AVCFix? {
    let missing = entry.explanations.filter { [.noAllowRule, .boolean].contains($0.reason.kind) }
    let constrained = entry.explanations.filter { [.constraint, .removed].contains($0.reason.kind) }
    guard !missing.isEmpty || !constrained.isEmpty else { return nil }
    var fix = AVCFix(booleans: Array(Set(missing.flatMap(\.reason.booleans))).sorted { $0.name < $1.name })
    if !missing.isEmpty {
      let perms = missing.map(\.permission)
      fix.allowRule = "allow \(sourceType) \(targetType):\(entry.tclass) \(Self.braced(perms));"
      var ops: [String] = []
      for op in missing.flatMap(\.fittingOps).map(\.op) where !ops.contains(op) { ops.append(op) }
      if !ops.isEmpty { fix.opRule = "allow \(sourceType) \(targetType) : op { \(ops.joined(separator: " ")) };" }
    }
    let blocked = constrained + missing.filter { !$0.reason.constraints.isEmpty }
    if !blocked.isEmpty {
      fix.note = "an allow rule alone does not grant \(blocked.map(\.permission).joined(separator: ", ")): "
        + "give the domains contexts the constraint accepts, or change the constraint"
    }
    return fix
  }

  static func braced(_ names: [String]) -> String { names.count == 1 ? names[0] : "{ \(names.joined(separator: " ")) }" }

  /// When the host's policy is a tree, adds to each fix the calls of the
  /// tree's macros that grant what the allow rule grants; otherwise, when
  /// some fix has an allow rule, says why no call is proposed.
  func suggestMacroCalls(_ entries: inout [AVCEntry]) -> String? {
    let probe = NeverallowProbe(spec: host.spec)
    let wanted = entries.contains { $0.fix?.allowRule != nil }
    if let replacedPolicy {
      return wanted ? "unavailable: the policy in force is \(replacedPolicy), not the system's policy tree" : nil
    }
    let path: String
    switch probe.sourcePath {
    case .success(let source): path = source
    case .failure:
      let binary = host.spec.policyPath == nil ? "the host's policy is the embedded binary"
        : "the host's policy `\(host.spec.policy ?? "")` is a binary"
      return wanted ? "unavailable: \(binary), not a policy tree" : nil
    }
    guard let suggester = MacroSuggester(tree: path) else {
      return wanted ? "unavailable: the host's policy `\(host.spec.policy ?? path)` is not a policy tree" : nil
    }
    for index in entries.indices {
      // The allow rule is `allow S T:CLASS PERMS;`, written by `fix` above.
      guard let rule = entries[index].fix?.allowRule else { continue }
      let words = rule.dropLast().split(separator: " ").map(String.init)
      guard words.count >= 4, let colon = words[2].firstIndex(of: ":") else { continue }
      let permissions = words[3...].filter { $0 != "{" && $0 != "}" }
      entries[index].fix?.macroCalls = suggester.suggestions(
        sourceType: words[1], targetType: String(words[2][..<colon]), className: String(words[2][words[2].index(after: colon)...]),
        permissions: permissions)
    }
    return nil
  }

  /// Rebuilds the host's policy source once with every suggested allow rule
  /// appended and records, per entry, whether its rule breaks a neverallow.
  func checkNeverallows(_ entries: inout [AVCEntry]) async {
    let indices = entries.indices.filter { entries[$0].fix?.allowRule != nil }
    guard !indices.isEmpty else { return }
    if let replacedPolicy {
      let text = "not checked (the policy in force is \(replacedPolicy), not the system's `\(host.spec.policy ?? "embedded")`)"
      for index in indices { entries[index].fix?.neverallow = NeverallowCheck(status: .notChecked, text: text) }
      return
    }
    let checks = await NeverallowProbe(spec: host.spec).check(indices.map { entries[$0].fix!.allowRule! })
    for (index, check) in zip(indices, checks) { entries[index].fix?.neverallow = check }
  }
}
