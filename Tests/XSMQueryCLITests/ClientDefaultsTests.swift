import Foundation
import Testing
import XSMTestSupport

@testable import XSMQueryCLI

/// XSMQ_SYSTEM, XSMQ_SERVER and ~/.config/xsmtools/xsmq.toml: which host xsmq
/// answers on when the command line does not say.
@Suite("xsmq defaults from the environment and the config file")
struct ClientDefaultsTests {
  let arm = packageRoot + "/examples/systems/silo-arm.toml"

  @Test func theEnvironmentNamesTheSystemOrTheServer() throws {
    let none = try ClientDefaults.read(environment: ["HOME": "/nonexistent"]).get()
    #expect(none.system == nil && none.server == nil)
    let system = try ClientDefaults.read(environment: ["XSMQ_SYSTEM": arm, "HOME": "/nonexistent"]).get()
    #expect(system.system == arm && system.systemOrigin == "XSMQ_SYSTEM")
    let server = try ClientDefaults.read(environment: ["XSMQ_SERVER": "http://127.0.0.1:1", "HOME": "/nonexistent"]).get()
    #expect(server.server == "http://127.0.0.1:1" && server.system == nil)
    guard case .failure(let both) = ClientDefaults.read(environment: ["XSMQ_SYSTEM": arm, "XSMQ_SERVER": "http://x"]) else {
      Issue.record("both variables set must be refused")
      return
    }
    #expect("\(both)".contains("XSMQ_SYSTEM and XSMQ_SERVER are both set"))
  }

  @Test func theConfigFileIsReadFromXDGConfigHome() throws {
    let dir = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/xsmtools", withIntermediateDirectories: true)
    let config = dir + "/xsmtools/xsmq.toml"
    try "system = \"host.toml\"\n".write(toFile: config, atomically: true, encoding: .utf8)
    let relative = try ClientDefaults.read(environment: ["XDG_CONFIG_HOME": dir]).get()
    #expect(relative.system == dir + "/xsmtools/host.toml", "relative to the config file's directory")
    #expect(relative.systemOrigin == config)
    // The environment replaces the file's choice.
    let overridden = try ClientDefaults.read(environment: ["XDG_CONFIG_HOME": dir, "XSMQ_SERVER": "http://h:1"]).get()
    #expect(overridden.server == "http://h:1" && overridden.system == nil)

    for (text, message) in [
      ("sytem = \"a.toml\"\n", "1:1: unknown key `sytem` (xsmq.toml has `system` and `server`); did you mean `system`?"),
      ("system = 3\n", "1:1: `system` must be a non-empty string"),
      ("system = \"a\"\nserver = \"http://b\"\n", "`system` and `server` are both set; keep one"),
      ("system = [\n", config),
    ] {
      try text.write(toFile: config, atomically: true, encoding: .utf8)
      guard case .failure(let error) = ClientDefaults.read(environment: ["XDG_CONFIG_HOME": dir]) else {
        Issue.record("`\(text)` must be refused")
        continue
      }
      #expect("\(error)".contains(message), "\(error)")
    }
  }

  /// The built xsmq, run with the variables set: the answer comes from that host.
  @Test func xsmqAnswersOnXSMQSystem() throws {
    let xsmq = try #require(TestEnvironment.executable("xsmq"))
    let answer = try TestEnvironment.run(
      "/usr/bin/env", ["HOME=/nonexistent", "XSMQ_SYSTEM=" + arm, xsmq, "can", "dom0", "domctl.pause", "guest1"])
    #expect(answer.status == 0, "\(answer.err)")
    #expect(answer.out.contains("(guest1): allowed under silo"), "\(answer.out)")
    #expect(answer.out.hasSuffix("host: silo-arm (\(arm) from XSMQ_SYSTEM), module silo\n"), "named with its origin: \(answer.out)")
    // --system wins over the variable, and `embedded` names the built-in host.
    let embedded = try TestEnvironment.run(
      "/usr/bin/env", ["HOME=/nonexistent", "XSMQ_SYSTEM=embedded", xsmq, "can", "dom0", "domctl.pause", "dom5"])
    #expect(embedded.out.contains("dom5 (web): allowed under flask"), "\(embedded.out)\(embedded.err)")
    #expect(embedded.out.hasSuffix("host: default (embedded), module flask\n"), "\(embedded.out)")
    let both = try TestEnvironment.run(
      "/usr/bin/env", ["XSMQ_SYSTEM=" + arm, "XSMQ_SERVER=http://127.0.0.1:1", xsmq, "can", "dom0", "domctl.pause", "dom5"])
    #expect(both.status == 2 && both.err.contains("XSMQ_SYSTEM and XSMQ_SERVER are both set"), "\(both.err)")
    let flag = try TestEnvironment.run(
      "/usr/bin/env", ["XSMQ_SYSTEM=" + arm, "XSMQ_SERVER=http://127.0.0.1:1", xsmq, "can", "dom0", "domctl.pause", "dom5",
        "--system", packageRoot + "/examples/systems/default.toml"])
    #expect(flag.status == 0, "a command-line option overrides both variables: \(flag.err)")
  }
}

/// What the completion scripts get from `xsmq ---completion` (the protocol
/// swift-argument-parser's bash, zsh and fish scripts speak): op names and
/// aliases, and the domains of the host the command line names.
@Suite("xsmq shell completion")
struct CompletionTests {
  func complete(_ arguments: [String]) throws -> [String] {
    let xsmq = try #require(TestEnvironment.executable("xsmq"))
    let result = try TestEnvironment.run("/usr/bin/env", ["HOME=/nonexistent", xsmq, "---completion"] + arguments)
    #expect(result.status == 0, "\(result.err)")
    return result.out.split(separator: "\n").map(String.init)
  }

  @Test func opsDomainsAndSystemFiles() throws {
    let ops = try complete(["can", "--", "positional@1", "3", "9", "xsmq", "can", "dom0", "domctl.pa"])
    #expect(ops.contains("domctl.pause") && ops.contains("domctl.pausedomain") && ops.allSatisfy { $0.hasPrefix("domctl.pa") })
    let families = try complete(["can", "--", "positional@1", "3", "0", "xsmq", "can", "dom0", ""])
    #expect(families.contains("domctl.") && families.contains("evtchn."), "families first: \(families.prefix(5))")
    let callers = try complete(["can", "--", "positional@0", "2", "1", "xsmq", "can", "w"])
    #expect(callers == ["web-dm", "web"], "the embedded default host's domains")
    let arm = try complete([
      "can", "--", "positional@2", "7", "1", "xsmq", "can", "--system", packageRoot + "/examples/systems/silo-arm.toml",
      "dom0", "domctl.pause", "g",
    ])
    #expect(arm == ["guest1", "guest2"], "the domains of the --system host: \(arm)")
    let script = try TestEnvironment.run(try #require(TestEnvironment.executable("xsmq")), ["--generate-completion-script", "bash"])
    #expect(script.out.contains("---completion can -- positional@1"), "the bash script asks xsmq for op names")
  }
}
