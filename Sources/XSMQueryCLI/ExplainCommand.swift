import ArgumentParser
import Foundation
import XSMAudit
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics
import XSMEngine
import XSMProtocol

extension XSMQ {
  /// `xsmq explain`: Xen's avc lines explained in Xen's terms (audit2why and audit2allow for Xen).
  struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Explain Xen's `avc: denied` lines: the op, why the policy denies it, the rule that grants it.",
      discussion: """
        Reads avc lines as Xen's avc_audit prints them (xl dmesg, a serial log), from FILEs or standard \
        input (`-` or no FILE), with or without the `(XEN) ` prefix and timestamps; other lines are \
        skipped and counted. A line with `avc:` that does not parse is reported with its line number and \
        skipped. Identical lines (verdict, permissions, contexts, class, domids) are explained once, \
        with a count and the first line.

        For each permission of a line: the ops whose Flask check of that class:permission, asked on the \
        host for the logged domids (source as caller, target as target), fails with exactly the logged \
        contexts; why the host's policy, with the host's booleans, denies it (no allow rule, a conditional \
        rule behind booleans set the other way, a constraint, an unknown context; or it grants it now, \
        so the log came from another policy or boolean state); the smallest fix: a raw allow rule, the op \
        rule (xsmc's `allow S T : op { OP };`, which grants all of the op's checks) and the fewest booleans \
        to change. When the host's policy is a source (a tree or policy.conf named by --system), it is rebuilt \
        in a temporary directory with the suggested rules appended (a tree gets one extra module, \
        zz_xsmq_explain) and a rule that breaks a neverallow is reported with libsepol's diagnostic \
        (sepol.neverallow); a binary or embedded policy is not checked.

        --caller DOM --op OP [--target DOM] explains why that op is denied instead of reading a log.

        With --server URL (or XSMQ_SERVER) the logs are sent to xsmd (POST /v1/explain) and explained \
        against the policy, booleans and domains it holds now; the output is the same as on a local host. \
        Macro calls are proposed and neverallows checked when xsmd's system names a policy source, and \
        not after a policy was loaded into it at run time. --caller/--op runs on a local host only.

        --json prints {system, policy, lines_read, avc_lines, other_lines, malformed: [{line, input, \
        text, reason}], entries: [{verdict, count, first_line, input, source/target/current: {domid, \
        printed, on_host}, scontext, tcontext, ssid, tsid, tclass, permissions, details: [{name, value}], \
        problems, explanations: [{permission, reason: {kind, text, rules, constraints, booleans: [{name, \
        value}], sources: {granting, switched_off, closest, auditing, forbidding}, source_note}, fitting_ops: [{op, caller, target}], other_ops, other_contexts: [{op, caller, target, \
        checked_as}]}], fix: {allow_rule, op_rule, macro_calls: [{call, defined_at, grants, file}], booleans, \
        note, neverallow: {status, text, diagnostics}}}], macro_calls_unavailable}; reason kinds: granted, granted-now, \
        no-allow-rule, boolean, constraint, removed, unknown-context, unknown-class, unknown-permission, \
        no-contexts, no-policy; neverallow status: holds, breaks, fails, not-checked. Each source \
        rule is {kind, file, line, column, rule, condition, macro_calls: [{name, call, file, line}]}: \
        the text prints them as `from` (grants it), `off` (grants it under a boolean branch that is \
        off), `near` (no rule grants it: the allow rules for the same source, target and class, \
        where the permission belongs) and `never` (a neverallow forbids it), when the host's policy \
        is a tree or a policy.conf, or a binary with the map `xsmc build --origins` writes.

        Exit status: 0 every avc line was read and explained (denied or not); 1 some line with `avc:` \
        could not be parsed, or the input had no avc line; 2 usage, input or host errors.
        """)

    @Argument(help: "Logs to read (`-` or none: standard input).")
    var files: [String] = []

    @Option(name: .long, help: "Explain a question instead of a log: the calling domain.")
    var caller: String?

    @Option(name: .long, help: "With --caller: the op (by name or alias).")
    var op: String?

    @Option(name: .long, help: "With --caller: the op's first domain argument.")
    var target: String?

    @Option(name: .customLong("arg"), help: ArgumentHelp(
      "With --caller: an argument of the op, NAME=VALUE, as `xsmq can` takes it; repeatable.", valueName: "name=value"))
    var arguments: [String] = []

    @OptionGroup var host: HostOptions

    func validate() throws {
      if (caller == nil) != (op == nil) { throw ValidationError("--caller and --op go together") }
      if caller == nil && (target != nil || !arguments.isEmpty) {
        throw ValidationError("--target and --arg need --caller and --op")
      }
      if caller != nil && !files.isEmpty { throw ValidationError("give a log or --caller/--op, not both") }
      if caller != nil && host.serverURL != nil {
        throw ValidationError("--caller/--op explains on a local host: give --system (or no --server) for a question")
      }
    }

    func run() async throws {
      // The logs, named as line references name them.
      let inputs = caller != nil ? [] : try (files.isEmpty ? ["-"] : files).map { file in
        ExplainRequestV1.Input(name: file == "-" ? "stdin" : file, text: try read(file))
      }
      let report: AVCReport
      let label: HostLabel
      if let client = try host.client(defaultCaller: "dom0") {
        report = try await client.explain(ExplainRequestV1(inputs: inputs))
        label = await client.hostLabel()
      } else if let caller, let op {
        let host = try await self.host.load()
        label = self.host.label(host)
        guard let question = try await explainQuestion(caller: caller, op: op, on: host, AVCExplainer(host: host))
        else { return }
        report = question
      } else {
        var log = AVCLog()
        for input in inputs { log.read(input.text, input: input.name) }
        let host = try await self.host.load()
        label = self.host.label(host)
        report = await AVCExplainer(host: host).explain(log)
      }
      if caller == nil {
        for bad in report.malformed {
          fail("\(bad.input):\(bad.line): warning: not an avc line Xen prints: \(bad.reason); skipped\n  \(bad.text)")
        }
      }
      Console.current.answer(report, json: self.host.json, host: label, Self.render(report, queried: caller != nil))
      if caller == nil && (!report.malformed.isEmpty || report.avcLines == 0) { throw ExitCode(1) }
    }

    private func read(_ file: String) throws -> String {
      if file == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
      guard let data = FileManager.default.contents(atPath: file) else {
        throw usageError("cannot read `\(file)`")
      }
      return String(decoding: data, as: UTF8.self)
    }

    /// The flask denials of one question, explained; nil (after saying so) when flask does not deny it.
    private func explainQuestion(caller: String, op: String, on host: XenHost, _ explainer: AVCExplainer)
      async throws -> AVCReport?
    {
      let callerDomain = try host.resolveDomain(caller, role: "caller")
      let operation = try host.resolveOp(op)
      let question: OpQuestion
      do {
        question = try OpQuestion.bind(caller: callerDomain, op: operation, target: target,
          arguments: try OpQuestion.namedArguments(arguments, for: operation), on: host)
      } catch {
        throw usageError(error.description)
      }
      let decision = DecisionEngine(host: host).decide(caller: callerDomain, op: operation, target: question.target,
        module: .flask, objects: question.objects)
      let asked = "\(callerDomain.label) \(operation.name) \(question.target?.label ?? "-")"
      let flaskDenials = decision.trace.filter {
        $0.layer == "flask" && ($0.outcome == .fail || $0.outcome == .permissive) && $0.subject != nil
      }
      guard !flaskDenials.isEmpty else {
        let refusal = decision.trace.last { $0.outcome == .fail }
        let text = decision.verdict == .allowed
          ? "\(asked): allowed under flask; nothing to explain"
          : "\(asked): \(decision.verdict.rawValue) (\(decision.result)), but not by a Flask check: \(refusal?.text ?? "-")"
        Console.current.answer(AVCReport(system: host.spec.name, policy: host.policySource), json: self.host.json,
          host: self.host.label(host), text)
        return nil
      }
      return await explainer.explain(decision, caller: callerDomain, op: operation, target: question.target)
    }

    // MARK: - Text

    static func render(_ report: AVCReport, queried: Bool) -> String {
      var out: [String] = []
      for entry in report.entries { out.append(render(entry, queried: queried)) }
      if !queried {
        let denied = report.entries.filter { $0.verdict == .denied }.count
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        var summary = "\(count(report.linesRead, "line")): \(count(report.avcLines, "avc record")), "
          + "\(report.entries.count) distinct (\(denied) denied, \(report.entries.count - denied) granted)"
        if !report.malformed.isEmpty { summary += ", \(report.malformed.count) not understood" }
        summary += ", \(count(report.otherLines, "other line")); host `\(report.system)`, policy `\(report.policy)`"
        if let unavailable = report.macroCallsUnavailable { summary += "\nmacro calls: " + unavailable }
        out.append(summary)
      }
      // Said once: why the rules are not cited by source.
      if let note = report.entries.lazy.flatMap(\.explanations).compactMap(\.reason.sourceNote).first {
        out.append("(\(note))")
      }
      return out.joined(separator: "\n\n")
    }

    static func render(_ e: AVCEntry, queried: Bool) -> String {
      var lines: [String] = []
      let where_ = queried ? "query" : "\(e.input):\(e.firstLine)"
      let perms = e.permissions.isEmpty ? "null" : "{ \(e.permissions.joined(separator: " ")) }"
      lines.append("\(where_): \(e.verdict.rawValue) \(perms) tclass=\(e.tclass)"
        + (e.count > 1 ? " (\(e.count) times)" : ""))
      func party(_ role: String, _ d: LoggedDomain?, _ context: String?, _ sid: UInt32?) {
        var text = "  " + role.padding(toLength: 8, withPad: " ", startingAt: 0)
        if let d {
          let onHost = d.domid >= AVCDomain.firstSystemDomid ? " (Xen's own)" : " (not on this host)"
          text += d.printed + (d.onHost.map { " = \($0)" } ?? onHost) + "  "
        }
        text += context ?? sid.map { "sid \($0)" } ?? "-"
        lines.append(text)
      }
      party(e.current != nil ? "current" : "source", e.source ?? e.current, e.scontext, e.ssid)
      party("target", e.target ?? e.source, e.tcontext, e.tsid)
      for problem in e.problems { lines.append("  note    " + problem) }
      for x in e.explanations {
        lines.append("  \(e.tclass):\(x.permission): \(x.reason.text)")
        lines.append("    op    " + opsText(x, e))
        for other in x.otherContexts.prefix(3) {
          lines.append("    note  on this host \(other.op) checks it as \(other.checkedAs ?? "-"): the log's contexts differ")
        }
        for rule in x.reason.rules.prefix(4) { lines.append("    rule  " + rule) }
        if x.reason.rules.count > 4 { lines.append("    rule  ... and \(x.reason.rules.count - 4) more") }
        for constraint in x.reason.constraints { lines.append("    by    " + constraint) }
        lines += citationLines(x)
      }
      if let fix = e.fix {
        var label = "fix"
        func add(_ text: String) {
          lines.append("  " + label.padding(toLength: 8, withPad: " ", startingAt: 0) + text)
          label = "or"
        }
        if !fix.booleans.isEmpty {
          add("set " + fix.booleans.map(\.description).joined(separator: " ")
            + "  (flask-set-bool on Xen, [booleans] in a system file)")
        }
        if let rule = fix.allowRule { add(rule) }
        if let rule = fix.opRule { add(rule + "  (op rule: grants all of the op's checks)") }
        for macro in fix.macroCalls {
          add(macro.call + "  (the tree's macro at \(macro.definedAt)"
            + (macro.file.map { "; in \($0)" } ?? "") + ")")
        }
        if let note = fix.note { lines.append("  note    " + note) }
        if let check = fix.neverallow {
          switch check.status {
          case .breaks, .fails: lines.append("  error   " + check.text)
          case .holds: lines.append("  check   passes: " + check.text)
          case .notChecked: lines.append("  check   " + check.text)
          }
          if check.status == .fails { for d in check.diagnostics { lines.append("          " + d) } }
        }
      }
      return lines.joined(separator: "\n")
    }

    /// The source rules of an explanation: `from` (granting), `near` (the
    /// closest allow rules when none grants), `off` (under a boolean branch
    /// that is off), `never` (neverallows), each with its macro calls.
    static func citationLines(_ x: PermissionExplanation) -> [String] {
      guard let sources = x.reason.sources else { return [] }
      var lines: [String] = []
      func cite(_ label: String, _ rules: [RuleCitation]) {
        for rule in rules.prefix(4) {
          lines.append("    \(label.padding(toLength: 5, withPad: " ", startingAt: 0)) \(rule.location): "
            + rule.shortRule(keeping: [x.permission]) + (rule.condition.map { " [if \($0)]" } ?? ""))
          if let via = rule.viaText { lines.append("            " + via) }
        }
        if rules.count > 4 { lines.append("    \(label.padding(toLength: 5, withPad: " ", startingAt: 0)) ... and \(rules.count - 4) more") }
      }
      cite("from", sources.granting)
      cite("off", sources.switchedOff)
      if sources.granting.isEmpty {
        if sources.closest.isEmpty && sources.switchedOff.isEmpty {
          lines.append("    near  no source rule for this source/target/class")
        } else {
          cite("near", sources.closest)
        }
      }
      cite("never", sources.forbidding)
      return lines
    }

    /// The ops that fit, grouped by the question they were asked, and how many others check the permission.
    static func opsText(_ x: PermissionExplanation, _ e: AVCEntry) -> String {
      var byQuestion: [(question: String, ops: [String])] = []
      for fit in x.fittingOps {
        let question = fit.target.map { "\(fit.caller) -> \($0)" } ?? fit.caller
        if let i = byQuestion.firstIndex(where: { $0.question == question }) {
          if !byQuestion[i].ops.contains(fit.op) { byQuestion[i].ops.append(fit.op) }
        } else {
          byQuestion.append((question, [fit.op]))
        }
      }
      let others = x.otherOps.count
      let othersList = x.otherOps.prefix(5).joined(separator: ", ") + (others > 5 ? ", ..." : "")
      if byQuestion.isEmpty {
        if others == 0 { return "no op of the catalog checks \(e.tclass):\(x.permission)" }
        return "none of the \(others) ops that check it fits these domains on this host (\(othersList))"
      }
      var text = byQuestion.prefix(3).map { "\($0.ops.joined(separator: ", ")) (\($0.question))" }.joined(separator: "; ")
      if byQuestion.count > 3 { text += "; and for \(byQuestion.count - 3) more targets" }
      if others > 0 { text += "; \(others) other op\(others == 1 ? " checks" : "s check") it" }
      return text
    }
  }
}
