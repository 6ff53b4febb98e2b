import ArgumentParser
import Foundation
import XSMCommandLine
import XSMEngine
import XSMProtocol

/// The host an answer was decided on, as every answer names it: the human
/// output's last line `host: NAME (WHERE), module M` and the `host` field of
/// JSON answers. WHERE is `embedded` (the embedded default host), the system
/// file as given (with `from XSMQ_SYSTEM` or `from CONFIG` when the command
/// line did not name it) or `xsmd at URL`; the module is the one the host has
/// in force (an answer under `--module` says its own module too).
struct HostLabel: Encodable, Sendable, Equatable {
  /// The system's name (its file's `name`; for xsmd, the system it serves).
  var name: String?
  /// The system file as given; nil for the embedded default host and for xsmd.
  var file: String?
  /// What named the file when the command line did not: `XSMQ_SYSTEM` or the config file.
  var from: String?
  /// xsmd's URL, when xsmd answered.
  var server: String?
  /// The host's module in force.
  var module: String?

  /// `host: NAME (WHERE), module M`.
  var line: String {
    let place: String
    if let server {
      place = "xsmd at \(server)"
    } else if let file {
      place = file + (from.map { " from \($0)" } ?? "")
    } else {
      place = "embedded"
    }
    let named = name.map { "\($0) (\(place))" } ?? place
    return "host: " + named + (module.map { ", module \($0)" } ?? "")
  }

  /// `text` with the host line after it.
  func after(_ text: String) -> String {
    text.isEmpty ? line : (text.hasSuffix("\n") ? text : text + "\n") + line
  }
}

extension HostOptions {
  /// The label of a host this command loaded locally.
  func label(_ host: XenHost) -> HostLabel {
    let file = system
    let origin = systemOption == nil && file != nil ? (try? ClientDefaults.current.get())?.systemOrigin : nil
    return HostLabel(name: host.spec.name, file: file, from: origin, server: nil, module: host.module.rawValue)
  }
}

extension ServiceClient {
  /// The host xsmd serves, from its identity (`system` and `module`); when
  /// that cannot be read (it was said on stderr), just the server's URL.
  func hostLabel() async -> HostLabel {
    let identity = try? await self.identity()
    return HostLabel(name: identity?.system, server: base.absoluteString, module: identity?.module.rawValue)
  }
}

/// A JSON answer with the host it was decided on as one more top-level field, `host`.
struct HostedAnswer<Answer: Encodable>: Encodable {
  var answer: Answer
  var host: HostLabel

  private enum Key: String, CodingKey { case host }

  func encode(to encoder: any Encoder) throws {
    try answer.encode(to: encoder)
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(host, forKey: .host)
  }
}

extension Console {
  /// Prints `answer` as JSON with its host, or `human` followed by the host line.
  func answer(_ answer: some Encodable, json: Bool, host: HostLabel, _ human: @autoclosure () -> String) {
    if json {
      say(encodeJSON(HostedAnswer(answer: answer, host: host)))
    } else {
      say(host.after(human()))
    }
  }
}
