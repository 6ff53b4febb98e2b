import ArgumentParser
import Foundation
import XSMBuild
import XSMCatalog
import XSMCatalogGen
import XSMCommandLine
import XSMDiagnostics
import XSMEngine
import XSMPolicy
import XSMSepol

extension PrivilegeClass: ExpressibleByArgument {}
extension OpKind: ExpressibleByArgument {}

extension XSMC {
  struct Ops: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List and describe hypercall ops: hooks, dummy rules, Flask checks, privilege class.",
      discussion: """
        With no OP, lists the ops that pass the filters; with OPs (names or aliases such as \
        `domctl.pause`), describes each. `--split-report` lists permissions that guard ops of more \
        than one privilege class and the defects in how Flask checks ops; `--dummy-vs-flask` compares \
        the dummy module with a compiled policy on a reference host (control domain dom0_t, xenstore \
        xenstore_t, device model dm_dom_t, guests domU_t by default). Exit status: 0 ok, 1 catalog or \
        policy errors, 2 usage errors (unknown op, bad filter).
        """)

    @Argument(help: "Ops to describe, by name or alias (`domctl.pause`), or `family.*`.")
    var names: [String] = []

    @OptionGroup var catalogOptions: CatalogOptions

    @Option(name: .long, help: "Only ops of this family (`domctl`, `evtchn`, `flask`...).")
    var family: String?

    @Option(name: .long, help: "Only ops that call this XSM hook (`xsm_domctl`).")
    var hook: String?

    @Option(name: .customLong("class"), help: "Only ops of this class: privileged, logical or mixed.")
    var privilege: PrivilegeClass?

    @Option(name: .long, help: "Only ops whose checks need this permission (`domain:pause` or `pause`).")
    var permission: String?

    @Option(name: .long, help: "Only legacy or only split ops.")
    var kind: OpKind?

    @Flag(name: .long, help: "Report permissions shared by ops of different privilege and Flask defects.")
    var splitReport = false

    @Flag(name: .long, help: "Report where the dummy rule and a policy's grants disagree.")
    var dummyVsFlask = false

    @Option(name: .long, help: "Policy for --dummy-vs-flask and validation: a tree, a policy.conf or a binary (default: policy).")
    var policy: String?

    @Option(name: .long, help: "Reference host for --dummy-vs-flask, as control,xenstore,device-model,guest types.")
    var host: String?

    @Flag(name: .long, help: "Print JSON on stdout.")
    var json = false

    func validate() throws {
      if splitReport && dummyVsFlask { throw ValidationError("give --split-report or --dummy-vs-flask, not both") }
      if let host, host.split(separator: ",").count != 4 {
        throw ValidationError("--host takes four types: control,xenstore,device-model,guest")
      }
    }

    func run() async throws {
      let renderer = Console.current.renderer()
      guard let catalog = catalogOptions.load(renderer: renderer) else { throw ExitCode(1) }

      if splitReport {
        let report = SplitReport(catalog: catalog)
        Console.current.say(json ? encodeJSON(report) : Self.text(report))
        return
      }
      if dummyVsFlask || policy != nil {
        let path = policy ?? "policy"
        guard let binary = await PolicyLoading.binary(path, catalog: catalog) else { throw ExitCode(1) }
        // A binary file is read in a child process first, within a time and memory budget.
        do {
          try await PolicyReadGuard.check(binary)
        } catch {
          Console.current.complain("xsmc: error: cannot read the policy `\(path)`: \(error)")
          throw ExitCode(2)
        }
        let problems = try await Self.validate(catalog: catalog, binary: binary, path: path)
        if problems { throw ExitCode(1) }
        if dummyVsFlask {
          let report = try await Self.compare(catalog: catalog, binary: binary, path: path, host: referenceHost())
          Console.current.say(json ? encodeJSON(report) : Self.text(report))
          return
        }
      }

      var selected: [Op]
      if names.isEmpty {
        selected = catalog.ops
      } else {
        selected = []
        for name in names {
          let found = catalog.ops(matching: name)
          if found.isEmpty {
            let hint = Suggestion.closest(to: name, in: catalog.allNames).map { "; did you mean `\($0)`?" }
              ?? "; `xsmc ops` lists every op"
            Console.current.complain("xsmc: error: unknown op `\(name)`\(hint)")
            throw ExitCode(2)
          }
          selected += found
        }
      }
      selected = try filter(selected)
      if json {
        Console.current.say(encodeJSON(selected.map { OpRecord($0, in: catalog) }))
      } else if names.isEmpty || selected.count > 12 && names.allSatisfy({ $0.hasSuffix(".*") }) {
        Console.current.say(Self.table(selected))
      } else {
        Console.current.write(selected.map { Self.describe($0, catalog) }.joined(separator: "\n"))
      }
    }

    private func referenceHost() -> ReferenceHost {
      guard let host else { return ReferenceHost() }
      let parts = host.split(separator: ",").map(String.init)
      return ReferenceHost(control: parts[0], xenstore: parts[1], deviceModel: parts[2], guest: parts[3])
    }

    private func filter(_ ops: [Op]) throws -> [Op] {
      var result = ops
      if let family { result = result.filter { $0.family == family } }
      if let hook { result = result.filter { $0.hooks.contains(hook) } }
      if let privilege { result = result.filter { $0.privilege == privilege } }
      if let kind { result = result.filter { $0.kind == kind } }
      if let permission {
        if let p = Permission(permission) {
          result = result.filter { $0.permissions.contains(p) }
        } else {
          result = result.filter { $0.permissions.contains { $0.name == permission } }
        }
      }
      return result
    }

    // MARK: Policy validation and comparison

    @SepolActor
    private static func validate(catalog: OpCatalog, binary: [UInt8], path: String) throws -> Bool {
      let policyTables: BinaryPolicy
      do {
        policyTables = try BinaryPolicy(binary: binary)
      } catch {
        Console.current.complain("xsmc: error: cannot read the policy `\(path)`: \(error)")
        throw ExitCode(2)
      }
      let vocabulary = PolicyVocabulary(
        classes: Dictionary(policyTables.classes.map { ($0.name, $0.permissions) }, uniquingKeysWith: { a, _ in a }))
      let problems = catalog.validate(against: vocabulary)
      if !problems.isEmpty {
        let renderer = Console.current.renderer()
        Console.current.complain(renderer.render(DiagnosticList(problems)))
        return true
      }
      return false
    }

    /// The engine's dummy-vs-flask comparison on a reference host loaded from the policy.
    private static func compare(catalog: OpCatalog, binary: [UInt8], path: String, host: ReferenceHost) async throws
      -> DummyVsFlaskReport
    {
      do {
        return try await DummyVsFlaskReport.compare(catalog: catalog, host: host, policyBinary: binary)
      } catch {
        let message: String
        switch error {
        case .badPolicy(let why): message = "cannot read the policy `\(path)`: \(why)"
        case .unknownType(let type, let suggestion):
          message = "the policy has no type `\(type)`" + (suggestion.map { " (did you mean `\($0)`?)" } ?? "")
        case .unloadable(let why): message = "the reference host does not load on `\(path)`: \(why.joined(separator: "; "))"
        }
        Console.current.complain("xsmc: error: \(message)")
        throw ExitCode(2)
      }
    }

    // MARK: Text

    static func table(_ ops: [Op]) -> String {
      let rows = ops.map { op -> [String] in
        let checks: String
        if let marker = op.flask {
          checks = marker == .unclassified ? "(unclassified)" : "(no check)"
        } else if op.checks.isEmpty {
          checks = "(no hook)"
        } else {
          checks = op.checks.map { "\($0.securityClass):\($0.permissions.joined(separator: "+"))" }
            .uniqued().joined(separator: " ")
        }
        let dummy = op.dummy.map { $0.other ? "OTHER=\($0.action.rawValue)" : $0.action.rawValue }.uniqued()
          .joined(separator: ",")
        return [op.name, op.privilege.rawValue, dummy, checks]
      }
      return TextTable(header: ["OP", "CLASS", "DUMMY", "FLASK"], rows: rows).render()
        + "\n\(ops.count) op\(ops.count == 1 ? "" : "s")"
    }

    static func describe(_ op: Op, _ catalog: OpCatalog) -> String {
      var lines: [String] = []
      let aliases = op.aliases.isEmpty ? "" : " (alias \(op.aliases.joined(separator: ", ")))"
      lines.append("\(op.name)\(aliases) — \(op.kind == .legacy ? "legacy op" : "split op")")
      lines.append("  \(op.summary)")
      func field(_ name: String, _ value: String) {
        lines.append("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + value)
      }
      if let call = op.hypercall {
        let subops = op.subopText
        field("hypercall", "\(call.name)=\(call.number)" + (subops.isEmpty ? "" : ", sub-op \(subops)"))
      }
      if let number = op.number { field("number", "\(op.family) \(number)" + (op.group.map { ", group \($0)" } ?? "")) }
      field("hook", op.hooks.isEmpty ? "none" : op.hooks.joined(separator: " + "))
      field("dummy", op.dummy.map(\.description).joined(separator: "; "))
      field("target", op.targets.joined(separator: "+"))
      field("class", op.privilege.rawValue)
      if op.checks.isEmpty {
        field("flask", op.flask.map { $0 == .unclassified ? "unclassified (avc_unknown_permission)" : "no check" }
          ?? "no hook")
      }
      for (i, check) in op.checks.enumerated() { field(i == 0 ? "flask" : "", check.text) }
      if let silo = op.silo { field("silo", "caller or \(silo.left)/\(silo.right) is the control domain, or they are the same") }
      for (i, argument) in op.arguments.enumerated() {
        var text = "\(argument.name) \(argument.kind.rawValue)"
        if let f = argument.field { text += ", Xen's \(f)" }
        if let d = argument.defaultValue { text += ", default \(d)" } else if argument.isRequired { text += ", required" }
        if argument.name == op.positionalArgument?.name { text += " (TARGET)" }
        if argument.inferred { text += " (from the checks)" }
        field(i == 0 ? "arguments" : "", text)
      }
      for (i, gate) in op.gates.enumerated() { field(i == 0 ? "xen gates" : "", "\(gate) [\(gate.source)]") }
      for denial in op.denial { field("refusal", "\(denial) [\(denial.source)]") }
      if op.kind == .split {
        if !op.replaces.isEmpty { field("replaces", op.replaces.joined(separator: " ")) }
      } else {
        let by = catalog.splitOps(replacing: op.name).map(\.name)
        if !by.isEmpty { field("split into", by.joined(separator: " ")) }
        if let rule = catalog.coverageRule(for: op.name) { field(rule.kind.rawValue, rule.reason) }
      }
      for note in op.notes { field("note", note) }
      return lines.joined(separator: "\n") + "\n"
    }

    static func text(_ report: SplitReport) -> String {
      var out = "Permissions that guard ops of more than one class (\(report.shared.count)):\n"
      for item in report.shared {
        out += "  \(item.permission)\n"
        for (cls, ops) in item.ops.sorted(by: { $0.key < $1.key }) {
          out += "    \(cls): \(ops.joined(separator: " "))\n"
        }
        out += "    why: \(item.why)\n"
      }
      out += "\nDefects in how Flask checks ops (\(report.defects.count)):\n"
      for kind in SplitReport.Defect.Kind.allCases {
        let items = report.defects.filter { $0.kind == kind }
        guard !items.isEmpty else { continue }
        out += "  \(kind.rawValue) (\(items.count))\n"
        for item in items {
          out += "    \(item.op)" + (item.check.isEmpty ? "" : "  \(item.check)") + "\n      \(item.why)\n"
        }
      }
      return out
    }

    static func text(_ report: DummyVsFlaskReport) -> String {
      let h = report.host
      var out = "Reference host: control \(h.control), xenstore \(h.xenstore), device model \(h.deviceModel), "
        + "guests \(h.guest); handle_unknown \(h.allowUnknown ? "allow" : "deny")\n"
      let denied = report.findings.filter { $0.dummyAllows }
      let wider = report.findings.filter { !$0.dummyAllows }
      out += "\(report.opsCompared) hooked ops compared; \(denied.count) cases where flask denies what dummy allows, "
        + "\(wider.count) where flask allows what dummy denies\n"
      for (title, items) in [("Flask denies, dummy allows", denied), ("Flask allows, dummy denies", wider)] {
        guard !items.isEmpty else { continue }
        out += "\n\(title):\n"
        var byOp: [(String, [DummyVsFlaskReport.Finding])] = []
        for item in items {
          if let last = byOp.last, last.0 == item.op { byOp[byOp.count - 1].1.append(item) } else {
            byOp.append((item.op, [item]))
          }
        }
        for (op, findings) in byOp {
          out += "  \(op)\n"
          for f in findings {
            out += "    \(f.scenario): dummy \(f.dummyRule); flask \(f.flaskReason)\n"
          }
        }
      }
      return out
    }
  }
}

/// Reads or builds the policy a command compares against.
enum PolicyLoading {
  /// A binary policy file is read as it is; a tree or policy.conf is built.
  static func binary(_ path: String, catalog: OpCatalog?) async -> [UInt8]? {
    guard FileManager.default.fileExists(atPath: path) else {
      Console.current.complain("xsmc: error: `\(path)` does not exist")
      return nil
    }
    var options = BuildOptions()
    options.catalog = catalog
    let (binary, diagnostics) = await PolicyBuilder.binaryPolicy(at: path, options: options)
    if binary == nil {
      let renderer = Console.current.renderer()
      Console.current.complain(renderer.render(diagnostics))
    }
    return binary
  }
}

/// Left-aligned columns for terminal tables.
struct TextTable {
  var header: [String]
  var rows: [[String]]

  func render() -> String {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
    return all.map { row in
      row.enumerated().map { i, cell in
        i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
      }.joined(separator: "  ")
    }.joined(separator: "\n")
  }
}

extension Sequence where Element: Hashable {
  func uniqued() -> [Element] {
    var seen = Set<Element>()
    return filter { seen.insert($0).inserted }
  }
}
