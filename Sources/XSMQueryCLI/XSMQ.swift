import ArgumentParser
import Foundation
import XSMCommandLine
import XSMCatalog
import XSMDiagnostics
import XSMEngine

/// `xsmq`: asks whether a domain may invoke an op on another under Xen's
/// dummy, silo and flask modules, on a simulated host.
public struct XSMQ: AsyncParsableCommand {
  public init() {}

  public static let configuration = CommandConfiguration(
    commandName: "xsmq",
    abstract: "Ask who may invoke which hypercall op on whom under Xen's dummy, silo and flask modules.",
    discussion: """
      Questions are answered on a host described by a system file (--system FILE, else $XSMQ_SYSTEM, \
      else `system = "FILE"` in $XDG_CONFIG_HOME/xsmtools/xsmq.toml or ~/.config/xsmtools/xsmq.toml), \
      else on the embedded default host (examples/systems/default.toml with the project's policy); \
      every answer names the host it was decided on in its last line, `host: NAME (WHERE), module M` \
      (WHERE is `embedded`, the system file and what named it, or `xsmd at URL`; JSON answers have a \
      `host` field; flask commands print the line on stderr). Domains are \
      named `domN`, `N` or by name; ops by name or alias (`domctl.pause`). With --server URL (or \
      XSMQ_SERVER), `can`, `matrix` and `identity` are answered by xsmd on its host, and `flask` sends \
      flask_op commands to it. Exit status: 0 allowed or ok, 1 denied or invalid, 2 usage, input or \
      system errors.
      """,
    version: ToolVersion.text(for: "xsmq"),
    subcommands: [Can.self, Args.self, Explain.self, Matrix.self, Compare.self, Diff.self, Identity.self, Flask.self],
    defaultSubcommand: nil
  )
}

/// Options every command shares: where the host and the catalog come from.
struct HostOptions: ParsableArguments {
  @Option(name: .customLong("system"), help: ArgumentHelp(
    "System file (TOML) describing the host (default: $XSMQ_SYSTEM, else `system` in ~/.config/xsmtools/xsmq.toml, else the embedded default host).",
    valueName: "system"), completion: .file(extensions: ["toml"]))
  var systemOption: String?

  /// The system file decided on: --system, else (when no server is asked)
  /// XSMQ_SYSTEM or the config file's; nil for the embedded default host.
  var system: String? {
    if let systemOption { return systemOption }
    guard server == nil, catalog == nil else { return nil }
    return try? ClientDefaults.current.get().system
  }

  @OptionGroup var catalogOptions: CatalogOptions

  /// The catalog directory given with `--catalog`.
  var catalog: String? { catalogOptions.catalog }

  @Flag(name: .long, help: "Print JSON on stdout.")
  var json = false

  @Option(name: .long, help: ArgumentHelp(
    "Ask xsmd at this URL instead of a local host (default: $XSMQ_SERVER, else `server` in the config file, unless --system or --catalog is given).",
    valueName: "url"))
  var server: String?

  @Option(name: .customLong("as"), help: ArgumentHelp(
    "With a server: the calling domain sent as Xen-Caller (default: the CALLER for can, dom0 otherwise).",
    valueName: "domain"))
  var callingDomain: String?

  /// The xsmd URL to ask, if any: --server, else XSMQ_SERVER when no local host was named.
  var serverURL: String? {
    if let server { return server }
    guard systemOption == nil, catalog == nil else { return nil }
    return try? ClientDefaults.current.get().server
  }

  func validate() throws {
    // Contradicting variables or a broken config file matter only when nothing on the command line overrides them.
    if systemOption == nil && server == nil, case .failure(let error) = ClientDefaults.current { throw error }
    if server != nil && (systemOption != nil || catalog != nil) {
      throw ValidationError("--server asks xsmd about its own host; give --server or --system/--catalog, not both")
    }
    if callingDomain != nil && serverURL == nil { throw ValidationError("--as needs --server (or XSMQ_SERVER)") }
  }

  /// A client for the server, when one is named.
  func client(defaultCaller: String?) throws -> ServiceClient? {
    try serverURL.map { try ServiceClient(server: $0, caller: callingDomain ?? defaultCaller) }
  }

  /// Loads catalog and host, printing diagnostics; exits 2 on failure.
  /// With `onlyOps`, the built-in catalog is loaded only for those ops (a
  /// query answers in a few milliseconds instead of parsing every op); an
  /// unknown name falls back to the whole catalog, for did-you-mean.
  func load(onlyOps: [String]? = nil) async throws -> XenHost {
    let catalog = try loadCatalog(onlyOps: onlyOps)
    let (spec, specDiagnostics) = SystemFile.load(pathOrDefault: system)
    return try await Self.loadHost(spec, specDiagnostics, catalog: catalog)
  }

  /// The catalog of `--catalog` or the built-in one (only `onlyOps` when given); exits 2 on errors.
  func loadCatalog(onlyOps: [String]? = nil) throws -> OpCatalog {
    // domctl.set_target comes along: loading checks the host's device-model relations with it.
    let subset = self.catalog == nil ? onlyOps.flatMap { EmbeddedCatalog.loadSubset(names: $0 + ["domctl.set_target"]) } : nil
    let (catalog, catalogDiagnostics) = subset.map { ($0, DiagnosticList()) } ?? catalogOptions.load()
    guard let catalog else {
      fail(Console.current.renderer().render(catalogDiagnostics))
      throw ExitCode(2)
    }
    return catalog
  }

  /// Loads a parsed system file into a host, building its policy if it names a source;
  /// prints the diagnostics and exits 2 on errors.
  static func loadHost(_ spec: SystemSpec?, _ specDiagnostics: [Diagnostic], catalog: OpCatalog) async throws -> XenHost {
    let renderer = Console.current.renderer()
    guard let spec, !specDiagnostics.contains(where: { $0.severity == .error }) else {
      fail(renderer.render(DiagnosticList(specDiagnostics)))
      throw ExitCode(2)
    }
    var (host, hostDiagnostics) = await XenHost.load(spec, catalog: catalog, policies: .compiling)
    if let policy = host?.server?.policy, let refusal = xenRefusal(of: policy, span: spec.spans["policy"]) {
      hostDiagnostics.append(refusal)
    }
    if !hostDiagnostics.isEmpty || !specDiagnostics.isEmpty {
      fail(renderer.render(DiagnosticList(specDiagnostics + hostDiagnostics)))
    }
    guard let host else { throw ExitCode(2) }
    return host
  }
}

func fail(_ text: String) {
  Console.current.complain(text)
}

/// A usage error naming what was wrong, with a suggestion; exit status 2.
func usageError(_ message: String) -> ExitCode {
  fail("xsmq: error: \(message)")
  return ExitCode(2)
}

extension XSMModule: ExpressibleByArgument {}

extension XenHost {
  /// The domain a user named, or a usage error with did-you-mean.
  func resolveDomain(_ text: String, role: String) throws -> HostDomain {
    if let d = domain(named: text) { return d }
    let hint = Suggestion.closest(to: text, in: domainNames).map { "; did you mean `\($0)`?" } ?? ""
    let known = domains.map(\.label).joined(separator: ", ")
    throw usageError("unknown \(role) domain `\(text)`\(hint) (this host has \(known))")
  }

  /// The op a user named, or a usage error with did-you-mean.
  func resolveOp(_ text: String) throws -> Op {
    if let op = catalog.op(named: text) { return op }
    let hint = Suggestion.closest(to: text, in: catalog.allNames).map { "; did you mean `\($0)`?" }
      ?? "; `xsmc ops` lists every op"
    throw usageError("unknown op `\(text)`\(hint)")
  }
}

