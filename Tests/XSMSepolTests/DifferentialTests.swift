import Foundation
import Testing
import XSMTestSupport

@testable import XSMSepol

/// The same policy through CIL (libsepol) and through checkpolicy must decide
/// alike for every (source type, target type, class).
@Suite(
  "CIL vs checkpolicy",
  .enabled(
    if: Checkpolicy.shouldRun,
    "checkpolicy is not installed; set CI=true to make this a failure"))
struct DifferentialTests {
  @SepolActor
  private func table(_ binary: [UInt8], types: [String]) throws -> DecisionTable {
    try SepolOracle(binary: binary).decisionTable(types: types, classes: TinyPolicy.classes)
  }

  @Test("the tiny policy decides alike through CIL and checkpolicy")
  @SepolActor func equivalent() throws {
    let viaCIL = try TinyPolicy.compile().binary
    let viaConf = try Checkpolicy.compile(TinyPolicy.conf)

    let cilPolicy = try BinaryPolicy(binary: viaCIL)
    let confPolicy = try BinaryPolicy(binary: viaConf)
    #expect(Set(cilPolicy.typeNames) == Set(confPolicy.typeNames))
    #expect(cilPolicy.classes.map(\.name) == confPolicy.classes.map(\.name))
    #expect(cilPolicy.classes.map(\.permissions) == confPolicy.classes.map(\.permissions))
    #expect(confPolicy.summary.target == "XenFlask")
    #expect(confPolicy.initialSIDNames == cilPolicy.initialSIDNames)

    let types = cilPolicy.typeNames
    let a = try table(viaCIL, types: types)
    let b = try table(viaConf, types: types)
    #expect(a.firstDifference(from: b) == nil)
    #expect(a == b)
  }

  @Test("one changed permission is named by firstDifference")
  @SepolActor func changedPermission() throws {
    let changed = TinyPolicy.conf.replacingOccurrences(
      of: "allow dom0_t domU_t:domain { setvcpucontext pause unpause create };",
      with: "allow dom0_t domU_t:domain { setvcpucontext pause create };")
    #expect(changed != TinyPolicy.conf)
    let a = try table(TinyPolicy.compile().binary, types: TinyPolicy.types)
    let b = try table(Checkpolicy.compile(changed), types: TinyPolicy.types)
    let difference = try #require(a.firstDifference(from: b))
    #expect(difference.contains("dom0_t -> domU_t : domain"), "\(difference)")
    #expect(difference.contains("allowed"), "\(difference)")
    #expect(difference.contains("only in this table: { unpause }"), "\(difference)")
    #expect(difference.contains("only in the other: none"), "\(difference)")
  }

  @Test("one changed type_transition is named by firstDifference")
  @SepolActor func changedTransition() throws {
    let changed = TinyPolicy.conf.replacingOccurrences(
      of: "type_transition dom0_t domU_t:event evchn_t;",
      with: "type_transition dom0_t domU_t:event unlabeled_t;")
    #expect(changed != TinyPolicy.conf)
    let a = try table(TinyPolicy.compile().binary, types: TinyPolicy.types)
    let b = try table(Checkpolicy.compile(changed), types: TinyPolicy.types)
    #expect(
      a.firstDifference(from: b)
        == "dom0_t -> domU_t : event: transition differs (this table: evchn_t; the other: unlabeled_t)"
    )
  }

  @Test("a dontaudit difference is reported as auditdeny")
  @SepolActor func changedDontaudit() throws {
    let changed = TinyPolicy.conf.replacingOccurrences(
      of: "dontaudit domU_t xen_t:xen settime;", with: "")
    let a = try table(TinyPolicy.compile().binary, types: TinyPolicy.types)
    let b = try table(Checkpolicy.compile(changed), types: TinyPolicy.types)
    let difference = try #require(a.firstDifference(from: b))
    #expect(
      difference
        == "domU_t -> xen_t : xen: auditdeny differs (only in this table: none; only in the other: { settime })"
    )
  }

  @Test("version 24 binaries from both compilers decide alike")
  @SepolActor func version24() throws {
    let viaCIL = try TinyPolicy.compile(options: .init(policyVersion: 24)).binary
    let viaConf = try Checkpolicy.compile(TinyPolicy.conf, version: 24)
    #expect(try BinaryPolicy(binary: viaConf).summary.version == 24)
    let a = try table(viaCIL, types: TinyPolicy.types)
    let b = try table(viaConf, types: TinyPolicy.types)
    #expect(a.firstDifference(from: b) == nil)
  }
}
