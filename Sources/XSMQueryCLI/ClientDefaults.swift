import ArgumentParser
import Foundation
import XSMDiagnostics
import XSMEngine

/// Where xsmq asks when the command line does not say: the environment
/// (`XSMQ_SYSTEM`, `XSMQ_SERVER`), then a config file
/// (`$XDG_CONFIG_HOME/xsmtools/xsmq.toml`, else `~/.config/xsmtools/xsmq.toml`)
/// holding `system = "FILE"` or `server = "URL"`. Command-line options win
/// over both; the environment wins over the file.
struct ClientDefaults: Sendable {
  /// The system file to decide on (nil for the embedded default host, which
  /// `embedded` names), and what named it.
  var system: String?
  var server: String?
  /// `XSMQ_SYSTEM`, `XSMQ_SERVER` or the config file's path: where the default came from.
  var systemOrigin: String?
  var serverOrigin: String?

  /// The defaults of this process, read once; a broken config file or
  /// contradicting variables are a usage error when a command uses them.
  static let current: Result<ClientDefaults, ValidationError> = read(
    environment: ProcessInfo.processInfo.environment)

  /// The config file's path for `environment`.
  static func configPath(_ environment: [String: String]) -> String? {
    if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/xsmtools/xsmq.toml" }
    return environment["HOME"].map { $0 + "/.config/xsmtools/xsmq.toml" }
  }

  static func read(environment: [String: String]) -> Result<ClientDefaults, ValidationError> {
    func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
    var defaults = ClientDefaults()
    if let path = configPath(environment), FileManager.default.fileExists(atPath: path) {
      switch readConfig(path) {
      case .success(let file): defaults = file
      case .failure(let error): return .failure(error)
      }
    }
    let system = nonEmpty("XSMQ_SYSTEM")
    let server = nonEmpty("XSMQ_SERVER")
    if system != nil && server != nil {
      return .failure(ValidationError(
        "XSMQ_SYSTEM and XSMQ_SERVER are both set: a local host or a server, not both (unset one, or pass --system or --server)"))
    }
    // A variable replaces the file's choice of either kind.
    if let system { defaults = ClientDefaults(system: system == "embedded" ? nil : system, systemOrigin: "XSMQ_SYSTEM") }
    if let server { defaults = ClientDefaults(server: server, serverOrigin: "XSMQ_SERVER") }
    return .success(defaults)
  }

  /// `system = "FILE"` (relative to the config file's directory) or `server = "URL"`.
  static func readConfig(_ path: String) -> Result<ClientDefaults, ValidationError> {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      return .failure(ValidationError("cannot read xsmq's config file `\(path)` (or it is not UTF-8 text)"))
    }
    let (table, diagnostics) = TOMLParser.parse(text: text, file: path)
    guard let table else {
      let first = diagnostics.first.map { "\($0.span.map { "\($0.line):\($0.column): " } ?? "")\($0.message)" } ?? "not TOML"
      return .failure(ValidationError("xsmq's config file `\(path)`: \(first)"))
    }
    var defaults = ClientDefaults()
    for entry in table.entries {
      let place = "\(path):\(entry.keySpan.line):\(entry.keySpan.column)"
      guard let value = entry.value.stringValue, !value.isEmpty else {
        return .failure(ValidationError("\(place): `\(entry.key)` must be a non-empty string"))
      }
      switch entry.key {
      case "system":
        let directory = (path as NSString).deletingLastPathComponent
        defaults.system = value == "embedded" ? nil : value.hasPrefix("/") ? value : directory + "/" + value
        defaults.systemOrigin = path
      case "server":
        defaults.server = value
        defaults.serverOrigin = path
      default:
        let hint = Suggestion.closest(to: entry.key, in: ["system", "server"]).map { "; did you mean `\($0)`?" } ?? ""
        return .failure(ValidationError("\(place): unknown key `\(entry.key)` (xsmq.toml has `system` and `server`)\(hint)"))
      }
    }
    if defaults.system != nil && defaults.server != nil {
      return .failure(ValidationError("\(path): `system` and `server` are both set; keep one"))
    }
    return .success(defaults)
  }
}
