import Testing
import XSMDiagnostics
import XSMPolicy

/// One case per diagnostic id: the source (after the shared preamble unless
/// `standalone`), the expected id, and the marker where it must point.
struct NegativeCase: CustomTestStringConvertible, Sendable {
  var id: String
  var source: String
  var standalone = false
  var mls = false
  var version = 30
  var help: String? = nil
  var testDescription: String { id }
}

let negativeCases: [NegativeCase] = [
  NegativeCase(id: "lex.unexpected-character", source: "allow dom0_t xen_t:xen 1️⃣@settime;"),
  NegativeCase(id: "lex.unterminated-string", source: "devicetreecon 1️⃣\"/soc/eth system_u:system_r:xen_t\n"),
  NegativeCase(id: "parse.expected-token", source: "allow dom0_t xen_t 1️⃣xen settime;"),
  NegativeCase(id: "parse.expected-name", source: "allow dom0_t xen_t:xen { settime 1️⃣; }"),
  NegativeCase(id: "parse.expected-statement", source: "1️⃣{ }"),
  NegativeCase(id: "parse.unknown-statement", source: "1️⃣alow dom0_t xen_t:xen settime;", help: "did you mean `allow`?"),
  NegativeCase(id: "parse.unsupported-statement", source: "1️⃣portcon tcp 80 system_u:system_r:xen_t"),
  NegativeCase(id: "parse.expected-boolean-value", source: "bool b 1️⃣yes;"),
  NegativeCase(id: "parse.expected-number", source: "pirqcon 1️⃣x system_u:system_r:xen_t"),
  NegativeCase(id: "parse.bad-number", source: "pirqcon 1️⃣0x1ffffffffffffffff system_u:system_r:xen_t"),
  NegativeCase(id: "parse.bad-range", source: "iomemcon 0x20-1️⃣0x10 system_u:system_r:xen_t"),
  NegativeCase(id: "parse.expected-string", source: "devicetreecon 1️⃣soc system_u:system_r:xen_t"),
  NegativeCase(id: "parse.empty-list", source: "allow dom0_t xen_t:xen 1️⃣{ -settime };"),
  NegativeCase(
    id: "parse.too-deep",
    source: "if (" + String(repeating: "!", count: Parser.maximumExpressionDepth) + "1️⃣!guest_ok) { allow dom0_t xen_t:xen settime; }"),
  NegativeCase(id: "parse.double-complement", source: "allow dom0_t xen_t:xen 1️⃣~~settime;"),
  NegativeCase(id: "parse.expected-constraint-operand", source: "constrain domain pause 1️⃣x1 == u2;"),
  NegativeCase(id: "parse.expected-constraint-operator", source: "constrain domain pause u1 1️⃣= u2;"),
  NegativeCase(id: "declare.duplicate", source: "type 1️⃣dom0_t;"),
  NegativeCase(id: "declare.reserved-name", source: "type 1️⃣self;"),
  NegativeCase(id: "resolve.unknown-class", source: "allow dom0_t xen_t:1️⃣xne settime;", help: "did you mean `xen`?"),
  NegativeCase(id: "resolve.unknown-permission", source: "allow dom0_t domU_t:domain { 1️⃣puase unpause };", help: "did you mean `pause`?"),
  NegativeCase(id: "resolve.unknown-type", source: "allow dom0_t 1️⃣domu_t:domain pause;", help: "did you mean `domU_t`?"),
  NegativeCase(id: "resolve.unknown-role", source: "allow system_r 1️⃣sytem_r;", help: "did you mean `system_r`?"),
  NegativeCase(id: "resolve.unknown-user", source: "sid xen 1️⃣sytem_u:system_r:xen_t", help: "did you mean `system_u`?"),
  NegativeCase(id: "resolve.unknown-boolean", source: "if (1️⃣guest_k) { allow dom0_t xen_t:xen settime; }", help: "did you mean `guest_ok`?"),
  NegativeCase(id: "resolve.unknown-sid", source: "sid 1️⃣dom1 system_u:system_r:dom0_t", help: "did you mean `dom0`?"),
  NegativeCase(id: "resolve.unknown-common", source: "class foo\nclass foo inherits 1️⃣bar { x }", help: nil),
  NegativeCase(id: "resolve.unknown-sensitivity", source: "", mls: true),
  NegativeCase(id: "resolve.unknown-category", source: "", mls: true),
  NegativeCase(id: "check.expected-type", source: "type_transition dom0_t domU_t:domain 1️⃣domain_type;"),
  NegativeCase(id: "check.expected-attribute", source: "typeattribute domU_t 1️⃣xen_t;"),
  NegativeCase(id: "check.misplaced-self", source: "allow 1️⃣self dom0_t:domain pause;"),
  NegativeCase(id: "check.statement-in-conditional", source: "if (guest_ok) { 1️⃣type foo_t; }"),
  NegativeCase(id: "check.mls-disabled", source: "1️⃣sensitivity s0;"),
  NegativeCase(id: "check.mls-range-missing", source: "", mls: true),
  NegativeCase(id: "check.mls-required", source: "", mls: true),
  NegativeCase(id: "check.mls-operand", source: "constrain domain pause 1️⃣l1 dom l2;"),
  NegativeCase(id: "check.constraint-operator", source: "constrain domain pause 1️⃣t1 dom t2;"),
  NegativeCase(id: "check.constraint-operand", source: "constrain domain pause 1️⃣u1 == r2;"),
  NegativeCase(id: "check.needs-policy-version", source: "1️⃣devicetreecon \"/soc\" system_u:system_r:xen_t", version: 24),
  NegativeCase(id: "check.invalid-context", source: "type other_t;\npirqcon 3 system_u:system_r:1️⃣other_t"),
  NegativeCase(id: "check.out-of-range", source: "1️⃣ioportcon 0x10000 system_u:system_r:xen_t"),
  NegativeCase(id: "check.class-without-permissions", source: "class 1️⃣grant", standalone: false),
  NegativeCase(id: "check.sid-without-context", source: "sid 1️⃣domio"),
  NegativeCase(id: "check.missing-declarations", source: "1️⃣type a_t;", standalone: true),
  NegativeCase(id: "check.empty-permission-set", source: "allow dom0_t xen_t:xen 1️⃣~*;"),
  NegativeCase(id: "lower.unsupported-name", source: "type 1️⃣a.b_t;"),
  NegativeCase(
    id: "check.xen-abi",
    source: "class 1️⃣foo\nsid kernel\nclass foo { bar }\ntype t;\nrole r types t;\nuser u roles r;\nsid kernel u:r:t\n",
    standalone: true),
]

@Suite("Negative cases: one per diagnostic id, with exact locations")
struct NegativeTests {
  @Test(arguments: negativeCases.filter { !$0.source.isEmpty })
  func reportsAtMarker(_ testCase: NegativeCase) throws {
    let full = testCase.standalone ? testCase.source : preamble + testCase.source + "\n"
    let located = try #require(locate(full), "case has no marker")
    let result = frontend(located.text, mls: testCase.mls, version: testCase.version)
    let matching = result.diagnostics.items.filter { $0.id.rawValue == testCase.id }
    #expect(!matching.isEmpty, "expected \(testCase.id); got \(result.diagnostics.items.map { "\($0.id)@\($0.span?.description ?? "-")" })")
    guard let first = matching.first else { return }
    #expect(first.span?.line == located.line, "\(testCase.id): line")
    #expect(first.span?.column == located.column, "\(testCase.id): column")
    #expect(first.sourceLine != nil, "diagnostic carries its source line")
    if let help = testCase.help { #expect(first.help == help) }
  }

  /// That every declared id has a negative test somewhere is DiagnosticCoverageTests' job.
  @Test func casesAreOnePerID() {
    let ids = Set(negativeCases.map(\.id))
    #expect(ids.count == negativeCases.count, "one case per id")
  }

  @Test func twoUnrelatedErrorsAreBothReported() {
    let text = preamble + "allow dom0_t domu_t:domain pause;\nallow dom0_t xen_t:xen readconsol;\n"
    let result = frontend(text)
    let ids = result.diagnostics.items.map(\.id.rawValue)
    #expect(ids.contains("resolve.unknown-type"))
    #expect(ids.contains("resolve.unknown-permission"))
  }

  @Test func parserRecoversAfterASyntaxError() {
    let text = preamble + "allow dom0_t xen_t xen settime;\nallow dom0_t xen_t:xen { setime };\ntype x_t\ntype y_t;\n"
    let result = frontend(text)
    let ids = result.diagnostics.items.map(\.id.rawValue)
    #expect(ids.filter { $0 == "parse.expected-token" }.count == 2, "\(ids)")
    #expect(ids.contains("resolve.unknown-permission"))
  }

  @Test func mlsCases() throws {
    let mlsPreamble = preamble.replacingOccurrences(of: "user system_u roles { system_r };", with: "")
      .replacingOccurrences(of: "sid xen system_u:system_r:xen_t\nsid dom0 system_u:system_r:dom0_t\n", with: "")
    let base = mlsPreamble + """
      sensitivity s0;
      sensitivity s1;
      dominance { s0 s1 }
      category c0;
      category c1;
      level s0:c0.c1;
      level s1:c0.c1;
      user system_u roles { system_r } level s0 range s0 - s1:c0.c1;
      sid xen system_u:system_r:xen_t:s0
      sid dom0 system_u:system_r:dom0_t:s0-s1:c0.c1

      """
    #expect(!frontend(base, mls: true).diagnostics.hasErrors, "\(frontend(base, mls: true).diagnostics.items)")
    let cases: [(String, String)] = [
      ("resolve.unknown-sensitivity", "level 1️⃣s9;"),
      ("resolve.unknown-category", "level s0:1️⃣c7;"),
      ("check.mls-range-missing", "pirqcon 3 system_u:system_r:1️⃣xen_t"),
    ]
    for (id, snippet) in cases {
      let located = try #require(locate(base + snippet + "\n"))
      let result = frontend(located.text, mls: true)
      let hit = result.diagnostics.items.first { $0.id.rawValue == id }
      #expect(hit?.span?.line == located.line && hit?.span?.column == located.column, "\(id): \(result.diagnostics.items)")
    }
    let noSensitivities = frontend(preamble, mls: true)
    #expect(noSensitivities.diagnostics.items.contains { $0.id.rawValue == "check.mls-required" })
  }
}
