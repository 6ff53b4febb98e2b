import Foundation
import Testing
import XSMDiagnostics
import XSMPolicy

@Suite("Lexer, parser and lowering")
struct FrontendTests {
  @Test func lineMarkersMapToOriginalFiles() {
    let text = "#line 7 \"modules/dom0.te\"\ntype a_t;\n#line 20\ntype b_t;\n#line 3 \"users\"\n  user u roles r;\n"
    var lexer = Lexer(text: text, file: "policy.conf", map: SourceMap(primaryFile: "policy.conf"))
    let tokens = lexer.tokenize()
    let a = tokens.first { $0.text == "a_t" }
    let b = tokens.first { $0.text == "b_t" }
    let u = tokens.first { $0.text == "u" }
    #expect(a?.span.file == "modules/dom0.te" && a?.span.line == 7 && a?.span.column == 6)
    #expect(b?.span.file == "modules/dom0.te" && b?.span.line == 20)
    #expect(u?.span.file == "users" && u?.span.line == 3 && u?.span.column == 8)
  }

  @Test func parsesEveryStatementKind() {
    let text = preamble + """
      common file { read write }
      typealias domU_t alias { guest_t vm_t };
      attribute other_attr;
      typeattribute domU_t other_attr;
      permissive domU_t;
      allow system_r system_r;
      if (guest_ok || !guest_ok && guest_ok == guest_ok) { allow domU_t self:domain pause; } else { auditallow domU_t self:domain pause; }
      neverallow domU_t ~domain_type:domain create;
      dontaudit * { domain_type -dom0_t }:domain ~{ pause };
      type_transition dom0_t domU_t:event xen_t;
      type_member dom0_t domU_t:event xen_t;
      type_change dom0_t domU_t:event xen_t;
      constrain domain { pause unpause } (u1 == u2 or t1 == { dom0_t domU_t }) and not r1 == system_r;
      validatetrans domain (t1 == t3);
      pirqcon 33 system_u:system_r:xen_t
      ioportcon 0x60-0x64 system_u:system_r:xen_t
      iomemcon 0xfe000 system_u:system_r:xen_t
      pcidevicecon 0xc800 system_u:system_r:xen_t
      devicetreecon "/soc/eth@1" system_u:system_r:xen_t

      """
    let result = frontend(text)
    #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.items)")
    #expect(result.cil != nil)
    let syntax = result.syntax!
    #expect(syntax.statements.count > 30)
  }

  @Test func spansAreIgnoredByEquality() {
    let a = frontend(preamble + "allow dom0_t xen_t:xen settime;\n").syntax!
    let b = frontend("\n\n" + preamble + "   allow   dom0_t xen_t : xen settime ;\n").syntax!
    #expect(a == b)
  }

  @Test func loweringExpandsSetsAndPermissions() throws {
    let text = preamble + """
      allow dom0_t { domain_type -dom0_t }:domain ~pause;
      allow domain_type self:event *;
      type_transition domain_type self:event xen_t;

      """
    let result = frontend(text)
    let cil = try #require(result.cil).text
    #expect(cil.contains("(allow dom0_t xsm_set_2 (domain (unpause create getdomaininfo)))"))
    #expect(cil.contains("(typeattributeset xsm_set_2 (and (domain_type) (not (dom0_t))))"))
    #expect(cil.contains("(allow domain_type self (event (bind send create)))"))
    #expect(cil.contains("(typetransition dom0_t dom0_t event xen_t)"))
    #expect(cil.contains("(typetransition domU_t domU_t event xen_t)"))
  }

  @Test func diagnosticsRenderWithCaretAndHelp() throws {
    let text = preamble + "allow dom0_t domU_t:domain { puase };\n"
    let result = frontend(text)
    let rendered = DiagnosticRenderer(format: .human).render(result.diagnostics)
    let line = preamble.count { $0 == "\n" } + 1
    #expect(rendered.contains("test.conf:\(line):30: error[resolve.unknown-permission]: unknown permission `puase` in class `domain`"))
    #expect(rendered.contains("allow dom0_t domU_t:domain { puase };"))
    #expect(rendered.contains("                             ^^^^^ not a permission of `domain`"))
    #expect(rendered.contains("= help: did you mean `pause`?"))
    let json = DiagnosticRenderer(format: .json).render(result.diagnostics)
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    let first = (object?["diagnostics"] as? [[String: Any]])?.first { $0["severity"] as? String == "error" }
    #expect(first?["id"] as? String == "resolve.unknown-permission")
    #expect((first?["span"] as? [String: Any])?["column"] as? Int == 30)
  }

  @Test func repeatedDiagnosticsCountOnce() {
    let diagnostic = Diagnostic(.resolve.unknownType, .error, "unknown type `x`",
      span: SourceSpan(file: "a.te", line: 3, column: 7))
    var list = DiagnosticList([diagnostic, diagnostic])
    list.append(diagnostic)
    #expect(list.count == 1 && list.errorCount == 1)
    #expect(DiagnosticRenderer(format: .plain).render(list).hasSuffix("1 error generated\n"))
  }

  @Test func maxErrorsCapsOutput() {
    var text = preamble
    for i in 0..<5 { text += "allow dom0_t missing\(i)_t:domain pause;\n" }
    let result = frontend(text)
    let rendered = DiagnosticRenderer(format: .plain, maxErrors: 2).render(result.diagnostics)
    #expect(rendered.contains("3 more errors not shown"))
  }

  @Test func fuzzedInputNeverCrashes() {
    var rng = SplitMix(seed: 42)
    let pieces = ["allow", "type", "{", "}", ";", ":", "~", "*", "-", "dom0_t", "xen", "if", "(", ")", "class", "sid",
      "constrain", "u1", "==", "s0", "c0.c3", "\"x", "0x1f", "user", "roles", "level", "range", "#line 3 \"f\"\n", "\n"]
    for _ in 0..<300 {
      var text = preamble
      for _ in 0..<Int(rng.next() % 40) { text += pieces[Int(rng.next() % UInt64(pieces.count))] + " " }
      _ = frontend(text)
    }
  }
}

/// A seeded generator for repeatable random inputs.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
