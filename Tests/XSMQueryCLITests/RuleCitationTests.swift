import Foundation
import Testing
import XSMBuild
import XSMCommandLine
import XSMPolicy
import XSMTestSupport

/// `xsmq can --why` naming the source rules behind each Flask check: on a
/// host whose policy is the project's tree, a policy.conf, a binary with and
/// without the map `xsmc build --origins` writes, and a stale map. Expected
/// files and lines are read from the tree, not from the output.
@Suite("rule citations")
struct RuleCitationTests {
  static let tree = TestEnvironment.projectPolicyTree
  static let spt = tree + "/support/toolstack.spt"
  static let domUModule = tree + "/modules/domU.te"

  static func line(in file: String, after: String? = nil, containing words: [String]) throws -> Int {
    try SourceLines.line(in: file, after: after, containing: words)
  }

  /// The default host's system file with `policy` in place of the embedded policy, written in `dir`.
  static func system(policy: String, in dir: String) throws -> String {
    let text = try String(contentsOfFile: TestEnvironment.path("examples/systems/default.toml"), encoding: .utf8)
    let path = dir + "/host.toml"
    try text.replacingOccurrences(of: "policy = \"embedded\"", with: "policy = \"\(policy)\"")
      .write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func scratch() throws -> String { try TestEnvironment.temporaryDirectory("xsmq-citations") }

  /// dom0 may pause db (domU_t) through `toolstack_manages(dom0_t, domU_t)`
  /// in modules/domU.te, whose body's domain rule is in support/toolstack.spt.
  static func expectedPauseCitation() throws -> (rule: String, via: String) {
    let ruleLine = try line(in: spt, after: "define(`toolstack_manages'", containing: ["allow $1 $2:domain", " pause "])
    let callLine = try line(in: domUModule, containing: ["toolstack_manages(dom0_t, domU_t)"])
    return ("from \(spt):\(ruleLine): allow dom0_t domU_t:domain { pause … 14 more };",
      "via toolstack_manages(dom0_t, domU_t) at \(domUModule):\(callLine)")
  }

  @Test func whyCitesTheMacroCallOnATree() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let host = try Self.system(policy: Self.tree, in: dir)
    let (rule, via) = try Self.expectedPauseCitation()

    let r = await xsmq(["can", "dom0", "domctl.pause", "db", "--why", "--system", host])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("\n         allow dom0_t domU_t:domain { "), "the binary rule is still shown: \(r.out)")
    #expect(r.out.contains("\n         \(rule)\n           \(via)\n"), "\(r.out)")
    #expect(!r.out.contains("no source map"))

    // The same in JSON: origins with file, line, column, rule and macro_calls.
    let json = await xsmq(["can", "dom0", "domctl.pause", "db", "--why", "--system", host, "--json"])
    #expect(json.status == 0, "\(json.err)")
    let answer = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
    let decisions = try #require(answer["decisions"] as? [[String: Any]])
    let trace = try #require(decisions.first?["trace"] as? [[String: Any]])
    let step = try #require(trace.first { ($0["text"] as? String)?.hasPrefix("domain:pause") == true })
    let origins = try #require(step["origins"] as? [[String: Any]])
    let origin = try #require(origins.first { $0["file"] as? String == Self.spt })
    #expect(origin["line"] as? Int == (try Self.line(in: Self.spt, after: "define(`toolstack_manages'", containing: ["allow $1 $2:domain", " pause "])))
    #expect(origin["column"] as? Int == 1)
    #expect((origin["rule"] as? String)?.hasPrefix("allow dom0_t domU_t:domain {") == true)
    let calls = try #require(origin["macro_calls"] as? [[String: Any]])
    #expect(calls.count == 1)
    #expect(calls.first?["name"] as? String == "toolstack_manages")
    #expect(calls.first?["call"] as? String == "toolstack_manages(dom0_t, domU_t)")
    #expect(calls.first?["file"] as? String == Self.domUModule)
    #expect(calls.first?["line"] as? Int == (try Self.line(in: Self.domUModule, containing: ["toolstack_manages(dom0_t, domU_t)"])))
  }

  /// A refused check names the missing permission and the allow rules for
  /// the same source, target and class; a pair with no rule at all says so.
  @Test func aDenialNamesTheClosestRules() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let host = try Self.system(policy: Self.tree, in: dir)

    // web-dm may not pause web: its device-model rules for domU_t_target grant other domain permissions.
    let rule = try Self.line(in: Self.spt, after: "define(`stub_device_model'", containing: ["allow $2 $3_target:domain {"])
    let stubdm = tree("modules/stubdm.te")
    let call = try Self.line(in: stubdm, containing: ["stub_device_model(dom0_t, dm_dom_t, domU_t)"])
    let r = await xsmq(["can", "web-dm", "domctl.pause", "web", "--why", "--system", host])
    #expect(r.status == 1, "\(r.out)\(r.err)")
    #expect(r.out.contains("""
               no allow rule grants it
               missing domain:pause; closest source rules (same source, target and class):
                 at \(Self.spt):\(rule): allow dm_dom_t domU_t_target:domain { getdomaininfo shutdown };
                   via stub_device_model(dom0_t, dm_dom_t, domU_t) at \(stubdm):\(call)

      """), "\(r.out)")

    // A guest may not pause dom0: no source rule for domU_t -> dom0_t:domain.
    let guest = await xsmq(["can", "db", "domctl.pause", "dom0", "--why", "--system", host])
    #expect(guest.status == 1)
    #expect(guest.out.contains("no source rule for this source/target/class grants any domain permission"), "\(guest.out)")
  }

  private func tree(_ relative: String) -> String { Self.tree + "/" + relative }

  /// A policy.conf without `#line` markers: rules are cited at its own lines, with no macro calls.
  @Test func whyCitesAPolicyConf() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let frontend = PolicyFrontend.run(.tree(Self.tree), options: BuildOptions().checkOptions, lower: false)
    let expanded = try #require(frontend.expandedText)
    let conf = dir + "/policy.conf"
    let lines = expanded.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#line ") }
    try lines.joined(separator: "\n").write(toFile: conf, atomically: true, encoding: .utf8)
    let ruleLine = try Self.line(in: conf, containing: ["allow dom0_t domU_t:domain {", " pause ", " setpodtarget "])

    let r = await xsmq(["can", "dom0", "domctl.pause", "db", "--why", "--system", try Self.system(policy: conf, in: dir)])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("from \(conf):\(ruleLine): allow dom0_t domU_t:domain { pause … 14 more };\n"), "\(r.out)")
    #expect(!r.out.contains("via "))
  }

  /// A binary: no citations without a map beside it, the tree's citations
  /// with the map `xsmc build --origins` writes, and a note when that map
  /// belongs to another binary.
  @Test func aBinaryIsCitedThroughItsSidecar() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let outcome = await PolicyBuilder.build(.tree(Self.tree), options: BuildOptions())
    let binary = try #require(outcome.binary)
    let path = dir + "/xenpolicy-30"
    try OutputFile.write(binary, to: path)
    let host = try Self.system(policy: path, in: dir)
    let question = ["can", "dom0", "domctl.pause", "db", "--why", "--system", host]

    let bare = await xsmq(question)
    #expect(bare.status == 0, "\(bare.err)")
    #expect(bare.out.contains("(no source map: the policy is a binary; build it with xsmc build --origins to get file:line)"),
      "\(bare.out)")
    #expect(!bare.out.contains("\n         from "))

    let map = try #require(RuleOriginMap(outcome.frontend, source: Self.tree))
    try RuleOriginSidecar.write(map, for: binary, besideBinaryAt: path)
    let (rule, via) = try Self.expectedPauseCitation()
    let cited = await xsmq(question)
    #expect(cited.status == 0, "\(cited.err)")
    #expect(cited.out.contains("\(rule)\n           \(via)\n"), "\(cited.out)")
    #expect(!cited.out.contains("no source map"))

    // Rebuilt without --origins (here: other bytes): the map is refused, not trusted.
    try RuleOriginSidecar.write(map, for: binary + [0], besideBinaryAt: path)
    let stale = await xsmq(question)
    #expect(stale.status == 0, "\(stale.err)")
    #expect(stale.out.contains("(no source map: `\(path).origins.json` was written for another binary (built from \(Self.tree)), so it is stale; rebuild with xsmc build --origins)"),
      "\(stale.out)")
    #expect(!stale.out.contains("\n         from "))

    // Not a map at all, or a later version.
    try "{\"format\": \"xsmtools-rule-origins\", \"version\": 99}".write(toFile: path + ".origins.json", atomically: true, encoding: .utf8)
    let newer = await xsmq(question)
    #expect(newer.out.contains("is version 99, this xsmq reads version 1"), "\(newer.out)")
    try "{\"format\": \"xsmtools-rule-origins\", \"version\": 1}".write(toFile: path + ".origins.json", atomically: true, encoding: .utf8)
    let truncated = await xsmq(question)
    #expect(truncated.out.contains("(no source map: `\(path).origins.json` cannot be read; rebuild with xsmc build --origins)"),
      "\(truncated.out)")
    try "[1, 2]".write(toFile: path + ".origins.json", atomically: true, encoding: .utf8)
    let garbage = await xsmq(question)
    #expect(garbage.out.contains("is not a rule-origin map"), "\(garbage.out)")
  }

  /// The embedded policy is a binary without a source map, and says how to get one.
  @Test func theEmbeddedPolicySaysWhy() async throws {
    let r = await xsmq(["can", "dom0", "domctl.pause", "db", "--why"])
    #expect(r.status == 0)
    #expect(r.out.contains("(no source map: the policy is a binary; build it with xsmc build --origins to get file:line)"))
    #expect(r.out.components(separatedBy: "no source map").count == 2, "said once: \(r.out)")
  }

  /// `xsmq explain` cites the closest rules of a denial, the neverallow
  /// that forbids the fix and the rule a boolean switches off.
  @Test func explainCitesSourceRules() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let host = try Self.system(policy: Self.tree, in: dir)
    let log = dir + "/xl-dmesg.log"
    try String(contentsOfFile: TestEnvironment.path("examples/logs/xl-dmesg.log"), encoding: .utf8)
      .write(toFile: log, atomically: true, encoding: .utf8)
    let prot = tree("modules/prot_domU.te")
    let never = try Self.line(in: prot, containing: ["neverallow", "prot_domU_t:mmu"])
    let manages = try Self.line(in: prot, containing: ["toolstack_manages(dom0_t, prot_domU_t)"])
    let stat = try Self.line(in: Self.spt, after: "define(`toolstack_manages'", containing: ["allow $1 $2:mmu stat;"])
    let features = tree("modules/guest_features.te")
    let vpmu = try Self.line(in: features, containing: ["allow guest_domain xen_t:xen2 pmu_use;"])
    let r = await xsmq(["explain", log, "--system", host])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("""
          near  \(Self.spt):\(stat): allow dom0_t prot_domU_t:mmu stat; [if !prot_doms_locked]
                  via toolstack_manages(dom0_t, prot_domU_t) at \(prot):\(manages)
          never \(prot):\(never): neverallow ~prot_domU_t prot_domU_t:mmu { map_read map_write };

      """), "\(r.out)")
    #expect(r.out.contains("    off   \(features):\(vpmu): allow guest_domain xen_t:xen2 pmu_use; [if guest_vpmu]\n"))
    #expect(!r.out.contains("no source map"))

    // On the embedded policy: said once, at the end.
    let embedded = await xsmq(["explain", log])
    #expect(embedded.out.hasSuffix("(no source map: the policy is a binary; build it with xsmc build --origins to get file:line)\nhost: default (embedded), module flask\n"),
      "\(embedded.out.suffix(300))")
  }

  /// A host whose policy is a tree with op rules: xsmq builds it with the
  /// tree's own catalog, as xsmc build does (it used to fail with
  /// op.no-catalog), and cites the op rule at its line.
  @Test func aTreeWithOpRulesIsAHostPolicy() async throws {
    let dir = try Self.scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let tree = dir + "/policy"
    try FileManager.default.copyItem(atPath: Self.tree, toPath: tree)
    let module = tree + "/modules/domU.te"
    let text = try String(contentsOfFile: module, encoding: .utf8)
    try (text + "allow dom0_t domU_t : op { domctl.pause };\n").write(toFile: module, atomically: true, encoding: .utf8)
    let opLine = try Self.line(in: module, containing: [": op { domctl.pause }"])
    let host = try Self.system(policy: tree, in: dir)

    let r = await xsmq(["can", "dom0", "domctl.pause", "db", "--why", "--system", host])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("\n         from \(module):\(opLine): allow dom0_t domU_t:domain pause;\n"), "\(r.out)")
  }
}
