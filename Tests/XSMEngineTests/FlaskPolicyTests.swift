import Foundation
import Testing
import XSMPolicyGen
import XSMSepol
import XSMTestSupport

@testable import XSMEngine

// Differential tests: the engine's compute_av / compute_sid against
// libsepol's own (SepolOracle) on the same binary, for every (source type,
// target type, class) of each policy.

private let flaskProjectPolicy = TestEnvironment.projectPolicyTree


/// Every `stride`-th type, plus the first `head` types (the hypervisor's own).
private func flaskSample(_ types: [String], count: Int?, head: Int = 24) -> [String] {
  guard let count, types.count > count else { return types }
  let step = max(1, (types.count - head) / max(1, count - head))
  var picked = Array(types.prefix(head))
  var i = head
  while i < types.count && picked.count < count {
    picked.append(types[i])
    i += step
  }
  return picked
}

/// Names of the set bits of `v` in a class.
private func flaskBits(_ v: UInt32, _ perms: [String]) -> String {
  (0..<32).filter { v & (UInt32(1) << UInt32($0)) != 0 }.map { $0 < perms.count ? perms[$0] : "bit\($0)" }
    .joined(separator: " ")
}

/// Compares the engine (built from `ours`, queried with `booleans`) with
/// libsepol (on `oracle`, default booleans) for every (source, target,
/// class) over the sampled types: the three vectors and the transition
/// type. Records the first difference and returns the number of triples compared.
/// libsepol's side only: the two reads and the oracle's table hold
/// libsepol's lock, and the engine's side of the comparison runs after it
/// is released, so other suites are not kept waiting.
private func flaskCompare(
  ours: [UInt8], oracle: [UInt8]? = nil, booleans: [Bool]? = nil, typeSample: Int? = nil, expansionLimit: Int? = nil,
  label: String, sourceLocation: SourceLocation = #_sourceLocation
) async throws -> Int {
  let (read, types, classes, table) = try await flaskOracleTable(ours: ours, oracle: oracle, typeSample: typeSample)
  var policy = read
  if let expansionLimit { policy = FlaskPolicy(data: policy.data, targetExpansionLimit: expansionLimit) }
  let level = policy.isMLS ? ":" + policy.data.sensitivities[0].name : ""
  var contexts: [SecurityContext] = []
  for type in types {
    contexts.append(try #require(policy.context("system_u:object_r:\(type)\(level)"), sourceLocation: sourceLocation))
  }
  let bools = booleans ?? policy.booleanDefaults
  let typeNames = policy.typeNames
  var compared = 0
  for (si, s) in contexts.enumerated() {
    for (ti, t) in contexts.enumerated() {
      for ci in classes.indices {
        let i = table.index(source: si, target: ti, class: ci)
        let theirs = table.vectors[i]
        let d = policy.computeAV(source: s, target: t, classValue: ci + 1, booleans: bools)
        if d.allowed != theirs.allowed || d.auditAllow != theirs.auditAllow || d.auditDeny != theirs.auditDeny {
          let perms = policy.permissionNames(ofClass: ci + 1)
          Issue.record(
            """
            \(label): first difference after \(compared) equal triples at \(types[si]) \(types[ti]) \(classes[ci]):
              allowed     ours [\(flaskBits(d.allowed, perms))] libsepol [\(flaskBits(theirs.allowed, perms))]
              auditallow  ours [\(flaskBits(d.auditAllow, perms))] libsepol [\(flaskBits(theirs.auditAllow, perms))]
              auditdeny   ours \(String(d.auditDeny, radix: 16)) libsepol \(String(theirs.auditDeny, radix: 16))
            """, sourceLocation: sourceLocation)
          return compared
        }
        let sid = policy.computeSID(source: s, target: t, classValue: ci + 1, kind: .transition, booleans: bools)
        let name = sid.type >= 1 && sid.type <= typeNames.count ? typeNames[sid.type - 1] : "?"
        if name != table.transitions[i] {
          let place = "\(types[si]) \(types[ti]) \(classes[ci])"
          Issue.record(
            "\(label): first transition difference at \(place): ours \(name), libsepol \(table.transitions[i])",
            sourceLocation: sourceLocation)
          return compared
        }
        compared += 1
      }
    }
  }
  return compared
}

/// The engine's reading of `ours` and libsepol's decision table of
/// `oracle` (default `ours`) over the sampled types and every class.
/// Tables come from `OracleTables`, so a policy compared twice (two
/// expansion limits, or by both differential suites) is asked of libsepol once.
@SepolActor
private func flaskOracleTable(ours: [UInt8], oracle: [UInt8]?, typeSample: Int?) throws
  -> (FlaskPolicy, [String], [String], DecisionTable)
{
  let policy = try FlaskPolicy(binary: ours)
  let allTypes = policy.data.types.filter { !$0.isAttribute }.map(\.name)
  // Sorted, as the compiler's differential suite orders them, so the two share tables.
  let types = typeSample == nil ? allTypes.sorted() : flaskSample(allTypes, count: typeSample)
  let classes = policy.data.classes.map(\.name)
  return (policy, types, classes, try OracleTables.table(oracle ?? ours, types: types, classes: classes))
}

/// Contexts with every user and role, a spread of types and (MLS) a few
/// levels; checks `isValid` against libsepol's acceptance of each, then
/// compares compute_av and the transition type for every pair of valid
/// contexts and every class through the oracle's string API.
@SepolActor
private func flaskCompareContexts(
  binary: [UInt8], types typeCount: Int = 8, maxContexts: Int = 48, label: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws -> (candidates: Int, valid: Int, compared: Int) {
  let policy = try FlaskPolicy(binary: binary)
  let sepol = try SepolOracle(binary: binary)
  let classes = policy.data.classes.map(\.name)
  let types = flaskSample(policy.data.types.filter { !$0.isAttribute }.map(\.name), count: typeCount, head: 2)
  var levels = [""]
  if policy.isMLS {
    let sens = policy.data.sensitivities.map(\.name)
    let cats = policy.data.categories
    let low = sens[0]
    let high = sens[min(1, sens.count - 1)]
    levels = [":\(low)", ":\(high)", ":\(low)-\(high)"]
    if cats.count >= 3 {
      levels += [
        ":\(low):\(cats[1])", ":\(low):\(cats[1]),\(cats[2])", ":\(low)-\(low):\(cats[2])",
        ":\(low)-\(high):\(cats[0]).\(cats[2])", ":\(high):\(cats[1])-\(low)",
      ]
    }
  }
  var valid: [(text: String, context: SecurityContext)] = []
  var candidates = 0
  for user in policy.data.users.map(\.name) {
    for role in policy.data.roles.map(\.name) {
      for type in types {
        for level in levels {
          let text = "\(user):\(role):\(type)\(level)"
          candidates += 1
          let ours = policy.context(text)
          let theirs = (try? sepol.computeAV(source: text, target: text, class: classes[0])) != nil
          let oursValid = ours.map(policy.isValid) ?? false
          guard oursValid == theirs else {
            Issue.record(
              "\(label): `\(text)` is \(oursValid ? "" : "in")valid here but libsepol says \(theirs)",
              sourceLocation: sourceLocation)
            return (candidates, valid.count, 0)
          }
          if let ours, oursValid {
            #expect(
              policy.contextString(ours) == text || policy.context(policy.contextString(ours)) == ours,
              sourceLocation: sourceLocation)
            valid.append((text, ours))
          }
        }
      }
    }
  }
  let picked = flaskSample(valid.map(\.text), count: maxContexts, head: 4).compactMap { t in
    valid.first { $0.text == t }
  }
  var compared = 0
  var invalidTransitions = 0
  defer {
    if invalidTransitions > 0 {
      print("FlaskPolicy contexts: \(label): \(invalidTransitions) transitions to invalid contexts (refused by both)")
    }
  }
  for s in picked {
    for t in picked {
      for (ci, cls) in classes.enumerated() {
        let theirs = try sepol.computeAV(source: s.text, target: t.text, class: cls)
        let d = policy.computeAV(
          source: s.context, target: t.context, classValue: ci + 1, booleans: policy.booleanDefaults)
        if d.allowed != theirs.allowed || d.auditAllow != theirs.auditAllow || d.auditDeny != theirs.auditDeny {
          let perms = policy.permissionNames(ofClass: ci + 1)
          let message =
            "\(label): \(s.text) \(t.text) \(cls): ours [\(flaskBits(d.allowed, perms))] "
            + "libsepol [\(flaskBits(theirs.allowed, perms))], auditallow \(d.auditAllow)/\(theirs.auditAllow), "
            + "auditdeny \(d.auditDeny)/\(theirs.auditDeny)"
          Issue.record("\(message)", sourceLocation: sourceLocation)
          return (candidates, valid.count, compared)
        }
        let sid = policy.computeSID(
          source: s.context, target: t.context, classValue: ci + 1, kind: .transition, booleans: policy.booleanDefaults)
        let type = policy.typeNames[sid.type - 1]
        let theirType: String
        do {
          theirType = try sepol.transition(source: s.text, target: t.text, class: cls)
        } catch {
          // libsepol (enforcing) refuses an invalid new context with -EACCES.
          if policy.isValid(sid) {
            Issue.record(
              "\(label): transition \(s.text) \(t.text) \(cls): ours \(policy.contextString(sid)) is valid, libsepol: \(error)",
              sourceLocation: sourceLocation)
            return (candidates, valid.count, compared)
          }
          invalidTransitions += 1
          compared += 1
          continue
        }
        if !policy.isValid(sid) {
          Issue.record(
            "\(label): transition \(s.text) \(t.text) \(cls): ours \(policy.contextString(sid)) is invalid, libsepol gives \(theirType)",
            sourceLocation: sourceLocation)
          return (candidates, valid.count, compared)
        }
        if type != theirType {
          Issue.record(
            "\(label): transition \(s.text) \(t.text) \(cls): ours \(type), libsepol \(theirType)",
            sourceLocation: sourceLocation)
          return (candidates, valid.count, compared)
        }
        compared += 1
      }
    }
  }
  return (candidates, valid.count, compared)
}

/// A small hand-written policy (checkpolicy syntax) that uses what the
/// project's language does not: role allow and role_transition, typebounds,
/// permissive, aliases, constraints over roles (`dom`), names and levels,
/// default_* rules and, with MLS, range_transition.
private func flaskFeaturePolicy(mls: Bool) throws -> String {
  let flask = flaskProjectPolicy + "/flask/"
  let preamble = try ["security_classes", "initial_sids", "access_vectors"]
    .map { try String(contentsOfFile: flask + $0, encoding: .utf8) }.joined(separator: "\n")
  let sids = [
    "xenboot", "xen", "dom0", "domio", "domxen", "unlabeled", "security", "ioport", "iomem", "irq",
    "device", "domU", "domDM",
  ]
  let level = mls ? ":s0" : ""
  var text = preamble + "\n"
  // checkpolicy's order: default_* rules, the MLS block (ending with its
  // constraints), types and rules, users, constraints, contexts.
  text +=
    mls
    ? "default_range event source high;\ndefault_user grant target;\n"
    : "default_role event target;\ndefault_type grant target;\ndefault_user event target;\n"
  if mls {
    text += """
      sensitivity s0;
      sensitivity s1;
      sensitivity s2 alias secret;
      dominance { s0 s1 s2 }
      category c0;
      category c1 alias blue;
      category c2;
      category c3;
      level s0:c0.c3;
      level s1:c0.c3;
      level s2:c0.c2;
      mlsconstrain domain { pause unpause } ( l1 dom l2 or t1 == a_t );
      mlsconstrain event send ( h1 domby h2 and l1 incomp l2 or l1 eq l2 or h1 == l2 );
      mlsconstrain grant copy ( l1 != h1 or l2 eq h2 );

      """
  }
  text += """
    attribute dom_attr;
    attribute obj_attr;
    attribute any_attr;
    bool b1 true;
    bool b2 false;
    bool b3 true;
    type a_t, dom_attr, any_attr;
    type b_t, dom_attr, any_attr;
    type c_t, obj_attr, any_attr;
    type d_t alias d_alias_t, obj_attr;
    type child_t, dom_attr;
    type e_t;
    typebounds a_t child_t;
    permissive b_t;
    allow dom_attr obj_attr:domain { pause unpause getdomaininfo };
    allow a_t { child_t b_t }:domain { pause getdomaininfo transition create };
    allow b_t a_t:domain { transition create pause };
    allow any_attr any_attr:event { bind send };
    allow a_t self:grant { map_read map_write copy };
    auditallow a_t c_t:domain pause;
    auditallow dom_attr any_attr:event send;
    dontaudit b_t c_t:domain { unpause getdomaininfo };
    dontaudit any_attr obj_attr:event status;
    if (b1 && !b2) {
      allow a_t d_t:event { create status };
      dontaudit a_t d_t:event reset;
      type_transition a_t d_t:event c_t;
    } else {
      allow b_t d_t:event create;
      type_transition a_t d_t:event d_t;
    }
    if (b2 || b3) {
      auditallow dom_attr obj_attr:domain unpause;
      allow e_t e_t:domain pause;
    }
    if (b1 == b3) {
      allow c_t any_attr:domain shutdown;
    }
    type_transition a_t b_t:domain c_t;
    type_transition b_t e_t:domain a_t;
    type_member a_t b_t:domain d_t;
    type_change a_t b_t:domain child_t;
    role r1_r;
    role r1_r types { a_t b_t child_t e_t };
    role r2_r;
    role r2_r types { a_t c_t d_t };
    role r3_r;
    role r3_r types { b_t };
    dominance { role r1_r { role r3_r; } }
    allow r1_r r2_r;
    role_transition r1_r c_t:domain r2_r;
    role_transition r2_r a_t:event r1_r;

    """
  if mls { text += "range_transition a_t b_t:domain s1 - s1:c1;\n" }
  if mls {
    text += """
      user system_u roles { r1_r r2_r r3_r } level s0 range s0 - s2:c0.c2;
      user u1_u roles { r1_r r2_r } level s1 range s1 - s1:c0.c3;
      user u2_u roles { r3_r } level s0 range s0 - s0:c1;

      """
  } else {
    text += """
      user system_u roles { r1_r r2_r r3_r };
      user u1_u roles { r1_r r2_r };
      user u2_u roles { r3_r };

      """
  }
  text += """
    constrain domain transition ( r1 == r2 or t1 == a_t );
    constrain event bind ( u1 == u2 or t2 != obj_attr );
    constrain domain getdomaininfo ( not ( r1 dom r2 ) or r1 == r2 or u1 == system_u );
    constrain domain create ( r1 domby r2 or r1 incomp r2 and t2 == { a_t b_t } );
    constrain grant map_read ( u1 != { u2_u } or r2 != r3_r );

    """
  for sid in sids { text += "sid \(sid) system_u:object_r:c_t\(level)\n" }
  return text
}

/// Number of (type, type, class) triples whose access vectors or transition
/// type differ between two boolean vectors.
private func flaskDifferences(_ policy: FlaskPolicy, _ a: [Bool], _ b: [Bool]) -> Int {
  let contexts = policy.data.types.filter { !$0.isAttribute }.compactMap {
    policy.context("system_u:object_r:\($0.name)")
  }
  var n = 0
  for s in contexts {
    for t in contexts {
      for c in 1...policy.data.classes.count {
        let x = policy.computeAV(source: s, target: t, classValue: c, booleans: a)
        let y = policy.computeAV(source: s, target: t, classValue: c, booleans: b)
        let u = policy.computeSID(source: s, target: t, classValue: c, kind: .transition, booleans: a)
        let v = policy.computeSID(source: s, target: t, classValue: c, kind: .transition, booleans: b)
        if x != y || u != v { n += 1 }
      }
    }
  }
  return n
}

@Suite("FlaskPolicy")
struct FlaskPolicyTests {
  // MARK: Differential: varied users, roles and levels

  @Test func contextVarietyProjectPolicy() async throws {
    for (name, mls) in [("v30", false), ("MLS", true)] {
      let outcome = try await TestPolicies.project(mls: mls)
      let r = try await flaskCompareContexts(binary: outcome.binary, label: "project \(name)")
      #expect(r.valid > 4 && r.compared > 1000)
      print(
        "FlaskPolicy contexts: project \(name): \(r.candidates) candidates, \(r.valid) valid, \(r.compared) triples")
    }
  }

  @Test func contextVarietyGeneratedPolicy() async throws {
    let text = try TestPolicies.generatedText(guests: 10, seed: 1)
    let outcome = try await TestPolicies.compile(text: text, name: "generated-10.conf")
    let r = try await flaskCompareContexts(binary: outcome.binary, types: 10, label: "generated 10")
    #expect(r.valid > 4 && r.compared > 1000)
    print("FlaskPolicy contexts: generated 10: \(r.candidates) candidates, \(r.valid) valid, \(r.compared) triples")
  }

  /// checkpolicy-only features (role allow/transition, typebounds,
  /// permissive, role dominance, default_*, range_transition), all types
  /// and all context combinations against libsepol.
  @Test(.enabled(if: Checkpolicy.shouldRun, "needs checkpolicy"), arguments: [false, true])
  func featurePolicy(mls: Bool) async throws {
    let binary = try Checkpolicy.compile(try flaskFeaturePolicy(mls: mls), mls: mls)
    try #require(!binary.isEmpty)
    let n = try await flaskCompare(ours: binary, label: "feature policy mls=\(mls)")
    #expect(n == 6 * 6 * 13)
    #expect(try await flaskCompare(ours: binary, expansionLimit: 0, label: "feature policy mls=\(mls), limit 0") == n)
    let r = try await flaskCompareContexts(binary: binary, types: 7, maxContexts: 80, label: "feature mls=\(mls)")
    #expect(r.valid > 10 && r.compared > 10_000)
    print("FlaskPolicy features mls=\(mls): \(n) triples, contexts \(r.candidates)/\(r.valid)/\(r.compared)")

    let policy = try await FlaskPolicy(binary: binary)
    let level = mls ? ":s0" : ""
    let a = try #require(policy.context("system_u:r1_r:a_t\(level)"))
    let b = try #require(policy.context("system_u:r1_r:b_t\(level)"))
    let domain = try #require(policy.classValue("domain"))
    let event = try #require(policy.classValue("event"))
    let grant = try #require(policy.classValue("grant"))
    let bools = policy.booleanDefaults
    let typeName = { (c: SecurityContext) in policy.typeNames[c.type - 1] }
    // Permissive flag, aliases.
    #expect(policy.computeAV(source: b, target: a, classValue: domain, booleans: bools).permissive)
    #expect(!policy.computeAV(source: a, target: b, classValue: domain, booleans: bools).permissive)
    #expect(policy.typeValue("d_alias_t") == policy.typeValue("d_t"))
    // type_member / type_change / role_transition / defaults.
    #expect(
      typeName(policy.computeSID(source: a, target: b, classValue: domain, kind: .member, booleans: bools)) == "d_t")
    #expect(
      typeName(policy.computeSID(source: a, target: b, classValue: domain, kind: .change, booleans: bools)) == "child_t"
    )
    #expect(
      typeName(policy.computeSID(source: b, target: a, classValue: domain, kind: .member, booleans: bools)) == "b_t")
    let c = try #require(policy.context("system_u:object_r:c_t\(level)"))
    let toC = policy.computeSID(source: a, target: c, classValue: domain, kind: .transition, booleans: bools)
    #expect(toC.role == policy.roleValue("r2_r"), "role_transition r1_r c_t:domain r2_r")
    #expect(toC.type == a.type, "domain keeps the source type without a type rule")
    let onEvent = policy.computeSID(source: a, target: c, classValue: event, kind: .transition, booleans: bools)
    #expect(onEvent.type == c.type)
    let u1 = try #require(policy.context("u1_u:r2_r:a_t\(mls ? ":s1" : "")"))
    if mls {
      let ranged = policy.computeSID(source: a, target: b, classValue: domain, kind: .transition, booleans: bools)
      #expect(policy.rangeString(try #require(ranged.range)) == "s1-s1:c1", "range_transition")
      let high = try #require(policy.context("system_u:r1_r:a_t:s0-s2:c0.c2"))
      let ev = policy.computeSID(source: high, target: c, classValue: event, kind: .transition, booleans: bools)
      #expect(policy.rangeString(try #require(ev.range)) == "s2:c0.c2", "default_range event source high")
      let g = policy.computeSID(source: a, target: u1, classValue: grant, kind: .transition, booleans: bools)
      #expect(g.user == u1.user, "default_user grant target")
      #expect(policy.context("system_u:r1_r:a_t:secret:blue") == policy.context("system_u:r1_r:a_t:s2:c1"))
    } else {
      let ev = policy.computeSID(source: a, target: u1, classValue: event, kind: .transition, booleans: bools)
      #expect(ev.user == u1.user && ev.role == u1.role, "default_user/default_role event target")
      let g = policy.computeSID(source: a, target: u1, classValue: grant, kind: .transition, booleans: bools)
      #expect(g.type == u1.type && g.role == 1, "default_type grant target")
    }
    // Booleans flipped change the conditional type_transition.
    let d = try #require(policy.context("system_u:object_r:d_t\(level)"))
    #expect(
      typeName(policy.computeSID(source: a, target: d, classValue: event, kind: .transition, booleans: bools)) == "c_t")
    var flipped = bools
    flipped[0].toggle()
    #expect(
      typeName(policy.computeSID(source: a, target: d, classValue: event, kind: .transition, booleans: flipped))
        == "d_t")
    // Explanations name attributes and conditions.
    let send = try #require(policy.permissionBit(classValue: event, permission: "send"))
    let rules = policy.grantingRules(source: a, target: c, classValue: event, permissionBit: send, booleans: bools)
    #expect(rules.map(\.description) == ["allow any_attr any_attr:event { bind send };"])
    let create = try #require(policy.permissionBit(classValue: event, permission: "create"))
    let conditional = policy.grantingRules(
      source: a, target: d, classValue: event, permissionBit: create, booleans: bools)
    #expect(conditional.map(\.condition) == ["b1 && !b2"])
    let orElse = policy.grantingRules(
      source: try #require(policy.context("system_u:r1_r:b_t\(level)")), target: d, classValue: event,
      permissionBit: create, booleans: flipped)
    #expect(orElse.map(\.condition) == ["!(b1 && !b2)"])

    // Type bounds mask what the bounding type lacks: give child_t a
    // permission a_t does not have (checkpolicy refuses to compile that, so
    // the table is edited) and it disappears; give it to a_t too and it stays.
    var data = policy.data
    let child = try #require(policy.typeValue("child_t"))
    let e = try #require(policy.typeValue("e_t"))
    let destroy = try #require(policy.permissionBit(classValue: domain, permission: "destroy"))
    let extra = PolicyData.AVEntry(source: child, target: e, classValue: domain, kind: 1, data: 1 << UInt32(destroy))
    data.rules.append(extra)
    data.rules.sort { ($0.source, $0.target, $0.classValue, $0.kind) < ($1.source, $1.target, $1.classValue, $1.kind) }
    let childContext = try #require(policy.context("system_u:r1_r:child_t\(level)"))
    let eContext = try #require(policy.context("system_u:r1_r:e_t\(level)"))
    let bounded = FlaskPolicy(data: data)
    #expect(
      bounded.computeAV(source: childContext, target: eContext, classValue: domain, booleans: bools).allowed
        & (1 << UInt32(destroy)) == 0)
    data.rules.append(
      PolicyData.AVEntry(source: a.type, target: e, classValue: domain, kind: 1, data: 1 << UInt32(destroy)))
    data.rules.sort { ($0.source, $0.target, $0.classValue, $0.kind) < ($1.source, $1.target, $1.classValue, $1.kind) }
    let unbounded = FlaskPolicy(data: data)
    #expect(
      unbounded.computeAV(source: childContext, target: eContext, classValue: domain, booleans: bools).allowed
        & (1 << UInt32(destroy)) != 0)
    // The bounded type's own grant is listed as granting (bounds apply after).
    #expect(
      !bounded.grantingRules(
        source: childContext, target: eContext, classValue: domain, permissionBit: destroy,
        booleans: bools
      ).isEmpty)
  }

  // MARK: Differential: every triple

  @Test func projectPolicy() async throws {
    let outcome = try await TestPolicies.project()
    let binary = outcome.binary
    let n = try await flaskCompare(ours: binary, label: "project v30")
    #expect(n > 10_000)
    print("FlaskPolicy differential: project v30: \(n) triples")
    // Every target attribute left unexpanded (the path large policies take).
    for limit in [0, 1, 4] {
      let m = try await flaskCompare(
        ours: binary, expansionLimit: limit, label: "project v30, expansion limit \(limit)")
      #expect(m == n)
    }
  }

  @Test func projectPolicyVersion24() async throws {
    let outcome = try await TestPolicies.project(version: 24)
    let n = try await flaskCompare(ours: outcome.binary, label: "project v24")
    #expect(n > 10_000)
    print("FlaskPolicy differential: project v24: \(n) triples")
  }

  @Test func projectPolicyMLS() async throws {
    let outcome = try await TestPolicies.project(mls: true)
    let binary = outcome.binary
    let n = try await flaskCompare(ours: binary, label: "project MLS")
    #expect(n > 10_000)
    print("FlaskPolicy differential: project MLS: \(n) triples")
    let policy = try await FlaskPolicy(binary: binary)
    #expect(policy.isMLS)
  }

  /// Every triple of a generated policy; 100 guests (1.6 M triples) only with XSM_SLOW_TESTS=1.
  @Test(arguments: TestEnvironment.sweep([10], slow: [100]))
  func generatedPolicy(guests: Int) async throws {
    // The compiler's differential suite compares the same policy (same seed), so libsepol's table is shared.
    let text = try TestPolicies.generatedText(guests: guests, seed: UInt64(guests) * 7 + 1)
    let outcome = try await TestPolicies.compile(text: text, name: "generated-\(guests).conf")
    let n = try await flaskCompare(ours: outcome.binary, label: "generated \(guests)")
    #expect(n > 0)
    let m = try await flaskCompare(
      ours: outcome.binary, expansionLimit: guests / 4, label: "generated \(guests), limit \(guests / 4)")
    #expect(m == n)
    print("FlaskPolicy differential: generated \(guests): \(n) triples")
  }

  /// A random sample of the types of a larger generated policy: 200 guests
  /// (60 types), and 1000 guests (150 types) only with XSM_SLOW_TESTS=1.
  @Test(arguments: TestEnvironment.sweep([200], slow: [1000]))
  func generatedPolicySampled(guests: Int) async throws {
    let sample = guests >= 1000 ? 150 : 60
    let text = try TestPolicies.generatedText(guests: guests, seed: 1)
    let outcome = try await TestPolicies.compile(text: text, name: "generated-\(guests).conf")
    let n = try await flaskCompare(ours: outcome.binary, typeSample: sample, label: "generated \(guests)")
    #expect(n > 0)
    let stats = try await FlaskPolicy(binary: outcome.binary).statistics
    print(
      "FlaskPolicy differential: generated \(guests) (\(sample) types): \(n) triples; table \(stats.expandedTriples) triples, "
        + "\(stats.attributeTriples) attribute rows, \(stats.conditionalItems) conditional items, \(stats.bytes / 1024) KiB"
    )
  }

  /// Each boolean flipped: the engine on the original binary with that
  /// boolean flipped must equal libsepol on a variant policy whose default is flipped.
  @Test func everyBooleanFlipped() async throws {
    let outcome = try await TestPolicies.project()
    let binary = outcome.binary
    let text = outcome.policyText
    let policy = try await FlaskPolicy(binary: binary)
    #expect(!policy.booleanNames.isEmpty)
    for (index, name) in policy.booleanNames.enumerated() {
      let value = policy.booleanDefaults[index]
      let line = "bool \(name) \(value);"
      try #require(text.contains(line), "the expanded text declares `\(line)`")
      let variant = text.replacingOccurrences(of: line, with: "bool \(name) \(!value);")
      let flipped = try await TestPolicies.compile(text: variant, name: "flipped-\(name).conf")
      var booleans = policy.booleanDefaults
      booleans[index].toggle()
      let n = try await flaskCompare(
        ours: binary, oracle: flipped.binary, booleans: booleans, label: "boolean \(name) flipped")
      #expect(n > 10_000)
      // Not vacuous: the flip changes some decision.
      #expect(flaskDifferences(policy, policy.booleanDefaults, booleans) > 0, "flipping \(name) changes nothing")
    }
    // All of them flipped at once.
    var all = text
    for (index, name) in policy.booleanNames.enumerated() {
      let value = policy.booleanDefaults[index]
      all = all.replacingOccurrences(of: "bool \(name) \(value);", with: "bool \(name) \(!value);")
    }
    let allFlipped = try await TestPolicies.compile(text: all, name: "flipped-all.conf")
    let n = try await flaskCompare(
      ours: binary, oracle: allFlipped.binary, booleans: policy.booleanDefaults.map { !$0 },
      label: "all booleans flipped")
    #expect(n > 10_000)
  }

  /// The conditional state libsepol keeps after reading (AVTAB_ENABLED on
  /// each conditional rule) is what the engine computes from the defaults.
  @Test func conditionalStateAsRead() async throws {
    for version in [30, 24] {
      let outcome = try await TestPolicies.project(version: version)
      let policy = try await FlaskPolicy(binary: outcome.binary)
      #expect(!policy.data.conditionals.isEmpty)
      #expect(!policy.data.conditionalRules.isEmpty)
      for rule in policy.data.conditionalRules {
        let state = policy.conditionState(rule.conditional, policy.booleanDefaults)
        #expect(state == policy.data.conditionals[rule.conditional].storedState)
        #expect(rule.enabled == (rule.branch ? state > 0 : state == 0), "rule \(rule)")
      }
    }
  }

  // MARK: Names, contexts, errors

  @Test func namesAndValues() async throws {
    let outcome = try await TestPolicies.project()
    let policy = try await FlaskPolicy(binary: outcome.binary)
    let domain = try #require(policy.classValue("domain"))
    #expect(domain == 3)
    #expect(policy.classValue("xen") == 1)
    #expect(policy.permissionBit(classValue: domain, permission: "pause") == 1)
    #expect(policy.permissionNames(ofClass: domain).first == "setvcpucontext")
    #expect(policy.permissionBit(classValue: domain, permission: "no_such_perm") == nil)
    #expect(policy.permissionNames(ofClass: 0).isEmpty)
    #expect(policy.permissionNames(ofClass: 999).isEmpty)
    #expect(policy.classValue("no_such_class") == nil)
    #expect(policy.typeValue("no_such_t") == nil)
    #expect(policy.roleValue("no_such_r") == nil)
    #expect(policy.userValue("no_such_u") == nil)
    let dom0 = try #require(policy.typeValue("dom0_t"))
    #expect(policy.typeNames[dom0 - 1] == "dom0_t")
    #expect(policy.roleValue("object_r") == 1)
    #expect(policy.userValue("system_u") != nil)
    #expect(!policy.isMLS)
    #expect(policy.policyVersion == 30)
    #expect(!policy.handleUnknownAllow)
    #expect(policy.booleanNames.count == policy.booleanDefaults.count)

    // Initial SIDs in SID order, named by Xen's numbering.
    let names = policy.initialSIDs.map(\.name)
    #expect(Array(names.prefix(3)) == ["xenboot", "xen", "dom0"])
    let sidXen = policy.initialSIDs[1].context
    #expect(policy.contextString(sidXen) == "system_u:system_r:xen_t")
    #expect(policy.isValid(sidXen))
    for (_, context) in policy.initialSIDs {
      #expect(policy.context(policy.contextString(context)) == context)
    }

    // Device labels (policy/device_contexts, nic_dev module).
    let o = policy.ocontexts
    #expect(o.pciDevice[0x300].map(policy.contextString) == "system_u:object_r:nic_pci_t")
    #expect(o.pirq[17].map(policy.contextString) == "system_u:object_r:nic_irq_t")
    #expect(o.iomem.map { [$0.low, $0.high] } == [[0xf7c00, 0xf7c1f], [0xf7c20, 0xf7c23]])
    #expect(o.ioport.map { [$0.low, $0.high] } == [[0xe000, 0xe01f]])
    #expect(o.deviceTree["/soc/ethernet@ff0e0000"].map(policy.contextString) == "system_u:object_r:nic_pci_t")
    let v24 = try await TestPolicies.project(version: 24)
    let old = try await FlaskPolicy(binary: v24.binary)
    #expect(old.policyVersion == 24)
    #expect(old.ocontexts.deviceTree.isEmpty, "version 24 has no device-tree labels")
    #expect(old.ocontexts.iomem.count == 2)

    // Unknown class: nothing allowed, nothing crashes.
    let c = try #require(policy.context("system_u:system_r:dom0_t"))
    let none = policy.computeAV(source: c, target: c, classValue: 0, booleans: policy.booleanDefaults)
    #expect(none.allowed == 0 && none.auditDeny == ~0)
    let far = policy.computeAV(source: c, target: c, classValue: 9999, booleans: [])
    #expect(far.allowed == 0)
    var bogus = c
    bogus.type = 1_000_000
    #expect(policy.computeAV(source: bogus, target: c, classValue: domain, booleans: []).allowed == 0)
    #expect(!policy.isValid(bogus))
  }

  @Test func contextParsingAndValidity() async throws {
    let outcome = try await TestPolicies.project()
    let policy = try await FlaskPolicy(binary: outcome.binary)
    let ok = try #require(policy.context("system_u:system_r:dom0_t"))
    #expect(policy.isValid(ok))
    #expect(policy.contextString(ok) == "system_u:system_r:dom0_t")
    for bad in [
      "", "system_u", "system_u:system_r", "nobody_u:system_r:dom0_t", "system_u:nobody_r:dom0_t",
      "system_u:system_r:nothing_t", "system_u:system_r:dom0_t:s0", "system_u:system_r:domain_type",
    ] {
      #expect(policy.context(bad) == nil, "\(bad)")
    }
    // object_r takes any type; system_r only its own.
    let anyObject = try #require(policy.context("system_u:object_r:dom0_t"))
    #expect(policy.isValid(anyObject))
    if let iomem = policy.typeValue("iomem_t") {
      var objectAsDomain = ok
      objectAsDomain.type = iomem
      #expect(!policy.isValid(objectAsDomain), "system_r must not take iomem_t")
    }
    var badRole = ok
    badRole.role = 999
    #expect(!policy.isValid(badRole))
    var withRange = ok
    withRange.range = MLSRange(MLSLevel(sensitivity: 1))
    #expect(!policy.isValid(withRange), "a range in a non-MLS policy")

    // MLS.
    let mlsOutcome = try await TestPolicies.project(mls: true)
    let mls = try await FlaskPolicy(binary: mlsOutcome.binary)
    let low = try #require(mls.data.sensitivities.first?.name)
    #expect(mls.context("system_u:system_r:dom0_t") == nil, "an MLS policy needs a level")
    let c = try #require(mls.context("system_u:system_r:dom0_t:\(low)"))
    #expect(mls.isValid(c))
    #expect(mls.contextString(c) == "system_u:system_r:dom0_t:\(low)")
    #expect(mls.context("system_u:system_r:dom0_t:nosuch") == nil)
    #expect(mls.context("system_u:system_r:dom0_t:\(low):nosuchcat") == nil)
    if mls.data.categories.count >= 4, mls.data.sensitivities.count >= 2 {
      let cats = mls.data.categories
      let high = mls.data.sensitivities[mls.data.sensitivities.count - 1].name
      let text = "system_u:object_r:dom0_t:\(low)-\(high):\(cats[0]).\(cats[3])"
      let ranged = try #require(mls.context(text))
      #expect(ranged.range?.high.categoryValues == [1, 2, 3, 4])
      #expect(mls.contextString(ranged) == text)
      #expect(mls.context("system_u:object_r:dom0_t:\(low):\(cats[3]).\(cats[0])") == nil, "descending range")
      // high must dominate low
      let inverted = try #require(mls.context("system_u:object_r:dom0_t:\(high)-\(low)"))
      #expect(!mls.isValid(inverted))
    }
  }

  @Test func truncatedAndGarbageBinariesThrow() async throws {
    let outcome = try await TestPolicies.project()
    let binary = outcome.binary
    for length in [0, 1, 8, 16, 64, 200, binary.count / 3, binary.count / 2, binary.count - 1] {
      await #expect(throws: FlaskPolicyError.self, "prefix of \(length) bytes") {
        _ = try await FlaskPolicy(binary: Array(binary.prefix(length)))
      }
    }
    await #expect(throws: FlaskPolicyError.self) {
      _ = try await FlaskPolicy(binary: [UInt8](repeating: 0xAB, count: 4096))
    }
    do {
      _ = try await FlaskPolicy(binary: [1, 2, 3])
      Issue.record("a 3-byte policy loaded")
    } catch {
      #expect(error.id == "flask.policy-read-failed")
      #expect(!error.description.isEmpty)
    }
  }

  // MARK: Explanations

  @Test func explanations() async throws {
    let outcome = try await TestPolicies.project()
    let policy = try await FlaskPolicy(binary: outcome.binary)
    let dom0 = try #require(policy.context("system_u:system_r:dom0_t"))
    let domU = try #require(policy.context("system_u:system_r:domU_t"))
    let domain = try #require(policy.classValue("domain"))
    let pause = try #require(policy.permissionBit(classValue: domain, permission: "pause"))
    let d = policy.computeAV(source: dom0, target: domU, classValue: domain, booleans: policy.booleanDefaults)
    #expect(d.allowed & (1 << UInt32(pause)) != 0, "dom0 may pause domU")
    let rules = policy.grantingRules(
      source: dom0, target: domU, classValue: domain, permissionBit: pause, booleans: policy.booleanDefaults)
    #expect(!rules.isEmpty)
    #expect(rules.allSatisfy { $0.permissions.contains("pause") && $0.className == "domain" })
    #expect(rules.first?.description.hasPrefix("allow ") == true)
    // The reverse is not granted: no rule.
    let back = policy.grantingRules(
      source: domU, target: dom0, classValue: domain, permissionBit: pause, booleans: policy.booleanDefaults)
    let reverse = policy.computeAV(source: domU, target: dom0, classValue: domain, booleans: policy.booleanDefaults)
    #expect(back.isEmpty == (reverse.allowed & (1 << UInt32(pause)) == 0))

    // A constraint that fails: event bind between two users that are not system_u.
    if let event = policy.classValue("event"), let bind = policy.permissionBit(classValue: event, permission: "bind"),
      policy.data.users.count >= 2, !policy.data.classes[event - 1].constraints.isEmpty
    {
      let others = policy.data.users.indices.map { $0 + 1 }.filter { policy.data.users[$0 - 1].name != "system_u" }
      if others.count >= 2 {
        var a = dom0
        a.user = others[0]
        var b = domU
        b.user = others[1]
        let failing = policy.failingConstraints(source: a, target: b, classValue: event, permissionBit: bind)
        #expect(!failing.isEmpty)
        #expect(failing.allSatisfy { $0.hasPrefix("constrain event") })
      }
      #expect(policy.failingConstraints(source: dom0, target: domU, classValue: event, permissionBit: bind).isEmpty)
    }
  }

  // MARK: libsepol's bulk path

  /// The oracle's bulk `sepol_compute_av` path (what `xsmbench decisions`
  /// times against the engine) gives the engine's answers. The throughput
  /// comparison itself is a benchmark (Benchmarks/engine.sh), not a test.
  @Test func bulkMasksAgreeWithTheEngine() async throws {
    try await flaskBulkAgreement(try await TestPolicies.projectBinary())
  }
}

@SepolActor
private func flaskBulkAgreement(_ binary: [UInt8]) throws {
  let policy = try FlaskPolicy(binary: binary)
  let sepol = try SepolOracle(binary: binary)
  let types = policy.data.types.filter { !$0.isAttribute }.map(\.name)
  let contexts = types.compactMap { policy.context("system_u:object_r:\($0)") }
  let classes = policy.data.classes.map(\.name)
  let booleans = policy.booleanDefaults
  let sids = try sepol.sids(forTypes: types)
  #expect(contexts.count == types.count && sids.count == types.count)
  var compared = 0
  for (si, s) in contexts.enumerated() {
    for (ti, t) in contexts.enumerated() {
      for (ci, name) in classes.enumerated() {
        let ours = policy.computeAV(source: s, target: t, classValue: ci + 1, booleans: booleans).allowed
        let theirs = sepol.computeAllowedMasks([(sids[si], sids[ti], sepol.classNumber(name) ?? 0)])
        guard ours == theirs else {
          Issue.record("bulk path differs at \(types[si]) \(types[ti]) \(name): ours \(ours), libsepol \(theirs)")
          return
        }
        compared += 1
      }
    }
  }
  #expect(compared == types.count * types.count * classes.count)
}
