import Foundation
import XSMCatalog
import XSMDiagnostics

/// Runs the cases of a policy test file on its host: loads the system (or
/// the embedded default host) with the file's policy, binds every question
/// as `xsmq can` does and asks the `DecisionEngine`. Problems with the file
/// itself (an unknown op or domain, an argument the op does not take) are
/// diagnostics located in the file; a refused expectation is a failed case.
public enum PolicyTestRunner {
  /// The `index` a build asks `hvm.set_param` for: HVM_PARAM_STORE_EVTCHN,
  /// the xenstore event channel the builder stores in a new HVM guest.
  static let storeEventChannelParameter = "2"

  /// Runs every case of `file`; the report is nil when the file has errors.
  /// `showCoverage` adds what the cases asked per op family and permission.
  public static func run(_ file: PolicyTestFile, catalog: OpCatalog, policies: PolicyProvider,
    showCoverage: Bool = false) async
    -> (PolicyTestReport?, [Diagnostic])
  {
    let started = ContinuousClock.now
    let (host, hostDiagnostics) = await loadHost(file, catalog: catalog, policies: policies)
    guard let host else { return (nil, hostDiagnostics) }
    var context = CaseContext(file: file, host: host)
    var results: [PolicyTestReport.CaseResult] = []
    for testCase in file.cases {
      if let result = await context.run(testCase) { results.append(result) }
    }
    let coverage = PolicyCoverageReport(askedOps: context.askedOps, checkedPermissions: context.checkedPermissions,
      host: host)
    let requirement = file.coverage.flatMap { context.evaluate($0, coverage) }
    guard !context.diagnostics.contains(where: { $0.severity == .error }) else {
      return (nil, hostDiagnostics + context.diagnostics)
    }
    let seconds = started.duration(to: .now) / .seconds(1)
    var report = PolicyTestReport(file: file.file, host: host.spec.name, policy: host.policySource, cases: results,
      seconds: seconds)
    report.requirement = requirement
    if showCoverage { report.coverage = coverage }
    return (report, hostDiagnostics + context.diagnostics)
  }

  /// The system the file names (or the embedded default host), with the file's policy in place of the system's.
  static func loadHost(_ file: PolicyTestFile, catalog: OpCatalog, policies: PolicyProvider) async
    -> (XenHost?, [Diagnostic])
  {
    let (loadedSpec, specDiagnostics) = file.system.map { SystemFile.load(path: file.resolve($0.text)) }
      ?? EmbeddedDefaults.system()
    func failed(_ diagnostics: [Diagnostic]) -> (XenHost?, [Diagnostic]) {
      let at = file.policy?.span ?? file.system?.span
      let what = file.system.map { "the system `\($0.text)`" } ?? "the default host"
      return (nil, diagnostics + [Diagnostic(.testfile.badHost, .error,
        "\(what)" + (file.policy.map { " with the policy `\($0.text)`" } ?? "") + " does not load", span: at)])
    }
    guard var spec = loadedSpec, !specDiagnostics.contains(where: { $0.severity == .error }) else {
      return failed(specDiagnostics)
    }
    if let policy = file.policy {
      spec.policy = URL(fileURLWithPath: file.resolve(policy.text)).standardizedFileURL.path
      spec.spans["policy"] = policy.span
    }
    let (host, hostDiagnostics) = await XenHost.load(spec, catalog: catalog, policies: policies)
    guard let host else { return failed(specDiagnostics + hostDiagnostics) }
    return (host, specDiagnostics + hostDiagnostics.filter { $0.severity == .error })
  }
}

/// What running the cases of one file needs: the host, the engine, and the
/// diagnostics found on the way.
struct CaseContext {
  let file: PolicyTestFile
  let host: XenHost
  let engine: DecisionEngine
  var diagnostics: [Diagnostic] = []
  let lines: SourceLines
  /// Every op some question asked, and every `class:permission` a Flask check of those questions made.
  var askedOps: Set<String> = []
  var checkedPermissions: Set<String> = []

  init(file: PolicyTestFile, host: XenHost) {
    self.file = file
    self.host = host
    engine = DecisionEngine(host: host)
    lines = file.lines
  }

  mutating func report(_ id: DiagnosticID, _ message: String, _ at: SourceSpan, help: String? = nil) {
    diagnostics.append(Diagnostic(id, .error, message, span: at, help: help, sourceLine: lines.line(of: at)))
  }

  /// The domains a word names: one by name, `domN` or N; every domain of a `type:T` or `kind:K`.
  mutating func domains(_ word: PolicyTestWord, role: String) -> [HostDomain] {
    let text = word.text
    if text.hasPrefix("type:") {
      let type = String(text.dropFirst(5))
      let found = host.domains.filter { $0.contextText.split(separator: ":").dropFirst(2).first.map(String.init) == type }
      if found.isEmpty {
        let types = Set(host.domains.compactMap { $0.contextText.split(separator: ":").dropFirst(2).first.map(String.init) })
        report(.testfile.unknownDomain, "no domain of the host has the type `\(type)`", word.span,
          help: Suggestion.closest(to: type, in: types).map { "did you mean `type:\($0)`?" })
      }
      return found
    }
    if text.hasPrefix("kind:") {
      let kind = String(text.dropFirst(5))
      guard let parsed = DomainKind(rawValue: kind) else {
        report(.testfile.unknownDomain, "unknown domain kind `\(kind)`", word.span, help: "the kinds are `pv`, `hvm` and `pvh`")
        return []
      }
      return host.domains.filter { $0.kind == parsed }
    }
    if let domain = host.domain(named: text) { return [domain] }
    let hint = Suggestion.closest(to: text, in: host.domainNames).map { "did you mean `\($0)`?" }
    report(.testfile.unknownDomain, "unknown \(role) domain `\(text)`", word.span,
      help: hint ?? "this host has " + host.domains.map(\.label).joined(separator: ", "))
    return []
  }

  mutating func op(_ word: PolicyTestWord) -> Op? {
    if let op = host.catalog.op(named: word.text) { return op }
    let hint = Suggestion.closest(to: word.text, in: host.catalog.allNames).map { "did you mean `\($0)`?" }
    report(.testfile.unknownOp, "unknown op `\(word.text)`", word.span, help: hint ?? "`xsmc ops` lists every op")
    return nil
  }

  /// The ops a word names: one op by name or alias, or every op of a `family.*` (`xsm.flask_op.*` too).
  mutating func ops(_ word: PolicyTestWord) -> [Op] {
    guard word.text.hasSuffix(".*") else { return op(word).map { [$0] } ?? [] }
    let prefix = String(word.text.dropLast(2))
    let found = host.catalog.ops.filter { $0.family == prefix || $0.name.hasPrefix(prefix + ".") }
    if found.isEmpty {
      let hint = Suggestion.closest(to: prefix, in: host.catalog.families).map { "did you mean `\($0).*`?" }
      report(.testfile.unknownFamily, "no op family `\(prefix)`", word.span,
        help: hint ?? "the families are " + host.catalog.families.joined(separator: ", "))
    }
    return found
  }

  /// Asks one question and notes what it covered. A build step Xen refuses
  /// whatever the module is left out (`skipped`), not counted as `invalid`.
  mutating func decide(_ question: OpQuestion, module: XSMModule, engine: DecisionEngine? = nil,
    into result: inout PolicyTestReport.CaseResult) -> Decision
  {
    let decision = (engine ?? self.engine).decide(caller: question.caller, op: question.op, target: question.target,
      module: module, objects: question.objects)
    result.asked += 1
    if decision.verdict == .invalid && engine == nil { result.invalid += 1 }
    askedOps.insert(question.op.name)
    for step in decision.trace where step.layer == "flask" && step.subject != nil {
      guard let checked = step.text.split(separator: " ").first else { continue }
      checkedPermissions.insert(String(checked.hasSuffix(":") ? checked.dropLast() : checked))
    }
    return decision
  }

  mutating func run(_ testCase: PolicyTestCase) async -> PolicyTestReport.CaseResult? {
    let errorsBefore = diagnostics.count
    let callers = testCase.callers.flatMap { domains($0, role: testCase.expectation == .build ? "builder" : "caller") }
    let targets = testCase.targets.flatMap { domains($0, role: testCase.expectation == .build ? "guest" : "target") }
    // Several domains on a side ask about each other: a domain with itself is left out.
    let pairsOnly = testCase.callers.count > 1 || testCase.targets.count > 1
      || (testCase.callers + testCase.targets).contains { $0.text.hasPrefix("type:") || $0.text.hasPrefix("kind:") }
    var result = PolicyTestReport.CaseResult(name: testCase.name, expectation: testCase.expectation,
      line: testCase.span.line)
    if testCase.expectation == .build {
      for builder in callers {
        for guest in targets where !(pairsOnly && builder.domid == guest.domid) {
          for module in testCase.modules.modules {
            guard await build(testCase, builder: builder, guest: guest, module: module, into: &result) else { break }
          }
        }
      }
    } else {
      var ops: [Op] = []
      var expanded: Set<String> = []
      for word in testCase.ops {
        let named = self.ops(word)
        if word.text.hasSuffix(".*") { expanded.formUnion(named.map(\.name)) }
        for op in named where !ops.contains(where: { $0.name == op.name }) { ops.append(op) }
      }
      guard diagnostics.count == errorsBefore else { return nil }
      if let first = testCase.targets.first, !ops.isEmpty, ops.allSatisfy({ $0.positionalArgument == nil }) {
        report(.testfile.badArgument, "case `\(testCase.name)`: no op of the case takes a target domain", first.span,
          help: "leave `target` out for ops without a domain argument")
      }
      // An argument or situation goes to every op that takes it; one that no op takes is a mistake.
      for word in testCase.arguments + testCase.situations {
        let name = String(word.text.prefix { $0 != "=" })
        guard !ops.contains(where: { $0.argument(named: name) != nil }) else { continue }
        let known = Set(ops.flatMap { $0.arguments.map(\.name) }).sorted()
        let hint = Suggestion.closest(to: name, in: known).map { "did you mean `\($0)`?" }
        report(.testfile.badArgument, "case `\(testCase.name)`: no op of the case takes the argument `\(name)`", word.span,
          help: hint ?? (known.isEmpty ? "the ops take no arguments" : "they take " + known.map { "`\($0)`" }.joined(separator: ", ")))
      }
      guard diagnostics.count == errorsBefore else { return nil }
      if testCase.expectation.asksEveryDomain {
        guard askEveryDomain(testCase, ops: ops, callers: callers, targets: targets, into: &result) else { return nil }
        return diagnostics.count == errorsBefore ? result : nil
      }
      for op in ops {
        for caller in callers {
          for target in targets.isEmpty ? [nil] : targets.map(Optional.some)
          where !(pairsOnly && target?.domid == caller.domid) {
            for module in testCase.modules.modules {
              guard let question = bind(testCase, caller: caller, op: op, target: target,
                defaults: expanded.contains(op.name))
              else { return nil }
              record(question, module: module, expectAllowed: testCase.expectation == .may, step: nil, into: &result)
            }
          }
        }
      }
    }
    return diagnostics.count == errorsBefore ? result : nil
  }

  /// Binds a question with a target domain; `defaults` fills the required
  /// arguments the case does not give as a matrix cell does (vCPU 0, the
  /// caller as another domain argument, numbers 0, the target's label).
  mutating func bind(_ testCase: PolicyTestCase, caller: HostDomain, op: Op, target: HostDomain?, defaults: Bool)
    -> OpQuestion?
  {
    var extra: [(String, String)] = []
    if defaults {
      let given = Set(testCase.arguments.map { String($0.text.prefix { $0 != "=" }) })
      for text in OpQuestion.matrixArguments(caller: caller, op: op, target: target ?? caller) {
        let name = String(text.prefix { $0 != "=" })
        guard name != op.positionalArgument?.name, !given.contains(name) else { continue }
        extra.append((name, String(text.dropFirst(name.count + 1))))
      }
    }
    return bind(testCase, caller: caller, op: op, target: target?.name, arguments: extra)
  }

  mutating func bind(_ testCase: PolicyTestCase, caller: HostDomain, op: Op, target: String?,
    arguments extra: [(String, String)] = []) -> OpQuestion?
  {
    do {
      let named = try OpQuestion.namedArguments(testCase.arguments.map(\.text), for: op)
        .filter { op.argument(named: $0.0) != nil }
      let flags = testCase.situations.map(\.text).filter { op.argument(named: $0) != nil }
      return try OpQuestion.bind(caller: caller, op: op, target: op.positionalArgument == nil ? nil : target,
        arguments: named + extra, flags: flags, on: host)
    } catch {
      let at = testCase.arguments.first?.span ?? testCase.ops.first?.span ?? testCase.span
      report(.testfile.badArgument, "case `\(testCase.name)`: " + error.message, at,
        help: "`\(op.name)` takes: " + (op.arguments.map(\.name).joined(separator: ", ").nonEmpty ?? "no arguments"))
      return nil
    }
  }

  mutating func record(_ question: OpQuestion, module: XSMModule, expectAllowed: Bool, step: String?,
    into result: inout PolicyTestReport.CaseResult)
  {
    let decision = decide(question, module: module, into: &result)
    let passed = (decision.verdict == .allowed) == expectAllowed
    guard !passed, result.failure == nil else { return }
    result.failure = PolicyTestReport.Failure(question: question, decision: decision, expectedAllowed: expectAllowed,
      step: step)
  }

  /// Asks every op of the domain-build sequence for `builder` on `guest`;
  /// false once a step is refused (the case has failed).
  mutating func build(_ testCase: PolicyTestCase, builder: HostDomain, guest running: HostDomain, module: XSMModule,
    into result: inout PolicyTestReport.CaseResult) async -> Bool
  {
    var buildHost = host
    var guest = running
    if let label = testCase.buildLabel {
      let spec = DomainSpec(domid: running.domid, name: running.name, context: label.text, flags: running.flags,
        iommu: running.iommu, kind: running.kind)
      switch host.resolve(spec, among: host.domains.filter { $0.domid != running.domid }) {
      case .success(let labelled):
        guest = labelled
        buildHost = host.updated(domains: host.domains.map { $0.domid == running.domid ? labelled : $0 })
      case .failure(let error):
        report(.testfile.badArgument, "case `\(testCase.name)`: build label: \(error.message)", label.span)
        return false
      }
    }
    var engine = DecisionEngine(host: buildHost)
    let xenstore = buildHost.domains.first { $0.isXenstore && $0.domid != guest.domid }
    let deviceModel = buildHost.domains.first { $0.targetDomid == guest.domid }
    for (number, step) in DomainBuildSequence.steps.enumerated() {
      for name in step.ops {
        guard let op = buildHost.catalog.op(named: name) else { continue }
        let stepName = "step \(number + 1), \(step.title.lowercased())"
        // The arguments a toolstack passes: the guest first; the xenstore
        // domain as the remote end of its channel; the running label as
        // the relabel's new one; vCPU 0; the xenstore channel's parameter.
        var target: String? = guest.name
        var arguments: [(String, String)] = []
        for argument in op.arguments where argument.isRequired && argument.name != op.positionalArgument?.name {
          switch argument.kind {
          case .domain: arguments.append((argument.name, argument.name == "remote" ? (xenstore ?? builder).name : guest.name))
          case .label:
            // The new domain's label at creation; the running label as a relabel's new one.
            let relabel = op.name == "xsm.flask_op.relabel_domain"
            arguments.append((argument.name, relabel ? running.contextText : guest.contextText))
          case .vcpu: arguments.append((argument.name, "0"))
          case .number:
            arguments.append((argument.name, argument.name == "index" ? PolicyTestRunner.storeEventChannelParameter : "0"))
          default: continue
          }
        }
        if op.positionalArgument?.name == "dm" {
          // domctl.set_target names the guest's stub device model first.
          guard let deviceModel else {
            result.skipped.append("\(stepName): \(op.name): \(guest.label) has no stub device model on this host")
            continue
          }
          target = deviceModel.name
        }
        if op.name == "xsm.flask_op.relabel_domain" && testCase.buildLabel == nil {
          result.skipped.append("\(stepName): \(op.name): no build `label`, so the guest is built under its own")
          continue
        }
        guard let question = bind(testCase, caller: builder, op: op, target: target, arguments: arguments) else {
          return false
        }
        let decision = decide(question, module: module, engine: engine, into: &result)
        if decision.verdict == .invalid {
          // Xen refuses it whatever the policy: not a step for this guest (a PV-only op on an HVM guest).
          let why = decision.trace.last { $0.outcome == .fail }?.text ?? decision.verdictText
          result.skipped.append("\(stepName): \(op.name): \(why)")
          continue
        }
        if decision.verdict != .allowed {
          result.failure = PolicyTestReport.Failure(question: question, decision: decision, expectedAllowed: true,
            step: stepName)
          return false
        }
        if op.name == "xsm.flask_op.relabel_domain" {
          // Relabelled: the steps after it meet the guest under its running label.
          engine = DecisionEngine(host: host)
          guest = running
        }
      }
    }
    return true
  }
}

extension String {
  fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
