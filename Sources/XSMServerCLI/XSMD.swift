import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics
import XSMEngine
import XSMProtocol
import XSMService
import XSMSepol
import XSMServiceHTTP

/// `xsmd`: the xsmtools query service. Serves a simulated Xen host over
/// HTTP/JSON (one route per flask_op command and XSM question) until SIGINT
/// or SIGTERM.
public struct XSMD: AsyncParsableCommand {
  public init() {}

  public static let configuration = CommandConfiguration(
    commandName: "xsmd",
    abstract: "Serve a simulated Xen host's XSM decisions and flask_op commands over HTTP/JSON.",
    discussion: """
      Routes are under /v1 (GET /openapi.json lists them). Callers authenticate: on --socket by their \
      uid, mapped to a domain by the system file's [callers] table (uid 0 is dom0 without one), on TCP \
      with a bearer token a control domain issued (--issue-token, or POST /v1/auth/tokens). Listens on \
      127.0.0.1:8780 by default; a non-loopback --host needs --allow-remote, TLS (--tls-certificate, \
      --tls-key) and --state. State (policy, booleans, enforcing, SIDs, domains, tokens, decision log) is \
      kept in --state FILE (SQLite) and survives restarts; every change is on disk before it is answered. \
      Prints the bound address on stderr once listening; stops gracefully on SIGINT or SIGTERM.
      """,
    version: ToolVersion.text(for: "xsmd")
  )

  @Option(name: .long, help: "TCP port (0 picks a free one).")
  var port: Int = ServerConfiguration().port

  @Option(name: .long, help: "Address to bind (default 127.0.0.1).")
  var host: String = ServerConfiguration().host

  @Flag(name: .long, help: "Allow a --host that is not a loopback address (needs --tls-certificate and --tls-key).")
  var allowRemote = false

  @Option(name: .customLong("socket"), help: "Listen on this Unix domain socket instead of TCP.")
  var socketPath: String?

  @Option(name: .long, help: "The socket's permissions: 0600 (owner only) or 0660 (owner and group).")
  var socketMode: String = "0600"

  @Option(name: .long, help: "PEM certificate chain: serve TCP over TLS (with --tls-key).")
  var tlsCertificate: String?

  @Option(name: .long, help: "PEM private key of --tls-certificate.")
  var tlsKey: String?

  @Flag(
    name: .long,
    help: "Development only: believe the Xen-Caller header instead of authenticating (loopback TCP or a socket).")
  var trustCallerHeader = false

  @Option(name: .long, help: "Issue a bearer token for DOMAIN in --state FILE, print it once, and exit.")
  var issueToken: String?

  @Option(name: .long, help: "Revoke the token with this id in --state FILE and exit (a running xsmd sees it at restart; use DELETE /v1/auth/tokens/ID on it).")
  var revokeToken: String?

  @Option(name: .long, help: "State file (SQLite); without it the state lives in memory only.")
  var state: String?

  @Option(name: .long, help: "System file (TOML) describing the host (default: the embedded default host).")
  var system: String?

  @OptionGroup var catalogOptions: CatalogOptions

  @Option(name: .long, help: "Requests served at once; more get 503.")
  var maxConcurrent: Int = ServerConfiguration().maxConcurrentRequests

  @Option(name: .long, help: "Requests per second; more get 429.")
  var rate: Int = ServerConfiguration().maxRequestsPerSecond

  @Option(name: .long, help: "Seconds a client may take to send a request's headers, and again its body; a slower one is disconnected.")
  var requestTimeout: Double = ConnectionTimeouts().requestHead / .seconds(1)

  @Option(name: .long, help: "Seconds an idle keep-alive connection stays open.")
  var idleTimeout: Double = ConnectionTimeouts().idle / .seconds(1)
  @Option(name: .customLong("avc-log"), help: ArgumentHelp(
    "Append each denial /v1/can decides to FILE as Xen's avc line (`xsmq explain FILE` reads it).",
    valueName: "file"))
  var avcLog: String?

  @Option(name: .long, help: ArgumentHelp(
    "/v1/can replies each policy snapshot keeps, so a question asked again is answered from memory; 0 decides every question afresh. Every change (load, setenforce, setbool, a domain added ...) starts an empty memo.",
    valueName: "entries"))
  var replyMemo: Int = 4096

  @Flag(name: .long, help: "Print the OpenAPI document (docs/openapi.json) on stdout and exit.")
  var openapi = false

  public func validate() throws {
    guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be at least 1") }
    guard rate >= 1 else { throw ValidationError("--rate must be at least 1") }
    guard (0...1_000_000).contains(replyMemo) else { throw ValidationError("--reply-memo must be 0 to 1000000 entries") }
    guard requestTimeout > 0, idleTimeout > 0 else {
      throw ValidationError("--request-timeout and --idle-timeout must be more than 0 seconds")
    }
    guard socketModeBits != nil else { throw ValidationError("--socket-mode must be 0600 or 0660") }
    guard (tlsCertificate == nil) == (tlsKey == nil) else {
      throw ValidationError("--tls-certificate and --tls-key go together")
    }
    if (issueToken != nil || revokeToken != nil), state == nil {
      throw ValidationError("--issue-token and --revoke-token need --state FILE")
    }
    let remote = socketPath == nil && !ServerConfiguration.isLoopback(host)
    if remote, !allowRemote {
      throw ValidationError("--host \(host) is not a loopback address; pass --allow-remote (with TLS) to serve other hosts")
    }
    if remote, tlsCertificate == nil {
      throw ValidationError("--allow-remote needs TLS: give --tls-certificate and --tls-key")
    }
    if remote, state == nil {
      throw ValidationError("--allow-remote needs --state FILE: it keeps the tokens remote callers authenticate with")
    }
    if remote, trustCallerHeader {
      throw ValidationError("--trust-caller-header is for loopback or a socket only; remote callers must authenticate")
    }
  }

  var socketModeBits: UInt16? {
    switch socketMode {
    case "0600", "600": 0o600
    case "0660", "660": 0o660
    default: nil
    }
  }

  public func run() async throws {
    if openapi {
      Console.current.write(openAPIDocument())
      return
    }
    let renderer = Console.current.renderer()
    let (loadedCatalog, catalogDiagnostics) = catalogOptions.load()
    guard let loadedCatalog else {
      printError(renderer.render(catalogDiagnostics))
      throw ExitCode(2)
    }
    let (spec, specDiagnostics) = SystemFile.load(pathOrDefault: system)
    if !specDiagnostics.isEmpty { printError(renderer.render(DiagnosticList(specDiagnostics))) }
    guard let spec, !specDiagnostics.contains(where: { $0.severity == .error }) else { throw ExitCode(2) }

    if let state, issueToken != nil || revokeToken != nil {
      try await manageTokens(statePath: state, spec: spec)
      return
    }
    let service: FlaskService
    do {
      service = try await FlaskService.start(system: spec, catalog: loadedCatalog, statePath: state, policies: .compiling)
    } catch {
      printError("xsmd: error: \(error.message) [\(error.code)]")
      throw ExitCode(2)
    }

    let callers = spec.callers.isEmpty ? [0: "dom0"] : spec.callers
    service.keepReplies(entries: replyMemo)
    if let avcLog {
      do {
        service.writeDenials(to: try AVCLogFile(path: avcLog))
      } catch {
        service.close()
        printError("xsmd: error: cannot open the avc log `\(avcLog)` for appending: \(error.localizedDescription)")
        throw ExitCode(2)
      }
    }
    let configuration = ServerConfiguration(
      host: host, port: port, unixSocket: socketPath, maxConcurrentRequests: maxConcurrent,
      maxRequestsPerSecond: rate, authentication: trustCallerHeader ? .callerHeader : .credentials(uids: callers),
      tlsCertificate: tlsCertificate, tlsKey: tlsKey,
      timeouts: ConnectionTimeouts(requestHead: .seconds(requestTimeout), requestBody: .seconds(requestTimeout * 3),
        idle: .seconds(idleTimeout)))
    if PolicyReadGuard.helperPath == nil {
      printError("xsmd: warning: \(PolicyReadGuard.helperName) is not installed next to xsmd; policies sent to load are read in process, without a time or memory budget")
    }
    let identity = service.identity()
    // The socket is created with --socket-mode, never the umask's.
    let permissions = socketPath.map { UnixSocketPermissions(path: $0, mode: socketModeBits ?? 0o600) }
    do {
      let app = try makeApplication(service: service, configuration: configuration) { address in
        do {
          try permissions?.restore()
        } catch {
          printError("xsmd: error: \(error)")
          Foundation.exit(2)
        }
        printError("xsmd: listening on \(address) (\(identity.module.rawValue), \(identity.domains) domains)")
      }
      try await app.runService()
    } catch {
      service.close()
      printError("xsmd: error: \(error)")
      throw ExitCode(2)
    }
    // Graceful stop: what the decision log still buffers goes to the state file.
    service.close()
  }
}

extension XSMD {
  /// `--issue-token DOMAIN` and `--revoke-token ID` on the state file, without serving.
  func manageTokens(statePath: String, spec: SystemSpec) async throws {
    do {
      let tokens = try CallerTokens.open(statePath: statePath)
      if let id = revokeToken {
        try await tokens.revoke(id: id)
        printError("xsmd: revoked token \(id)")
      }
      if let domain = issueToken {
        let domains = tokens.savedDomains() ?? spec.domains.map { ($0.domid, $0.name) }
        guard let domid = domains.first(where: { $0.1 == domain || "dom\($0.0)" == domain })?.0 else {
          printError("xsmd: error: no domain `\(domain)` in the state file or the system [domain.unknown]")
          throw ExitCode(2)
        }
        let issued = try await tokens.issue(domid: domid)
        Console.current.write("\(issued.token)\n")
        printError("xsmd: issued token \(issued.id) for dom\(domid); it is shown only now")
      }
    } catch let error as ServiceError {
      printError("xsmd: error: \(error.message) [\(error.code)]")
      throw ExitCode(2)
    }
  }
}

func printError(_ text: String) {
  Console.current.complain(text)
}
