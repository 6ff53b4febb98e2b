import Foundation
import Testing
import XSMBuild
import XSMCatalog
import XSMDiagnostics
import XSMPolicy
import XSMSepol
import XSMTestSupport

/// A small Xen-shaped policy for op-rule tests; `RULES` is replaced by the case.
let opRulePolicy = """
  class xen
  class domain
  class domain2
  class event
  sid xen
  sid dom0
  sid security
  class xen { settime readconsole writeconsole }
  class domain { pause unpause create getdomaininfo destroy }
  class domain2 { relabelfrom relabelto }
  class event { bind send status create reset }
  attribute domain_type;
  type xen_t;
  type security_t;
  type dom0_t, domain_type;
  type domU_t, domain_type;
  type domU_chan_t;
  role system_r;
  role system_r types { domain_type xen_t security_t domU_chan_t };
  type_transition dom0_t domU_t:event domU_chan_t;
  RULES
  user system_u roles { system_r };
  sid xen system_u:system_r:xen_t
  sid dom0 system_u:system_r:dom0_t
  sid security system_u:system_r:security_t

  """

func buildWithOpRules(_ rules: String, catalog: OpCatalog? = nil) async throws -> BuildOutcome {
  let text = opRulePolicy.replacingOccurrences(of: "RULES", with: rules)
  var options = BuildOptions()
  options.catalog = try catalog ?? loadProjectCatalog()
  return await PolicyBuilder.build(.text(name: "rules.conf", text: text), options: options)
}

@SepolActor
func allows(_ binary: [UInt8], _ source: String, _ target: String, _ cls: String, _ perm: String) throws -> Bool {
  try SepolOracle(binary: binary).allows(source: source, target: target, class: cls, permission: perm)
}

@Suite("Op rules in the policy language")
struct OpRuleTests {
  @Test func opRuleGrantsTheChecksOfItsOps() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { domctl.pause domctl.unpausedomain };")
    #expect(!outcome.diagnostics.hasErrors, "\(outcome.diagnostics.items.map(\.message))")
    let binary = try #require(outcome.binary)
    #expect(try await allows(binary, "dom0_t", "domU_t", "domain", "pause"))
    #expect(try await allows(binary, "dom0_t", "domU_t", "domain", "unpause"))
    #expect(try await !allows(binary, "dom0_t", "domU_t", "domain", "destroy"))
    #expect(try await !allows(binary, "domU_t", "dom0_t", "domain", "pause"))
  }

  @Test func fixedObjectsUseTheInitialSIDTypes() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { console.write xsm.flask_op.relabel_domain };")
    let binary = try #require(outcome.binary, "\(outcome.diagnostics.items.map(\.message))")
    #expect(try await allows(binary, "dom0_t", "xen_t", "xen", "writeconsole"))
    #expect(try await allows(binary, "dom0_t", "domU_t", "domain2", "relabelfrom"))
  }

  @Test func channelObjectsFollowTheTypeTransition() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { evtchn.alloc_unbound };")
    let binary = try #require(outcome.binary, "\(outcome.diagnostics.items.map(\.message))")
    #expect(try await allows(binary, "dom0_t", "domU_chan_t", "event", "create"))
  }

  @Test func emitConfShowsTheExpansion() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { domctl.pause };\nneverallow domU_t dom0_t : op domctl.destroy;")
    let conf = try #require(outcome.frontend.expandedTextWithOpRules)
    #expect(conf.contains("# op rule: allow dom0_t domU_t : op { domctl.pause };\nallow dom0_t domU_t:domain pause;"))
    #expect(conf.contains("# op rule: neverallow domU_t dom0_t : op domctl.destroy;\nneverallow domU_t dom0_t:domain destroy;"))
    let uncommented = conf.split(separator: "\n").filter { !$0.hasPrefix("#") }
    #expect(!uncommented.contains { $0.contains(": op") }, "no op rule is left for checkpolicy")
  }

  /// The emitted conf, compiled by checkpolicy, decides exactly as xsmc's binary.
  @Test(.enabled(if: Checkpolicy.shouldRun, "needs checkpolicy"))
  func emittedConfMatchesCheckpolicy() async throws {
    let outcome = try await buildWithOpRules(
      "allow dom0_t domU_t : op { domctl.pause domctl.getdomaininfo evtchn.alloc_unbound console.read };\nallow domU_t domU_t : op { evtchn.reset };")
    let ours = try #require(outcome.binary)
    let conf = try #require(outcome.frontend.expandedTextWithOpRules)
    let theirs = try Checkpolicy.compile(conf)
    let types = ["xen_t", "security_t", "dom0_t", "domU_t", "domU_chan_t"]
    let classes = ["xen", "domain", "domain2", "event"]
    let difference = try await firstDecisionDifference(ours, theirs, types: types, classes: classes)
    #expect(difference == nil, "\(difference ?? "")")
  }

  @Test func unknownOpIsLocatedWithSuggestion() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { domctl.pause domctl.unpuase };")
    let d = try #require(outcome.diagnostics.items.first { $0.id.rawValue == "op.unknown-op" })
    let lines = opRulePolicy.split(separator: "\n", omittingEmptySubsequences: false)
    let ruleLine = try #require(lines.firstIndex { $0.contains("RULES") }) + 1
    #expect(d.span?.line == ruleLine)
    #expect(d.span?.column == 41)
    #expect(d.help == "did you mean `domctl.unpause`?")
    #expect(outcome.binary == nil)
  }

  @Test func opRulesRejectOtherClassesAndWildcards() async throws {
    let mixed = try await buildWithOpRules("allow dom0_t domU_t : { op domain } { domctl.pause };")
    #expect(mixed.diagnostics.items.contains { $0.id.rawValue == "op.mixed-classes" })
    let star = try await buildWithOpRules("allow dom0_t domU_t : op *;")
    #expect(star.diagnostics.items.contains { $0.id.rawValue == "op.bad-set" })
  }

  @Test func opsWithoutChecksWarn() async throws {
    let outcome = try await buildWithOpRules(
      "allow dom0_t domU_t : op { domctl.set_broken_page_p2m sched.yield xsm.flask_op.getenforce domctl.pause };")
    let ids = Set(outcome.diagnostics.items.filter { $0.severity == .warning }.map(\.id.rawValue))
    #expect(ids.isSuperset(of: ["op.unclassified", "op.no-hook", "op.no-check"]))
    #expect(outcome.binary != nil)
  }

  @Test func deviceLabelChecksAreNamedWhenLeftOut() async throws {
    let outcome = try await buildWithOpRules("allow dom0_t domU_t : op { physdev.map_pirq };")
    let d = outcome.diagnostics.items.first { $0.id.rawValue == "op.partial-expansion" }
    #expect(d?.message.contains("irq_label") == true)
  }

  @Test func withoutCatalogOpRulesAreErrors() async throws {
    let text = opRulePolicy.replacingOccurrences(of: "RULES", with: "allow dom0_t domU_t : op { domctl.pause };")
    let outcome = await PolicyBuilder.build(.text(name: "rules.conf", text: text), options: BuildOptions())
    #expect(outcome.diagnostics.items.contains { $0.id.rawValue == "op.no-catalog" })
  }

  /// A deferred catalog is read once, and only by a policy with op rules.
  @Test func aDeferredCatalogIsReadOnlyForOpRules() async throws {
    let reads = ReadCounter()
    var options = BuildOptions()
    options.deferredCatalog = DeferredOpCatalog {
      reads.increment()
      return EmbeddedCatalog.load().0
    }
    let plain = opRulePolicy.replacingOccurrences(of: "RULES", with: "allow dom0_t domU_t : domain { pause };")
    let withoutOps = await PolicyBuilder.build(.text(name: "plain.conf", text: plain), options: options)
    #expect(withoutOps.binary != nil && reads.count == 0, "no op rules: the catalog is never read")
    let rules = opRulePolicy.replacingOccurrences(of: "RULES", with: "allow dom0_t domU_t : op { domctl.pause };")
    for _ in 0..<2 {
      let outcome = await PolicyBuilder.build(.text(name: "rules.conf", text: rules), options: options)
      #expect(outcome.binary != nil, "\(outcome.diagnostics.items.map(\.message))")
    }
    #expect(reads.count == 1, "read on first use, then kept")

    #expect(BuildOptions().deferredCatalog == nil)
    var broken = BuildOptions()
    broken.deferredCatalog = DeferredOpCatalog { nil }
    let outcome = await PolicyBuilder.build(.text(name: "rules.conf", text: rules), options: broken)
    #expect(outcome.binary == nil && outcome.diagnostics.items.contains { $0.id.rawValue == "op.no-catalog" })
  }
}

/// Counts calls from any thread.
final class ReadCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func increment() { lock.lock(); value += 1; lock.unlock() }
  var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}

@SepolActor
func firstDecisionDifference(_ a: [UInt8], _ b: [UInt8], types: [String], classes: [String]) throws -> String? {
  let ours = try SepolOracle(binary: a).decisionTable(types: types, classes: classes)
  let theirs = try SepolOracle(binary: b).decisionTable(types: types, classes: classes)
  return ours.firstDifference(from: theirs).map { "\($0)" }
}
