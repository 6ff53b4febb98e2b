import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics
import XSMEngine
import XSMProtocol
import XSMService
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
      Routes are under /v1 (GET /openapi.json lists them); requests name the calling domain in the \
      Xen-Caller header. Listens on 127.0.0.1:8780 by default, or on a Unix socket with --socket; a \
      non-loopback --host needs --allow-remote. State (policy, booleans, enforcing, SIDs, domains, \
      decision log) is kept in --state FILE (SQLite) when given and survives restarts. Prints the bound \
      address on stderr once listening; stops gracefully on SIGINT or SIGTERM.
      """
  )

  @Option(name: .long, help: "TCP port (0 picks a free one).")
  var port: Int = ServerConfiguration().port

  @Option(name: .long, help: "Address to bind (default 127.0.0.1).")
  var host: String = ServerConfiguration().host

  @Flag(name: .long, help: "Allow a --host that is not a loopback address.")
  var allowRemote = false

  @Option(name: .customLong("socket"), help: "Listen on this Unix domain socket instead of TCP.")
  var socketPath: String?

  @Option(name: .long, help: "State file (SQLite); without it the state lives in memory only.")
  var state: String?

  @Option(name: .long, help: "System file (TOML) describing the host (default: the embedded default host).")
  var system: String?

  @OptionGroup var catalogOptions: CatalogOptions

  @Option(name: .long, help: "Requests served at once; more get 503.")
  var maxConcurrent: Int = ServerConfiguration().maxConcurrentRequests

  @Option(name: .long, help: "Requests per second; more get 429.")
  var rate: Int = ServerConfiguration().maxRequestsPerSecond

  @Option(name: .customLong("avc-log"), help: ArgumentHelp(
    "Append each denial /v1/can decides to FILE as Xen's avc line (`xsmq explain FILE` reads it).",
    valueName: "file"))
  var avcLog: String?

  @Flag(name: .long, help: "Print the OpenAPI document (docs/openapi.json) on stdout and exit.")
  var openapi = false

  public func validate() throws {
    guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
    guard maxConcurrent >= 1 else { throw ValidationError("--max-concurrent must be at least 1") }
    guard rate >= 1 else { throw ValidationError("--rate must be at least 1") }
    if socketPath == nil, !allowRemote, !ServerConfiguration.isLoopback(host) {
      throw ValidationError(
        "--host \(host) is not a loopback address; xsmd has no authentication, so pass --allow-remote to serve other hosts"
      )
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
    let (spec, specDiagnostics) = system.map { SystemFile.load(path: $0) } ?? EmbeddedDefaults.system()
    if !specDiagnostics.isEmpty { printError(renderer.render(DiagnosticList(specDiagnostics))) }
    guard let spec, !specDiagnostics.contains(where: { $0.severity == .error }) else { throw ExitCode(2) }

    let service: FlaskService
    do {
      service = try await FlaskService.start(system: spec, catalog: loadedCatalog, statePath: state, policies: .compiling)
    } catch {
      printError("xsmd: error: \(error.message) [\(error.code)]")
      throw ExitCode(2)
    }

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
      maxRequestsPerSecond: rate)
    let identity = service.identity()
    let app = makeApplication(service: service, configuration: configuration) { address in
      printError("xsmd: listening on \(address) (\(identity.module.rawValue), \(identity.domains) domains)")
    }
    do {
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

func printError(_ text: String) {
  Console.current.complain(text)
}
