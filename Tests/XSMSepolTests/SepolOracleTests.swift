import Foundation
import Testing

@testable import XSMSepol

@Suite("SepolOracle")
struct SepolOracleTests {
  typealias AV = SepolOracle.AccessVector

  @Test("compute_av answers the tiny policy's rules")
  @SepolActor func decisions() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile().binary)
    // setvcpucontext is removed by `constrain domain setvcpucontext t1 == t2`.
    #expect(
      try oracle.computeAV(source: "dom0_t", target: "domU_t", class: "domain")
        == AV(allowed: 0b01110, auditAllow: 0b01000, auditDeny: ~0))
    #expect(
      try oracle.computeAV(source: "dom0_t", target: "dom0_t", class: "domain").allowed
        == 0b00011)
    // readconsole via the attribute, tbufcontrol via the false boolean's else
    // branch, settime dontaudit-ed.
    #expect(
      try oracle.computeAV(source: "domU_t", target: "xen_t", class: "xen")
        == AV(allowed: 0b0110, auditAllow: 0, auditDeny: ~UInt32(1)))
    #expect(
      try oracle.computeAV(source: "xen_t", target: "dom0_t", class: "domain").allowed == 0)
  }

  @Test("transitions follow type_transition, else libsepol's defaults")
  @SepolActor func transitions() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile().binary)
    #expect(try oracle.transition(source: "dom0_t", target: "domU_t", class: "event") == "evchn_t")
    #expect(try oracle.transition(source: "dom0_t", target: "domU_t", class: "domain") == "domU_t")
    // class domain is libsepol's process class for Xen: default = source type.
    #expect(try oracle.transition(source: "domU_t", target: "dom0_t", class: "domain") == "domU_t")
    // any other class: default = target type.
    #expect(try oracle.transition(source: "domU_t", target: "dom0_t", class: "event") == "dom0_t")
  }

  @Test("full contexts are accepted as-is")
  @SepolActor func fullContexts() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile().binary)
    #expect(
      try oracle.computeAV(
        source: "system_u:system_r:dom0_t", target: "system_u:object_r:domU_t", class: "domain"
      ).allowed == 0b01110)
  }

  @Test("MLS policies get the lowest sensitivity in every context")
  @SepolActor func mls() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile(options: .init(mls: true)).binary)
    #expect(
      try oracle.computeAV(source: "dom0_t", target: "domU_t", class: "domain").allowed
        == 0b01110)
    #expect(try oracle.transition(source: "dom0_t", target: "domU_t", class: "event") == "evchn_t")
  }

  @Test("unknown classes and types are typed errors")
  @SepolActor func badNames() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile().binary)
    let cls = #expect(throws: SepolError.self) {
      try oracle.computeAV(source: "dom0_t", target: "domU_t", class: "nosuch")
    }
    #expect(cls?.id.rawValue == "sepol.unknown-class")
    let type = #expect(throws: SepolError.self) {
      try oracle.computeAV(source: "nosuch_t", target: "domU_t", class: "domain")
    }
    #expect(type?.id.rawValue == "sepol.invalid-context")
    #expect(type?.messages.isEmpty == false, "libsepol's complaint is captured")
    let permission = #expect(throws: SepolError.self) {
      try oracle.allows(source: "dom0_t", target: "domU_t", class: "domain", permission: "puase")
    }
    #expect(permission?.id.rawValue == "sepol.unknown-permission")
    #expect(permission?.message == "class `domain` has no permission `puase`")
  }

  @Test("garbage is rejected")
  @SepolActor func garbage() {
    let error = #expect(throws: SepolError.self) {
      try SepolOracle(binary: [UInt8](repeating: 0x41, count: 200))
    }
    #expect(error?.id.rawValue == "sepol.policy-read-failed")
  }

  @Test("two oracles take turns in the global server without mixing answers")
  @SepolActor func twoOracles() throws {
    let a = try SepolOracle(binary: TinyPolicy.compile().binary)
    let b = try SepolOracle(
      binary: TinyPolicy.compile(
        TinyPolicy.cil.replacingOccurrences(
          of: "(boolean allow_console false)", with: "(boolean allow_console true)")
      ).binary)
    for _ in 0..<3 {
      // a: else branch (tbufcontrol); b: true branch (clearconsole).
      #expect(try a.computeAV(source: "domU_t", target: "xen_t", class: "xen").allowed == 0b0110)
      #expect(try b.computeAV(source: "domU_t", target: "xen_t", class: "xen").allowed == 0b1100)
    }
    var c: SepolOracle? = try SepolOracle(binary: TinyPolicy.compile().binary)
    #expect(try c?.computeAV(source: "domU_t", target: "xen_t", class: "xen").allowed == 0b0110)
    c = nil  // the installed oracle goes away; the next call must reinstall.
    #expect(try b.computeAV(source: "domU_t", target: "xen_t", class: "xen").allowed == 0b1100)
  }

  @Test("the decision table agrees with single calls")
  @SepolActor func tableMatchesCalls() throws {
    let oracle = try SepolOracle(binary: TinyPolicy.compile().binary)
    let table = try oracle.decisionTable(types: TinyPolicy.types, classes: TinyPolicy.classes)
    #expect(table.vectors.count == 5 * 5 * 3)
    #expect(table.permissions[1] == ["setvcpucontext", "pause", "unpause", "create", "transition"])
    for s in TinyPolicy.types {
      for t in TinyPolicy.types {
        for c in TinyPolicy.classes {
          #expect(
            table.vector(source: s, target: t, class: c)
              == (try oracle.computeAV(source: s, target: t, class: c)))
          #expect(
            table.transition(source: s, target: t, class: c)
              == (try oracle.transition(source: s, target: t, class: c)))
        }
      }
    }
    #expect(table.firstDifference(from: table) == nil)
  }
}
