import Foundation
import Testing
import XSMBuild
import XSMCommandLine
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// The rule-origin map of the project's policy tree: its expansion checked
/// against setools on the binary, its citations against the tree's text,
/// and the sidecar `xsmc build --origins` writes.
@Suite("rule origins")
struct RuleOriginTests {
  /// The project's tree built once: the binary and the map of its rules.
  static func projectBuild() async throws -> (binary: [UInt8], map: RuleOriginMap) {
    let outcome = await PolicyBuilder.build(.tree(projectPolicyDir), options: BuildOptions())
    let binary = try #require(outcome.binary)
    let map = try #require(RuleOriginMap(outcome.frontend, source: projectPolicyDir))
    return (binary, map)
  }

  static func line(in file: String, after: String? = nil, containing words: [String]) throws -> Int {
    try SourceLines.line(in: file, after: after, containing: words)
  }

  /// For every (source type, target type, class), the permissions the map's
  /// allow rules cover (every branch of conditionals) equal those of the
  /// binary's allow rules as setools' `sesearch -A` lists them, with the
  /// attributes expanded by `seinfo -a -x`; and the map's query names a rule
  /// for a sample of them.
  @Test(.enabled(if: TestEnvironment.shouldRun(needing: "sesearch")))
  func allowRulesCoverWhatTheBinaryGrants() async throws {
    let (binary, map) = try await Self.projectBuild()
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/xenpolicy"
    try Data(binary).write(to: URL(fileURLWithPath: path))

    // Attribute members as seinfo prints them: `   attribute NAME;` then one member a line.
    let attributes = try run("seinfo", ["-a", "-x", path])
    #expect(attributes.status == 0, "\(attributes.err)")
    var members: [String: Set<String>] = [:]
    var current: String?
    for line in attributes.out.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      if line.hasPrefix("attribute ") {
        current = String(line.dropFirst("attribute ".count).dropLast(line.hasSuffix(";") ? 1 : 0))
        members[current!] = []
      } else if let name = current, !line.isEmpty, !line.contains(":") {
        members[name, default: []].insert(line)
      }
    }
    #expect(!members.isEmpty, "seinfo printed no attributes: \(attributes.out.prefix(300))")

    // `allow S T:C { p q };` or `allow S T:C p;`, conditional ones with ` [ expr ]:True` after.
    let listed = try run("sesearch", ["-A", path])
    #expect(listed.status == 0, "\(listed.err)")
    var theirs: [String: Set<String>] = [:]
    for line in listed.out.split(separator: "\n") where line.hasPrefix("allow ") {
      let rule = line.split(separator: ";")[0]
      let words = rule.split(separator: " ").map(String.init)
      guard words.count >= 4, let colon = words[2].firstIndex(of: ":") else { continue }
      let target = String(words[2][..<colon])
      let className = String(words[2][words[2].index(after: colon)...])
      let permissions = words[3...].filter { $0 != "{" && $0 != "}" }
      for s in members[words[1]] ?? [words[1]] {
        for t in members[target] ?? [target] { theirs["\(s) \(t) \(className)", default: []].formUnion(permissions) }
      }
    }

    var ours: [String: Set<String>] = [:]
    for rule in map.rules where rule.citation.kind == "allow" {
      for s in rule.sources {
        let targets = rule.targetsSelf ? rule.targets + [s] : rule.targets
        for t in targets {
          for (c, className) in rule.classes.enumerated() {
            ours["\(map.types[s]) \(map.types[t]) \(className)", default: []].formUnion(rule.permissions[c])
          }
        }
      }
    }
    ours = ours.filter { !$0.value.isEmpty }
    #expect(Set(ours.keys) == Set(theirs.keys),
      "only in the map: \(Set(ours.keys).subtracting(theirs.keys).sorted().prefix(5)); only in the binary: \(Set(theirs.keys).subtracting(ours.keys).sorted().prefix(5))")
    for (key, permissions) in theirs where ours[key] != permissions {
      Issue.record("\(key): the binary grants \(permissions.sorted()), the map's rules \(ours[key]?.sorted() ?? [])")
    }
    #expect(theirs.count > 100)

    // The query agrees on a sample: each granted permission has a rule that grants it or one a boolean switches off.
    for (number, key) in theirs.keys.sorted().enumerated() where number % 37 == 0 {
      let parts = key.split(separator: " ").map(String.init)
      for permission in theirs[key]! {
        let found = map.citations(source: parts[0], target: parts[1], className: parts[2], permission: permission)
        #expect(!(found.granting + found.switchedOff).isEmpty, "\(key) \(permission)")
        #expect(!found.closest.contains { $0.rule.contains(" \(permission) ") || $0.rule.hasSuffix(" \(permission);") })
      }
    }
  }

  /// `toolstack_manages(dom0_t, domU_t)` in domU.te grants domain:pause
  /// through the rule written in toolstack.spt; a nested call
  /// (`toolstack_builds` calling `toolstack_build_steps`) is cited with both calls.
  @Test func citationsNameTheMacroCallsAndTheRulesLine() async throws {
    let (_, map) = try await Self.projectBuild()
    let spt = projectPolicyDir + "/support/toolstack.spt"
    let te = projectPolicyDir + "/modules/domU.te"
    let ruleLine = try Self.line(in: spt, after: "define(`toolstack_manages'", containing: ["allow $1 $2:domain", " pause "])
    let callLine = try Self.line(in: te, containing: ["toolstack_manages(dom0_t, domU_t)"])

    let found = map.citations(source: "dom0_t", target: "domU_t", className: "domain", permission: "pause")
    let granting = try #require(found.granting.first { $0.file == spt })
    #expect(granting.line == ruleLine && granting.column == 1)
    #expect(granting.kind == "allow" && granting.rule.hasPrefix("allow dom0_t domU_t:domain { getdomaininfo"))
    #expect(granting.macroCalls == [MacroCallSite(name: "toolstack_manages", call: "toolstack_manages(dom0_t, domU_t)",
      file: te, line: callLine)])
    #expect(granting.viaText == "via toolstack_manages(dom0_t, domU_t) at \(te):\(callLine)")

    // max_vcpus: toolstack_builds(dom0_t, domU_t) -> toolstack_build_steps($1, $2) in the body of toolstack_builds.
    let stepsLine = try Self.line(in: spt, after: "define(`toolstack_build_steps'", containing: ["allow $1 $2:domain", "max_vcpus"])
    let buildsCall = try Self.line(in: te, containing: ["toolstack_builds(dom0_t, domU_t)"])
    let innerCall = try Self.line(in: spt, after: "define(`toolstack_builds'", containing: ["toolstack_build_steps($1, $2)"])
    let nested = map.citations(source: "dom0_t", target: "domU_t", className: "domain", permission: "max_vcpus").granting
    let steps = try #require(nested.first { $0.line == stepsLine && $0.file == spt }, "\(nested)")
    #expect(steps.macroCalls.map(\.name) == ["toolstack_builds", "toolstack_build_steps"])
    #expect(steps.macroCalls.map(\.line) == [buildsCall, innerCall])
    #expect(steps.macroCalls.map(\.file) == [te, spt])

    // Denied: domU_t may not pause dom0_t; nothing for the pair and class (or only other permissions).
    let denied = map.citations(source: "domU_t", target: "dom0_t", className: "domain", permission: "pause")
    #expect(denied.granting.isEmpty && denied.switchedOff.isEmpty)
  }

  /// The stored form (file names and call chains in tables) reads back as the same map; a
  /// rule naming a file the table lacks is refused.
  @Test func theStoredFormRoundTrips() async throws {
    let (_, map) = try await Self.projectBuild()
    let data = try JSONStyle.encoder().encode(map)
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    #expect(try decoder.decode(RuleOriginMap.self, from: data) == map)
    var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    json["files"] = [String]()
    #expect(throws: DecodingError.self) {
      try decoder.decode(RuleOriginMap.self, from: try JSONSerialization.data(withJSONObject: json))
    }
  }

  /// A rule under `if` carries its condition, and the query follows the booleans.
  @Test func conditionalRulesFollowTheBooleans() async throws {
    let (_, map) = try await Self.projectBuild()
    let te = projectPolicyDir + "/modules/prot_domU.te"
    let relabel = try Self.line(in: te, containing: ["allow dom0_t prot_domU_t:domain2 relabelto;"])
    let open = map.citations(source: "dom0_t", target: "prot_domU_t", className: "domain2", permission: "relabelto",
      booleans: ["prot_doms_locked": false])
    #expect(open.granting.map(\.line).contains(relabel))
    #expect(open.granting.first { $0.line == relabel }?.condition == "!prot_doms_locked")
    let locked = map.citations(source: "dom0_t", target: "prot_domU_t", className: "domain2", permission: "relabelto",
      booleans: ["prot_doms_locked": true])
    #expect(!locked.granting.map(\.line).contains(relabel))
    #expect(locked.switchedOff.map(\.line).contains(relabel))
  }

  /// `xsmc build --origins` writes OUTPUT.origins.json: format, version,
  /// source and the SHA-256 of the binary (checked with sha256sum); without
  /// the flag nothing is written beside the binary.
  @Test func buildWritesTheSidecar() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let output = dir + "/xenpolicy-30"
    let r = await xsmc(["build", projectPolicyDir, "-o", output, "--origins"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("rule origins -> \(output).origins.json"))
    let data = try #require(FileManager.default.contents(atPath: output + ".origins.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(json["format"] as? String == "xsmtools-rule-origins")
    #expect(json["version"] as? Int == 1)
    #expect(json["source"] as? String == projectPolicyDir)
    let sum = try run("sha256sum", [output])
    #expect(json["binary_digest"] as? String == sum.out.split(separator: " ").first.map(String.init))
    #expect((json["rules"] as? [Any])?.count ?? 0 > 100)

    let plain = dir + "/plain"
    let p = await xsmc(["build", projectPolicyDir, "-o", plain])
    #expect(p.status == 0, "\(p.err)")
    #expect(!FileManager.default.fileExists(atPath: plain + ".origins.json"))

    let bad = await xsmc(["build", projectPolicyDir, "--emit", "conf", "--origins"])
    #expect(bad.status == 2 && bad.err.contains("--origins goes with a binary"))
  }
}
