import Testing
@testable import XSMBuild
import XSMPolicy
import XSMSepol

/// libsepol's messages about the lowered CIL name its lines in two forms;
/// both are mapped back to the policy statement the line came from.
@Suite("CIL messages mapped to policy lines")
struct CILMessageTests {
  @Test func bothFormsOfACILLineReferenceAreMappedBack() throws {
    let text = """
      class xen
      sid xen
      class xen { settime }
      type xen_t;
      allow xen_t xen_t:xen settime;
      role system_r types xen_t;
      user system_u roles system_r;
      sid xen system_u:system_r:xen_t

      """
    let cil = try #require(PolicyFrontend.run(.text(name: "p.conf", text: text), options: CheckOptions(), lower: true).cil)
    let line = try #require(cil.text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("(allow") }) + 1
    for message in [
      "Number of open parenthesis exceeds limit of 4096 at line \(line) of \(PolicyBuilder.cilName)",
      "Bad allow declaration at \(PolicyBuilder.cilName):\(line)",
    ] {
      let diagnostic = PolicyBuilder.diagnostic(for: SepolMessage(level: .error, text: message), cil: cil, severity: .error)
      #expect(diagnostic.span?.file == "p.conf" && diagnostic.span?.line == 5, "\(message): \(diagnostic.span?.description ?? "-")")
      #expect(!diagnostic.message.contains(PolicyBuilder.cilName) && !diagnostic.message.hasSuffix(" at"), "\(diagnostic.message)")
    }
  }
}
