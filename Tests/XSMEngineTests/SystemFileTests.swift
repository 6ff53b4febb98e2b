import Foundation
import Testing
import XSMDiagnostics
import XSMEngine

/// The package root, found from this file's path.
private let systemTestsRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { url.deleteLastPathComponent() }
  return url.path
}()

/// Text written in a test with `1️⃣` where a diagnostic must point: the
/// text without the marker, and the marker's line and column.
private func unmark(_ text: String, file: String) -> (String, SourceSpan?) {
  var marked: SourceSpan?
  var clean: [String] = []
  for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    if let r = line.range(of: "1️⃣") {
      marked = SourceSpan(file: file, line: i + 1, column: line.distance(from: line.startIndex, to: r.lowerBound) + 1)
      clean.append(String(line.replacingCharacters(in: r, with: "")))
    } else {
      clean.append(String(line))
    }
  }
  return (clean.joined(separator: "\n"), marked)
}

private func describe(_ diagnostics: [Diagnostic]) -> String {
  diagnostics.map { "\($0.span?.description ?? "-"): \($0.severity.rawValue)[\($0.id)]: \($0.message)" }
    .joined(separator: "\n")
}

/// Checks that `diagnostics` has one with `id` at `marked`, carrying its source line unless `withSourceLine` is false.
private func expectLocated(
  _ diagnostics: [Diagnostic], _ id: String, at marked: SourceSpan?, withSourceLine: Bool = true,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let match = diagnostics.first { $0.id.rawValue == id }
  #expect(match != nil, "expected \(id), got:\n\(describe(diagnostics))", sourceLocation: sourceLocation)
  guard let match, let marked else { return }
  #expect(
    match.span?.file == marked.file && match.span?.line == marked.line && match.span?.column == marked.column,
    "\(id) at \(match.span?.description ?? "-"), expected \(marked)", sourceLocation: sourceLocation)
  #expect(!withSourceLine || match.sourceLine != nil, "\(id) carries its source line", sourceLocation: sourceLocation)
}

@Suite("SystemFile")
struct SystemFileTests {
  // MARK: TOML subset

  @Test func tomlValuesOfEverySupportedKind() throws {
    let text = """
      # a comment
      title = "x\\ty \\"q\\" \\u00e9 \\U0001F600 \\\\"   # trailing comment
      lit = 'C:\\path\\n'
      "quoted key" = 1
      hex = 0x7f_f0
      neg = -42
      big = 1_000
      plus = +7
      oct = 0o17
      bin = 0b101
      yes = true
      no = false
      arr = [
        1, # one
        2,
      ]
      nested = [[1, 2], ["a"], []]
      inline = { a = 1, b.c = "d" }
      empty = {}
      site.name = "x"
      site."the port" = 80

      [t]
      k = "v"

      [a.b]
      z = 1

      [a]
      y = 2

      [[arr2]]
      n = 1

      [[arr2]]
      n = 2
      [arr2.sub]
      q = 3
      """
    let (table, diagnostics) = TOMLParser.parse(text: text, file: "t.toml")
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    let root = try #require(table)
    #expect(root["title"]?.stringValue == "x\ty \"q\" é 😀 \\")
    #expect(root["lit"]?.stringValue == "C:\\path\\n")
    #expect(root["quoted key"]?.intValue == 1)
    #expect(root["hex"]?.intValue == 0x7ff0)
    #expect(root["neg"]?.intValue == -42)
    #expect(root["big"]?.intValue == 1000)
    #expect(root["plus"]?.intValue == 7)
    #expect(root["oct"]?.intValue == 15)
    #expect(root["bin"]?.intValue == 5)
    #expect(root["yes"]?.boolValue == true)
    #expect(root["no"]?.boolValue == false)
    #expect(root["arr"]?.arrayValue?.compactMap(\.intValue) == [1, 2])
    let nested = try #require(root["nested"]?.arrayValue)
    #expect(nested.count == 3 && nested[0].arrayValue?.count == 2 && nested[1].arrayValue?.first?.stringValue == "a")
    let inline = try #require(root["inline"]?.tableValue)
    #expect(inline["a"]?.intValue == 1)
    #expect(inline["b"]?.tableValue?["c"]?.stringValue == "d")
    #expect(root["empty"]?.tableValue?.entries.isEmpty == true)
    #expect(root["site"]?.tableValue?["name"]?.stringValue == "x")
    #expect(root["site"]?.tableValue?["the port"]?.intValue == 80)
    #expect(root["t"]?.tableValue?["k"]?.stringValue == "v")
    let a = try #require(root["a"]?.tableValue)
    #expect(a["y"]?.intValue == 2 && a["b"]?.tableValue?["z"]?.intValue == 1)
    let arr2 = try #require(root["arr2"]?.arrayValue)
    #expect(arr2.count == 2)
    #expect(arr2[0].tableValue?["n"]?.intValue == 1)
    #expect(arr2[1].tableValue?["n"]?.intValue == 2)
    #expect(arr2[1].tableValue?["sub"]?.tableValue?["q"]?.intValue == 3)
    #expect(root.keys.prefix(4) == ["title", "lit", "quoted key", "hex"], "entries keep source order")

    // Spans: keys and values, strings with their quotes, multi-line arrays, headers.
    let title = try #require(root.entry("title"))
    #expect(title.keySpan == SourceSpan(file: "t.toml", line: 2, column: 1, endColumn: 6))
    #expect(title.value.span.line == 2 && title.value.span.column == 9)
    #expect(root.entry("quoted key")?.keySpan == SourceSpan(file: "t.toml", line: 4, column: 1, endColumn: 13))
    #expect(root["hex"]?.span == SourceSpan(file: "t.toml", line: 5, column: 7, endColumn: 14))
    #expect(root["arr"]?.span == SourceSpan(file: "t.toml", line: 13, column: 7, endLine: 16, endColumn: 2))
    #expect(root["inline"]?.span == SourceSpan(file: "t.toml", line: 18, column: 10, endColumn: 30))
    #expect(root["t"]?.span == SourceSpan(file: "t.toml", line: 23, column: 1, endColumn: 4))
    #expect(a.span == SourceSpan(file: "t.toml", line: 29, column: 1, endColumn: 4), "an implicit table takes its header's span")
    #expect(arr2[1].span == SourceSpan(file: "t.toml", line: 35, column: 1, endColumn: 9))
    #expect(root.span == SourceSpan(file: "t.toml", line: 1, column: 1))
  }

  @Test func tomlCRLFAndBOM() throws {
    let (table, diagnostics) = TOMLParser.parse(text: "\u{FEFF}a = 1\r\nb = \"x\"\r\n", file: "crlf.toml")
    #expect(diagnostics.isEmpty)
    #expect(table?["b"]?.stringValue == "x")
    #expect(table?["b"]?.span.line == 2)
    let (_, errors) = TOMLParser.parse(text: "a = 1\r\nb = x\r\n", file: "crlf.toml")
    expectLocated(errors, "toml.expected-value", at: SourceSpan(file: "crlf.toml", line: 2, column: 5))
  }

  /// Each case: a TOML text with `1️⃣` where the error must point, and its id.
  static let tomlErrors: [(String, String, String)] = [
    ("unterminated basic string", "a = 1\nb = 1️⃣\"abc\n", "toml.unterminated-string"),
    ("unterminated literal string", "b = 1️⃣'abc", "toml.unterminated-string"),
    ("unterminated key string", "1️⃣\"abc = 1", "toml.unterminated-string"),
    ("unknown escape", "a = \"x1️⃣\\q\"", "toml.bad-escape"),
    ("short unicode escape", "a = \"1️⃣\\u12\"", "toml.bad-escape"),
    ("surrogate escape", "a = \"1️⃣\\uD800\"", "toml.bad-escape"),
    ("trailing underscore", "a = 1️⃣12_", "toml.bad-number"),
    ("double underscore", "a = 1️⃣1__2", "toml.bad-number"),
    ("empty hex", "a = 1️⃣0x", "toml.bad-number"),
    ("bad hex digit", "a = 1️⃣0xZZ", "toml.bad-number"),
    ("bad binary digit", "a = 1️⃣0b102", "toml.bad-number"),
    ("leading zero", "a = 1️⃣012", "toml.bad-number"),
    ("overflow", "a = 1️⃣99999999999999999999", "toml.bad-number"),
    ("letters in number", "a = 1️⃣12abc", "toml.bad-number"),
    ("float", "a = 1️⃣1.5", "toml.unsupported"),
    ("exponent", "a = 1️⃣1e5", "toml.unsupported"),
    ("date", "a = 1️⃣1979-05-27", "toml.unsupported"),
    ("inf", "a = 1️⃣inf", "toml.unsupported"),
    ("multi-line string", "a = 1️⃣\"\"\"x\"\"\"", "toml.unsupported"),
    ("duplicate key", "a = 1\n1️⃣a = 2", "toml.duplicate-key"),
    ("duplicate quoted key", "a = 1\n1️⃣\"a\" = 2", "toml.duplicate-key"),
    ("table reopened after a sub-table", "[t]\na = 1\n[u]\na = 1\n[t.v]\n[t]\n", "toml.duplicate-table"),
    ("duplicate key in inline table", "a = { b = 1, 1️⃣b = 2 }", "toml.duplicate-key"),
    ("dotted key through a value", "a = 1\n1️⃣a.b = 2", "toml.duplicate-key"),
    ("header over a key of a table", "[t]\nx = 1\n[t.x]\n", "toml.duplicate-table"),
    ("missing equals before value", "name 1️⃣\"x\"", "toml.expected-equals"),
    ("missing equals at end of line", "name1️⃣\n", "toml.expected-equals"),
    ("missing value", "a = 1️⃣\n", "toml.expected-value"),
    ("missing value before comment", "a = 1️⃣# nothing", "toml.expected-value"),
    ("bare word", "module = 1️⃣flask", "toml.expected-value"),
    ("capital boolean", "a = 1️⃣True", "toml.expected-value"),
    ("comma as value", "a = [1, 1️⃣,]", "toml.expected-value"),
    ("table defined twice", "[a]\nx = 1\n1️⃣[a]\n", "toml.duplicate-table"),
    ("table then array of tables", "[a]\n1️⃣[[a]]\n", "toml.duplicate-table"),
    ("array of tables then table", "[[a]]\n1️⃣[a]\n", "toml.duplicate-table"),
    ("header through a value", "a = 1\n[1️⃣a.b]\n", "toml.duplicate-table"),
    ("header over a value", "a = 1\n1️⃣[a]\n", "toml.duplicate-table"),
    ("header over an inline table", "a = {}\n1️⃣[[a]]\n", "toml.duplicate-table"),
    ("header over a dotted table", "a.b = 1\n1️⃣[a]\n", "toml.duplicate-table"),
    ("unterminated array", "a = 1️⃣[1, 2\n", "toml.unterminated-array"),
    ("missing comma in array", "a = [1 1️⃣2]", "toml.expected-comma"),
    ("unterminated inline table", "a = 1️⃣{ b = 1\nc = 2", "toml.unterminated-table"),
    ("missing comma in inline table", "a = { b = 1 1️⃣c = 2 }", "toml.expected-comma"),
    ("trailing comma in inline table", "a = { b = 1, 1️⃣}", "toml.expected-key"),
    ("text after value", "a = 1 1️⃣2", "toml.unexpected-text"),
    ("text after header", "[a] 1️⃣b", "toml.unexpected-text"),
    ("unclosed header", "[a1️⃣\n", "toml.bad-header"),
    ("unclosed array header", "[[a1️⃣]\n", "toml.bad-header"),
    ("line starting with =", "1️⃣= 1", "toml.expected-key"),
    ("empty header", "[1️⃣]", "toml.expected-key"),
  ]

  @Test(arguments: tomlErrors.map(\.0))
  func tomlErrorIsLocated(_ name: String) {
    let (_, marked, id) = Self.tomlErrors.first { $0.0 == name }!
    var (text, at) = unmark(marked, file: "e.toml")
    if at == nil {
      // Cases without a marker point at the last header of the text.
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      let last = lines.lastIndex { $0.hasPrefix("[") }!
      at = SourceSpan(file: "e.toml", line: last + 1, column: 1)
    }
    let (table, diagnostics) = TOMLParser.parse(text: text, file: "e.toml")
    #expect(table == nil, "a document with errors is not returned")
    expectLocated(diagnostics, id, at: at)
    #expect(diagnostics.allSatisfy { $0.severity == .error })
  }

  @Test func tomlDuplicateKeyNotesTheFirst() throws {
    let (_, diagnostics) = TOMLParser.parse(text: "a = 1\nb = 2\na = 3\n", file: "d.toml")
    let d = try #require(diagnostics.first)
    #expect(d.id.rawValue == "toml.duplicate-key" && d.message == "key `a` is defined twice")
    #expect(d.notes.first?.span == SourceSpan(file: "d.toml", line: 1, column: 1, endColumn: 2))
  }

  @Test func tomlRecoversAfterAnErrorInsideAMultiLineArray() {
    let text = "a = [1,\n  x,\n  2]\nb = \"ok\nc = 3 4\n"
    let (_, diagnostics) = TOMLParser.parse(text: text, file: "r.toml")
    #expect(diagnostics.map(\.id.rawValue) == ["toml.expected-value", "toml.unterminated-string", "toml.unexpected-text"],
      "\(describe(diagnostics))")
    #expect(diagnostics.map { $0.span?.line } == [2, 4, 5])
  }

  @Test func tomlHelpForCommonMistakes() {
    let (_, bare) = TOMLParser.parse(text: "module = flask", file: "h.toml")
    #expect(bare.first?.help == "a string is written in quotes: `\"flask\"`")
    let (_, capital) = TOMLParser.parse(text: "enforcing = True", file: "h.toml")
    #expect(capital.first?.help?.contains("lower case") == true)
  }

  // MARK: The example systems

  @Test func defaultSystemDecodes() throws {
    let path = systemTestsRoot + "/examples/systems/default.toml"
    let (spec, diagnostics) = SystemFile.load(path: path)
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    let s = try #require(spec)
    #expect(s.name == "default" && s.module == .flask && s.enforcing && !s.mls)
    #expect(s.policy == "embedded" && s.usesEmbeddedPolicy)
    #expect(s.file == path)
    #expect(s.booleans == [
      "guest_writeconsole": true, "prot_doms_locked": false, "policy_frozen": false, "dom0_live_update": true,
      "guest_vpmu": false,
    ])
    #expect(s.booleanSpans["guest_vpmu"]?.column == 1)
    #expect(s.domains.map(\.domid) == Array(0...11))
    #expect(Set(s.domains.map(\.name)).count == 12)

    let rows = s.domains.map { d in
      "\(d.domid) \(d.name) \(d.context) \(d.flags.map(\.rawValue).sorted().joined(separator: "+")) \(d.target ?? "-")"
    }
    #expect(rows == [
      "0 dom0 system_u:system_r:dom0_t control+hardware -",
      "1 xenstore system_u:system_r:xenstore_t xenstore -",
      "2 netdrv system_u:system_r:nic_dev_t  -",
      "3 web-dm user_1:vm_r:dm_dom_t  web",
      "4 db user_1:vm_r:domU_t  -",
      "5 web user_1:vm_r:domU_t  -",
      "6 ci user_2:vm_r:domU_t  -",
      "7 ci-dm user_2:vm_r:dm_dom_t  dom6",
      "8 desktop user_2:vm_r:domU_t  -",
      "9 vault user_3:vm_r:isolated_domU_t  -",
      "10 ledger user_3:vm_r:prot_domU_t  -",
      "11 appliance system_u:system_r:nomigrate_t  -",
    ])
    #expect(s.domains.filter(\.isControl).map(\.domid) == [0])
    #expect(s.domains.filter(\.isHardware).map(\.domid) == [0])
    #expect(s.domains.filter(\.isXenstore).map(\.domid) == [1])
    #expect(s.domains.allSatisfy { $0.iommu == .intremap })

    // The question the README starts with: dom3 is the device model of dom5.
    let dm = try #require(s.domain(named: "dom3"))
    #expect(dm.name == "web-dm" && s.target(of: dm)?.domid == 5)
    #expect(s.domain(named: "ci-dm").flatMap { s.target(of: $0) }?.name == "ci")
    #expect(s.domain(named: "dom0")?.domid == 0 && s.domain(named: "dom12") == nil)

    // Every domain keeps where its header and context are written.
    for d in s.domains {
      #expect(d.spans[""]?.column == 1 && d.spans["context"] != nil && d.spans["domid"] != nil)
    }
    #expect(s.domains[0].spans["flags.hardware"] != nil)
  }

  @Test func defaultSystemLabelsNameTypesAndUsersOfTheProjectPolicy() throws {
    let (spec, _) = SystemFile.load(path: systemTestsRoot + "/examples/systems/default.toml")
    let s = try #require(spec)
    let modules = try FileManager.default.contentsOfDirectory(atPath: systemTestsRoot + "/policy/modules")
      .filter { $0.hasSuffix(".te") }
      .map { try String(contentsOfFile: systemTestsRoot + "/policy/modules/" + $0, encoding: .utf8) }
      .joined(separator: "\n")
    let users = try String(contentsOfFile: systemTestsRoot + "/policy/users", encoding: .utf8)
    for d in s.domains {
      let parts = d.context.split(separator: ":").map(String.init)
      #expect(modules.contains("domain_decl(\(parts[2]))"), "\(d.name): type \(parts[2]) is declared by a module")
      #expect(users.contains("declare_user(\(parts[0]), \(parts[1])"), "\(d.name): user \(parts[0]) has role \(parts[1])")
    }
  }

  @Test func siloArmSystemDecodes() throws {
    let (spec, diagnostics) = SystemFile.load(path: systemTestsRoot + "/examples/systems/silo-arm.toml")
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    let s = try #require(spec)
    #expect(s.module == .silo && s.name == "silo-arm" && s.enforcing)
    #expect(s.domains.map(\.name) == ["dom0", "netdrv", "guest1", "guest2"])
    #expect(s.domains.filter(\.isControl).map(\.name) == ["dom0"])
    #expect(s.domain(named: "netdrv")?.iommu == .nointremap)
  }

  @Test func defaultsOfAMinimalSystem() throws {
    let text = """
      module = "dummy"
      [[domain]]
      domid = 0
      name = "dom0"
      flags = ["control", "hardware"]
      [[domain]]
      domid = 4
      name = "hvm"
      [[domain]]
      domid = 5
      name = "dm"
      target = "dom4"
      [[domain]]
      domid = 6
      name = "xs"
      flags = ["xenstore"]
      """
    let (spec, diagnostics) = SystemFile.parse(text: text, file: "/tmp/hosts/lab.toml")
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    let s = try #require(spec)
    #expect(s.name == "lab", "the name defaults to the file's base name")
    #expect(s.enforcing && !s.mls && s.policy == nil && s.usesEmbeddedPolicy && s.booleans.isEmpty)
    #expect(s.domains.map(\.context) == [
      "system_u:system_r:dom0_t", "system_u:system_r:domU_t", "system_u:system_r:dm_dom_t", "system_u:system_r:domU_t",
    ])
    #expect(s.domains.allSatisfy { $0.spans["context"] == nil }, "a defaulted context has no span")
    #expect(s.domains.allSatisfy { $0.iommu == .intremap })
    #expect(s.spans[""] == SourceSpan(file: "/tmp/hosts/lab.toml", line: 1, column: 1))
    #expect(s.spans["module"]?.column == 10)
  }

  @Test func severalControlAndXenstoreDomainsAreAllowed() throws {
    let text = """
      module = "dummy"
      [[domain]]
      domid = 0
      name = "a"
      flags = ["control", "xenstore"]
      [[domain]]
      domid = 1
      name = "b"
      flags = ["control", "xenstore"]
      """
    let (spec, diagnostics) = SystemFile.parse(text: text, file: "s.toml")
    #expect(diagnostics.isEmpty && spec?.domains.filter(\.isControl).count == 2)
  }

  @Test func specRoundTripsThroughJSON() throws {
    let (spec, _) = SystemFile.load(path: systemTestsRoot + "/examples/systems/default.toml")
    let s = try #require(spec)
    let data = try JSONEncoder().encode(s)
    #expect(try JSONDecoder().decode(SystemSpec.self, from: data) == s)
  }

  @Test func loadReportsUnreadableFiles() {
    let (spec, diagnostics) = SystemFile.load(path: "/nonexistent/system.toml")
    #expect(spec == nil && diagnostics.map(\.id.rawValue) == ["system.io"])
    let (dirSpec, dirDiagnostics) = SystemFile.load(path: systemTestsRoot)
    #expect(dirSpec == nil && dirDiagnostics.map(\.id.rawValue) == ["system.io"])
  }

  // MARK: System diagnostics

  static let base = """
    module = "flask"

    [[domain]]
    domid = 0
    name = "dom0"
    context = "system_u:system_r:dom0_t"
    flags = ["control", "hardware"]

    [[domain]]
    domid = 1
    name = "guest"
    context = "system_u:system_r:domU_t"

    [[domain]]
    domid = 2
    name = "guest-dm"
    context = "system_u:system_r:dm_dom_t"
    target = "guest"
    """

  /// Each case: an edit of `base` (original, replacement with `1️⃣`) and the id it must raise there.
  static let systemErrors: [(String, String, String, String)] = [
    ("unknown top-level key", "module = \"flask\"", "module = \"flask\"\n1️⃣modle = 1", "system.unknown-key"),
    ("unknown domain key", "name = \"guest\"\n", "name = \"guest\"\n1️⃣contxt = \"x:y:z\"\n", "system.unknown-key"),
    ("top-level key inside a domain", "target = \"guest\"", "target = \"guest\"\n1️⃣enforcing = false",
      "system.unknown-key"),
    ("wrong type of a boolean", "module = \"flask\"", "module = \"flask\"\nenforcing = 1️⃣\"false\"", "system.wrong-type"),
    ("wrong type of mls", "module = \"flask\"", "module = \"flask\"\nmls = 1️⃣1", "system.wrong-type"),
    ("wrong type of domid", "domid = 1", "domid = 1️⃣\"1\"", "system.wrong-type"),
    ("wrong type of name", "name = \"guest\"\n", "name = 1️⃣[\"guest\"]\n", "system.wrong-type"),
    ("wrong type of flags", "flags = [\"control\", \"hardware\"]", "flags = 1️⃣\"control\"", "system.wrong-type"),
    ("wrong type of a flag", "flags = [\"control\", \"hardware\"]", "flags = [\"control\", 1️⃣0]", "system.wrong-type"),
    ("wrong type of target", "target = \"guest\"", "target = 1️⃣1", "system.wrong-type"),
    ("wrong type of module", "module = \"flask\"", "module = 1️⃣3", "system.wrong-type"),
    ("wrong type of policy", "module = \"flask\"", "module = \"flask\"\npolicy = 1️⃣true", "system.wrong-type"),
    ("wrong type of a boolean value", "module = \"flask\"", "module = \"flask\"\n[booleans]\nguest_vpmu = 1️⃣\"yes\"",
      "system.wrong-type"),
    ("booleans not a table", "module = \"flask\"", "module = \"flask\"\nbooleans = 1️⃣[]", "system.wrong-type"),
    ("missing module", "module = \"flask\"", "1️⃣", "system.missing-key"),
    ("missing domid", "[[domain]]\ndomid = 1\n", "1️⃣[[domain]]\n", "system.missing-key"),
    ("missing name", "domid = 1\nname = \"guest\"\n", "domid = 1\n", "system.missing-key"),
    ("missing context under flask", "context = \"system_u:system_r:domU_t\"\n", "", "system.missing-key"),
    ("unknown module", "module = \"flask\"", "module = 1️⃣\"flsk\"", "system.unknown-module"),
    ("unknown flag", "flags = [\"control\", \"hardware\"]", "flags = [\"control\", 1️⃣\"hardwre\"]",
      "system.unknown-flag"),
    ("unknown iommu mode", "name = \"guest\"\n", "name = \"guest\"\niommu = 1️⃣\"intremapp\"\n", "system.unknown-iommu"),
    ("unknown domain kind", "name = \"guest\"\n", "name = \"guest\"\nkind = 1️⃣\"hvmm\"\n", "system.unknown-kind"),
    ("wrong type of kind", "name = \"guest\"\n", "name = \"guest\"\nkind = 1️⃣2\n", "system.wrong-type"),
    ("domid too large", "domid = 1", "domid = 1️⃣32752", "system.bad-domid"),
    ("negative domid", "domid = 1", "domid = 1️⃣-1", "system.bad-domid"),
    ("duplicate domid", "domid = 2", "domid = 1️⃣0", "system.duplicate-domid"),
    ("duplicate name", "name = \"guest-dm\"", "name = 1️⃣\"guest\"", "system.duplicate-name"),
    ("name of another domid", "name = \"guest\"\n", "name = 1️⃣\"dom7\"\n", "system.bad-name"),
    ("empty name", "name = \"guest\"\n", "name = 1️⃣\"\"\n", "system.bad-name"),
    ("name with a space", "name = \"guest\"\n", "name = 1️⃣\"my guest\"\n", "system.bad-name"),
    ("empty system name", "module = \"flask\"", "module = \"flask\"\nname = 1️⃣\"\"", "system.bad-name"),
    ("bad context", "context = \"system_u:system_r:domU_t\"", "context = 1️⃣\"domU_t\"", "system.bad-context"),
    ("context with an empty field", "context = \"system_u:system_r:domU_t\"", "context = 1️⃣\"system_u::domU_t\"",
      "system.bad-context"),
    ("empty policy path", "module = \"flask\"", "module = \"flask\"\npolicy = 1️⃣\"\"", "system.bad-policy"),
    ("target naming no domain", "target = \"guest\"", "target = 1️⃣\"gest\"", "system.unknown-target"),
    ("target naming no domid", "target = \"guest\"", "target = 1️⃣\"dom9\"", "system.unknown-target"),
    ("target naming itself", "target = \"guest\"", "target = 1️⃣\"guest-dm\"", "system.self-target"),
    ("target naming its own domid", "target = \"guest\"", "target = 1️⃣\"dom2\"", "system.self-target"),
    ("two hardware domains", "target = \"guest\"", "target = \"guest\"\nflags = [1️⃣\"hardware\"]",
      "system.duplicate-hardware"),
    ("caller key not a uid", "target = \"guest\"", "target = \"guest\"\n[callers]\n1️⃣root = \"dom0\"",
      "system.bad-caller"),
    ("caller naming no domain", "target = \"guest\"", "target = \"guest\"\n[callers]\n0 = 1️⃣\"gust\"",
      "system.bad-caller"),
    ("callers not a table", "module = \"flask\"", "module = \"flask\"\ncallers = 1️⃣[]", "system.wrong-type"),
    ("syntax error", "module = \"flask\"", "module = 1️⃣flask", "toml.expected-value"),
  ]

  @Test func callersMapUidsToDomains() throws {
    let (spec, diagnostics) = SystemFile.parse(
      text: Self.base + "\n[callers]\n0 = \"dom0\"\n1001 = \"guest\"\n", file: "sys.toml")
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    #expect(spec?.callers == [0: "dom0", 1001: "guest"])
  }

  @Test(arguments: systemErrors.map(\.0))
  func systemErrorIsLocated(_ name: String) throws {
    let (_, original, replacement, id) = Self.systemErrors.first { $0.0 == name }!
    #expect(Self.base.contains(original), "the case must edit the base system")
    var edited = Self.base.replacingOccurrences(of: original, with: replacement)
    if !edited.contains("1️⃣") {
      // Without a marker, the error points at the header of the domain the edit removed a key from.
      let before = Self.base.components(separatedBy: original)[0]
      let header = before.range(of: "[[domain]]", options: .backwards)!
      edited = before.replacingCharacters(in: header, with: "1️⃣[[domain]]")
        + replacement + Self.base.components(separatedBy: original).dropFirst().joined(separator: original)
    }
    let (text, at) = unmark(edited, file: "sys.toml")
    let (spec, diagnostics) = SystemFile.parse(text: text, file: "sys.toml")
    #expect(spec == nil, "a system with errors is not returned")
    expectLocated(diagnostics, id, at: at)
  }

  // MARK: Loading a system against its policy

  /// Each case: a system that parses, with `1️⃣` where loading it against its policy must report the id.
  static let hostErrors: [(String, String, String)] = [
    ("boolean the policy lacks", base + "\n\n[booleans]\n1️⃣guest_vpum = true\n", "system.unknown-boolean"),
    ("type the policy lacks",
      base.replacingOccurrences(of: "\"system_u:system_r:domU_t\"", with: "1️⃣\"system_u:system_r:domU_tt\""),
      "system.unknown-context"),
    ("role the user may not have",
      base.replacingOccurrences(of: "\"system_u:system_r:domU_t\"", with: "1️⃣\"user_1:system_r:domU_t\""),
      "system.invalid-context"),
    ("policy file missing",
      base.replacingOccurrences(of: "module = \"flask\"", with: "module = \"flask\"\npolicy = 1️⃣\"/nonexistent/xenpolicy-30\""),
      "system.policy-not-found"),
  ]

  @Test(arguments: hostErrors.map(\.0))
  func hostErrorIsLocated(_ name: String) async throws {
    let (_, marked, id) = try #require(Self.hostErrors.first { $0.0 == name })
    let (text, at) = unmark(marked, file: "sys.toml")
    #expect(at != nil, "the case marks where the error points")
    let (spec, specDiagnostics) = SystemFile.parse(text: text, file: "sys.toml")
    let parsed = try #require(spec, "\(describe(specDiagnostics))")
    let (host, diagnostics) = await XenHost.load(parsed, catalog: sharedCatalog)
    #expect(host == nil, "a system with errors loads no host")
    // XenHost.load reports spans into the system file but not their source lines.
    expectLocated(diagnostics, id, at: at, withSourceLine: false)
  }

  /// xen/common/domctl.c do_domctl, XEN_DOMCTL_set_target: `!is_hvm_domain(e)` is -EOPNOTSUPP,
  /// so a device model of a PV domain is worth a warning; without `kind` the target is taken as HVM.
  @Test func deviceModelOfAPVDomainIsAWarning() throws {
    let pv = Self.base.replacingOccurrences(of: "name = \"guest\"\n", with: "name = \"guest\"\nkind = \"pv\"\n")
    let (spec, diagnostics) = SystemFile.parse(text: pv, file: "sys.toml")
    #expect(spec != nil, "a warning keeps the system")
    let warning = try #require(diagnostics.first { $0.id.rawValue == "system.target-not-hvm" })
    #expect(warning.severity == .warning && warning.span?.line == 19)
    let (defaulted, quiet) = SystemFile.parse(text: Self.base, file: "sys.toml")
    #expect(quiet.isEmpty && defaulted?.domains.first { $0.name == "guest" }?.kind == .hvm)
    #expect(defaulted?.domains.first { $0.name == "dom0" }?.kind == .pv)
  }

  @Test func baseSystemIsValid() {
    let (spec, diagnostics) = SystemFile.parse(text: Self.base, file: "sys.toml")
    #expect(spec != nil && diagnostics.isEmpty, "\(describe(diagnostics))")
  }

  @Test func duplicateFlagIsOnlyAWarning() throws {
    let (text, at) = unmark(
      Self.base.replacingOccurrences(
        of: "flags = [\"control\", \"hardware\"]", with: "flags = [\"control\", \"hardware\", 1️⃣\"control\"]"),
      file: "sys.toml")
    let (spec, diagnostics) = SystemFile.parse(text: text, file: "sys.toml")
    #expect(spec != nil)
    expectLocated(diagnostics, "system.duplicate-flag", at: at)
    #expect(diagnostics.allSatisfy { $0.severity == .warning })
  }

  @Test func domainMustBeAnArrayOfTables() {
    let (number, numberAt) = unmark("module = \"dummy\"\ndomain = 1️⃣3\n", file: "a.toml")
    let (spec, diagnostics) = SystemFile.parse(text: number, file: "a.toml")
    #expect(spec == nil)
    expectLocated(diagnostics, "system.wrong-type", at: numberAt)
    let (table, tableAt) = unmark("module = \"dummy\"\n1️⃣[domain]\ndomid = 0\nname = \"dom0\"\n", file: "a.toml")
    let tableDiagnostics = SystemFile.parse(text: table, file: "a.toml").1
    expectLocated(tableDiagnostics, "system.wrong-type", at: tableAt)
    #expect(tableDiagnostics.first?.help == "write `[[domain]]`, with two brackets, for each domain")
    let (inline, inlineAt) = unmark(
      "module = \"dummy\"\ndomain = [1️⃣1, { domid = 0, name = \"dom0\" }]\n", file: "a.toml")
    let inlineResult = SystemFile.parse(text: inline, file: "a.toml")
    expectLocated(inlineResult.1, "system.wrong-type", at: inlineAt)
    let (ok, okDiagnostics) = SystemFile.parse(
      text: "module = \"dummy\"\ndomain = [{ domid = 0, name = \"dom0\" }]\n", file: "a.toml")
    #expect(okDiagnostics.isEmpty && ok?.domains.first?.name == "dom0", "inline tables are domains too")
  }

  @Test func noDomains() {
    let (empty, emptyAt) = unmark("module = \"dummy\"\ndomain = 1️⃣[]\n", file: "n.toml")
    let (spec, diagnostics) = SystemFile.parse(text: empty, file: "n.toml")
    #expect(spec == nil)
    expectLocated(diagnostics, "system.no-domains", at: emptyAt)
    let (missing, missingAt) = unmark("1️⃣module = \"dummy\"\n", file: "n.toml")
    expectLocated(SystemFile.parse(text: missing, file: "n.toml").1, "system.no-domains", at: missingAt)
  }

  @Test func helpSuggestsTheIntendedSpelling() {
    func help(_ original: String, _ replacement: String, _ id: String) -> String? {
      let text = Self.base.replacingOccurrences(of: original, with: replacement)
      return SystemFile.parse(text: text, file: "sys.toml").1.first { $0.id.rawValue == id }?.help
    }
    #expect(help("module = \"flask\"", "module = \"Flask\"", "system.unknown-module") == "did you mean `flask`?")
    #expect(help("module = \"flask\"", "module = \"flask\"\ndomains = 1", "system.unknown-key") == "did you mean `domain`?")
    #expect(help("target = \"guest\"", "target = \"gest\"", "system.unknown-target") == "did you mean `guest`?")
    #expect(help("flags = [\"control\", \"hardware\"]", "flags = [\"privileged\"]", "system.unknown-flag")
      == "did you mean `control`?")
    #expect(help("name = \"guest\"\n", "name = \"guest\"\niommu = \"nointremp\"\n", "system.unknown-iommu")
      == "did you mean `nointremap`?")
    #expect(help("target = \"guest\"", "target = \"guest\"\nenforcing = false", "system.unknown-key")?
      .contains("before the first `[[domain]]`") == true)
    #expect(help("domid = 1", "domid = \"1\"", "system.wrong-type") == "write `1` without quotes")
  }

  @Test func contextIsOptionalOutsideFlask() throws {
    let text = Self.base.replacingOccurrences(of: "module = \"flask\"", with: "module = \"silo\"")
      .replacingOccurrences(of: "context = \"system_u:system_r:dm_dom_t\"\n", with: "")
    let (spec, diagnostics) = SystemFile.parse(text: text, file: "sys.toml")
    #expect(diagnostics.isEmpty, "\(describe(diagnostics))")
    #expect(spec?.domains[2].context == "system_u:system_r:dm_dom_t")
  }
}
