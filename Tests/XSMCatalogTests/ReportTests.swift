import Testing
import XSMCatalog
import XSMSepol
import XSMTestSupport

@SepolActor
func vocabularyOf(_ binary: [UInt8]) throws -> PolicyVocabulary {
  let policy = try BinaryPolicy(binary: binary)
  return PolicyVocabulary(classes: Dictionary(uniqueKeysWithValues: policy.classes.map { ($0.name, $0.permissions) }))
}

/// The project policy, built once per test process.
func projectPolicyBinary() async throws -> [UInt8] { try await TestPolicies.projectBinary() }

@Suite("Split report")
struct ReportTests {
  @Test func splitReportSurfacesTheKnownDefects() throws {
    let report = SplitReport(catalog: try loadProjectCatalog())
    func has(_ kind: SplitReport.Defect.Kind, _ op: String) -> Bool {
      report.defects.contains { $0.kind == kind && $0.op == op }
    }
    // A permission checked in the wrong class.
    #expect(has(.wrongClass, "domctl.setvnumainfo"))
    let wrong = report.defects.first { $0.kind == .wrongClass }
    #expect(wrong?.check.contains("intended domain2:set_vnumainfo") == true)
    // Ops flask never classifies.
    for op in [
      "domctl.set_broken_page_p2m", "domctl.soft_reset_cont", "sysctl.dt_overlay", "platform.get_ucode_revision",
      "platform.microcode_update2", "domctl.shadow_op.enable_translate",
    ] {
      #expect(has(.unclassified, op), "\(op) is reported as unclassified")
    }
    // Checks made against the wrong subject: the caller is never checked.
    #expect(has(.callerUnchecked, "evtchn.status"))
    #expect(has(.callerUnchecked, "grant.copy"))
    // A check made for another domain although the caller is checked too.
    #expect(has(.otherSubject, "memory.add_to_physmap_batch.gmfn_foreign"))
    // Ungated privileged ops.
    #expect(has(.ungated, "memory.sharing_op.audit") || has(.ungated, "memory.reserved_device_memory_map"))
    // Every defect says why it matters.
    #expect(report.defects.allSatisfy { !$0.why.isEmpty })
    // A permission shared by ops of different classes: mmu:adjust guards mixed reservation ops.
    #expect(report.shared.contains { $0.permission == Permission("mmu", "adjust") })
  }

  @Test func everyCheckNamesAPermissionOfTheProjectPolicy() async throws {
    let binary = try await projectPolicyBinary()
    let vocabulary = try await vocabularyOf(binary)
    #expect(vocabulary.classes.count == 13)
    let problems = try loadProjectCatalog().validate(against: vocabulary)
    #expect(problems.isEmpty, "\(problems.map(\.message))")
  }
}
