import ArgumentParser
import Foundation
import Synchronization
import XSMCommandLine
import XSMCatalog
import XSMDiagnostics
import XSMEngine
import XSMProtocol

/// Op and domain selection shared by `matrix` and `compare`.
struct SelectionOptions: ParsableArguments {
  @Option(name: .long, help: "Only ops of this family (domctl, evtchn, ...); repeatable.")
  var family: [String] = []

  @Option(name: .long, help: "Only this op (name or alias); repeatable.", completion: .custom(Completions.ops))
  var op: [String] = []

  @Option(
    name: .long, help: "Only these domains, as callers and targets (domN or name); repeatable.",
    completion: .custom(Completions.domains))
  var domain: [String] = []

  @Flag(name: .long, help: "Include the split ops of the proposed ABI (default: today's ops only).")
  var split = false

  func ops(_ host: XenHost) throws -> [Op] {
    var ops: [Op] = []
    for name in op { ops.append(try host.resolveOp(name)) }
    for f in family {
      let members = host.catalog.ops.filter { $0.family == f && (split || $0.kind == .legacy) }
      if members.isEmpty {
        let hint = Suggestion.closest(to: f, in: host.catalog.families).map { "; did you mean `\($0)`?" } ?? ""
        throw usageError("no op family `\(f)`\(hint)")
      }
      ops += members
    }
    if op.isEmpty && family.isEmpty { ops = host.catalog.ops.filter { split || $0.kind == .legacy } }
    var seen = Set<String>()
    return ops.filter { seen.insert($0.name).inserted }
  }

  func domains(_ host: XenHost) throws -> [HostDomain]? {
    domain.isEmpty ? nil : try domain.map { try host.resolveDomain($0, role: "selected") }
  }
}

/// Progress on stderr for long runs, when stderr is a terminal or asked for.
final class Progress: Sendable {
  let enabled: Bool
  /// The last percentage shown.
  private let last = Atomic<Int>(-1)
  /// The console of the command that made it (reports may come from worker threads).
  private let console = Console.current
  init(enabled: Bool) { self.enabled = enabled }
  func report(_ done: Int, _ total: Int) {
    guard enabled else { return }
    let percent = total == 0 ? 100 : done * 100 / total
    guard last.exchange(percent, ordering: .relaxed) != percent else { return }
    console.status("\rxsmq: \(done)/\(total) ops (\(percent)%)\(done == total ? "\n" : "")")
  }
}

enum MatrixFormat: String, ExpressibleByArgument, CaseIterable {
  case text, csv, json, html
}

extension XSMQ {
  struct Matrix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Who may invoke which op on whom: text, CSV, JSON or an HTML report.",
      discussion: """
        Decides every (caller, op, target) of the selection under the host's module (or --module, or \
        all three with --all-modules). Domains Xen cannot tell apart are decided once per class, so \
        large hosts stay fast; progress goes to stderr when it is a terminal (or with --progress).
        """)

    @OptionGroup var host: HostOptions
    @OptionGroup var selection: SelectionOptions

    @Option(name: .long, help: "Output format: text, csv, json or html (a self-contained page: overview, per-op grids, module differences).")
    var format: MatrixFormat = .text

    @Option(name: .long, help: "Decide under this module instead of the host's.")
    var module: XSMModule?

    @Flag(name: .long, help: "Decide under dummy, silo and flask.")
    var allModules = false

    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.")
    var output: String?

    @Flag(name: .long, help: "Report progress on stderr even when it is not a terminal.")
    var progress = false

    func run() async throws {
      if let client = try self.host.client(defaultCaller: "dom0") { return try await ask(client) }
      let host = try await self.host.load()
      let ops = try selection.ops(host)
      let domains = try selection.domains(host)
      let modules: [XSMModule] = allModules ? XSMModule.allCases : [module ?? host.module]
      let reporter = Progress(enabled: progress || (Console.current.errorIsTerminal && ops.count * host.domains.count > 20_000))
      let matrix = AccessMatrix(engine: DecisionEngine(host: host), ops: ops, modules: modules, callers: domains,
        targets: domains, progress: reporter.report)
      let format = self.host.json ? .json : self.format
      let text: String
      switch format {
      case .text, .csv, .json: text = render(matrix, format, on: self.host.label(host))
      case .html: text = MatrixRendering.html(matrix, title: "Who may invoke which op — \(host.spec.name)")
      }
      try emit(text, to: output)
    }

    /// The matrix as text (with the host line), CSV (rows only) or JSON (with `host`).
    func render(_ matrix: AccessMatrix, _ format: MatrixFormat, on host: HostLabel) -> String {
      switch format {
      case .text: host.after(MatrixRendering.text(matrix))
      case .csv: MatrixRendering.csv(matrix)
      case .json, .html: encodeJSON(HostedAnswer(answer: matrix, host: host))
      }
    }

    /// The matrix computed by xsmd (POST /v1/matrix), rendered as a local one is.
    func ask(_ client: ServiceClient) async throws {
      if !selection.domain.isEmpty { throw usageError("--domain is not supported with --server (xsmd's /v1/matrix covers every domain)") }
      if selection.split { throw usageError("--split is not supported with --server; name the ops with --op") }
      let modules: [XSMModule]? = allModules ? XSMModule.allCases : module.map { [$0] }
      let served = try await client.matrix(MatrixRequestV1(
        families: selection.family.isEmpty ? nil : selection.family, ops: selection.op.isEmpty ? nil : selection.op,
        modules: modules?.map(ModuleV1.init)))
      let matrix = try AccessMatrix(served)
      let text: String
      switch self.host.json ? .json : format {
      case .text, .csv, .json: text = render(matrix, self.host.json ? .json : format, on: await client.hostLabel())
      case .html: text = MatrixRendering.html(matrix, title: "Who may invoke which op — \(try await client.identity().system)")
      }
      try emit(text, to: output)
    }
  }

  struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Where dummy, silo and flask disagree on this host, grouped by op.",
      discussion: """
        Expected differences (silo's event channel, grant and Argo rule; flask_op existing only under \
        flask) are listed apart from unexpected ones, where the policy and the dummy rule disagree. \
        Each line is one class of (caller, target) pairs with an example pair.
        """)

    @OptionGroup var host: HostOptions
    @OptionGroup var selection: SelectionOptions

    @Flag(name: .long, help: "Show only unexpected differences.")
    var unexpectedOnly = false

    @Flag(name: .long, help: "Report progress on stderr even when it is not a terminal.")
    var progress = false

    func run() async throws {
      if self.host.server != nil { throw usageError("`compare` is answered locally; drop --server") }
      let host = try await self.host.load()
      let ops = try selection.ops(host)
      let reporter = Progress(enabled: progress || (Console.current.errorIsTerminal && ops.count * host.domains.count > 20_000))
      var comparison = ModuleComparison(
        engine: DecisionEngine(host: host), ops: ops, domains: try selection.domains(host), progress: reporter.report)
      if unexpectedOnly {
        comparison.ops = comparison.ops.compactMap { entry in
          var e = entry
          e.expected = []
          return e.unexpected.isEmpty ? nil : e
        }
      }
      let label = self.host.label(host)
      if self.host.json {
        Console.current.say(encodeJSON(HostedAnswer(answer: comparison, host: label)))
        return
      }
      var out = "\(comparison.ops.count) ops differ; \(comparison.expectedPairs) expected and "
        + "\(comparison.unexpectedPairs) unexpected (caller, target) pairs\n"
      for entry in comparison.ops {
        out += "\n\(entry.op)\n"
        for (title, items) in [("unexpected", entry.unexpected), ("expected", entry.expected)] where !items.isEmpty {
          out += "  \(title):\n"
          for d in items {
            let pairs = d.pairs == 1 ? "" : " (+\(d.pairs - 1) like it)"
            out += "    \(d.caller) -> \(d.target)\(pairs): dummy \(d.dummy.rawValue), silo \(d.silo.rawValue), "
              + "flask \(d.flask.rawValue) — \(d.reason)\n"
          }
        }
      }
      Console.current.say(label.after(out))
    }
  }

  struct Identity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Which XSM module is in place: module, policy version and digest, enforcing, MLS.")

    @OptionGroup var host: HostOptions

    func run() async throws {
      if let client = try self.host.client(defaultCaller: nil) {
        let id = try await client.identity()
        show(id, HostLabel(name: id.system, server: client.base.absoluteString, module: id.module.rawValue))
      } else {
        let host = try await self.host.load(onlyOps: [])
        show(host.identity, self.host.label(host))
      }
    }

    /// Prints a local host's identity or xsmd's, the one way.
    func show(_ id: some IdentityFacts, _ label: HostLabel) {
      if self.host.json {
        Console.current.say(encodeJSON(id))
        return
      }
      var lines: [(String, String)] = [("system", id.system), ("module", id.module.rawValue)]
      if let enforcing = id.enforcing { lines.append(("enforcing", enforcing ? "yes" : "no (permissive)")) }
      var policy = id.policySource
      if let v = id.policyVersion { policy += ", XenFlask v\(v)" }
      if let bytes = id.policyBytes { policy += ", \(bytes) bytes" }
      lines.append(("policy", policy + (id.module.rawValue == XSMModule.flask.rawValue ? "" : " (loaded for comparison; not in force)")))
      if let digest = id.policyDigest { lines.append(("sha256", digest)) }
      if let mls = id.mls { lines.append(("mls", mls ? "yes" : "no")) }
      if let unknown = id.handleUnknown { lines.append(("unknown", "handle_unknown \(unknown)")) }
      if !id.booleans.isEmpty {
        lines.append(("booleans", id.booleans.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
      }
      if let seq = id.sequence { lines.append(("sequence", "\(seq)")) }
      lines.append(("domains", "\(id.domains)"))
      Console.current.say(label.after(
        lines.map { $0.0.padding(toLength: 10, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")))
    }
  }
}

func emit(_ text: String, to output: String?) throws {
  guard let output, !OutputFile.isStandardOutput(output) else {
    Console.current.write(text.hasSuffix("\n") ? text : text + "\n")
    return
  }
  do {
    try OutputFile.write(text, to: output)
  } catch {
    throw usageError("cannot write `\(output)`: \(error.reason)")
  }
}
