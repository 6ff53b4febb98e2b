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

  /// The lexer reads UTF-8 bytes, but columns count Unicode scalars: text
  /// after a non-ASCII string or character keeps the columns it always had.
  @Test func columnsCountScalarsAfterNonASCIIText() {
    let text = "devicetreecon \"/sœc/é\" system_u\n# ü comment\né x 😀 y\n"
    var lexer = Lexer(text: text, file: "p.conf", map: SourceMap(primaryFile: "p.conf"))
    let tokens = lexer.tokenize()
    let string = tokens.first { $0.kind == .string }
    #expect(string?.text == "\"/sœc/é\"" && string?.span.column == 15 && string?.span.endColumn == 23)
    let user = tokens.first { $0.text == "system_u" }
    #expect(user?.span.column == 24 && user?.span.endColumn == 32)
    let x = tokens.first { $0.text == "x" }
    let y = tokens.first { $0.text == "y" }
    #expect(x?.span.line == 3 && x?.span.column == 3)
    #expect(y?.span.line == 3 && y?.span.column == 7)
    let unexpected = lexer.diagnostics.map { ($0.message, $0.span?.column, $0.span?.endColumn) }
    #expect(unexpected.count == 2)
    #expect(unexpected.first?.0 == "unexpected character `é`" && unexpected.first?.1 == 1 && unexpected.first?.2 == 2)
    #expect(unexpected.last?.0 == "unexpected character `😀`" && unexpected.last?.1 == 5 && unexpected.last?.2 == 6)
  }

  /// Many unexpected characters in a row are reported one by one, without
  /// the lexer calling itself once per character.
  @Test func longRunOfUnexpectedCharacters() {
    var lexer = Lexer(text: String(repeating: "@", count: 100_000) + " x", file: "p.conf", map: SourceMap(primaryFile: "p.conf"))
    let tokens = lexer.tokenize()
    #expect(lexer.diagnostics.count == 100_000)
    #expect(tokens.map(\.text) == ["x", ""])
    #expect(tokens.first?.span.column == 100_002)
  }

  /// A parser given tokens up front builds the same tree, with the same
  /// diagnostics, as one that reads them from the lexer as it goes.
  @Test func parserFromTokensMatchesParserFromText() {
    let text = preamble + """
      allow dom0_t { domU_t -xen_t }:domain { pause unpause };
      allow dom0_t xen_t:xen settime
      type_transition dom0_t domU_t:event xen_t;
      if (guest_ok) { allow domU_t self:event send; }

      """
    let map = SourceMap(primaryFile: "p.conf")
    let (fromText, textDiagnostics) = Parser.parse(text: text, file: "p.conf", map: map)
    var lexer = Lexer(text: text, file: "p.conf", map: map)
    var parser = Parser(tokens: lexer.tokenize())
    let fromTokens = parser.parsePolicy()
    #expect(fromText == fromTokens)
    #expect(textDiagnostics.map(\.span) == parser.diagnostics.map(\.span))
    #expect(textDiagnostics.count == 1)
  }

  /// MLS levels split `s0-s1` and `c0.c3` into pieces in place; every
  /// context keeps its own range however many there are.
  @Test func manyMLSRangesParse() throws {
    var text = """
      class xen
      sid xen
      class xen { settime }
      sensitivity s0;
      sensitivity s1;
      dominance { s0 s1 }
      category c0;
      category c1;
      category c2;
      category c3;
      level s0:c0.c3;
      level s1:c0.c3;
      mlsconstrain xen settime l1 dom l2;
      type xen_t;
      role system_r types xen_t;
      user system_u roles system_r level s0 range s0-s1:c0.c3;
      sid xen system_u:system_r:xen_t:s0-s1:c0.c3

      """
    for i in 0..<2000 { text += "pirqcon \(i) system_u:system_r:xen_t:s0:c0,c2-s1:c0.c3\n" }
    let result = frontend(text, mls: true)
    #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.items.prefix(3))")
    let ocontexts = try #require(result.syntax).statements.compactMap { statement -> LevelRange? in
      if case .ocontext(_, _, _, _, let context) = statement.kind { return context.range }
      return nil
    }
    #expect(ocontexts.count == 2000)
    let last = try #require(ocontexts.last)
    #expect(last.low.sensitivity.text == "s0" && last.high.sensitivity.text == "s1")
    #expect(last.low.categories.count == 2 && last.high.categories.count == 1)
    #expect(last.high.sensitivity.span.column == 47)
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
