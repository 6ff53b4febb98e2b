import Testing
import XSMDiagnostics
import XSMPolicy

/// The nesting that crashed xsmc with a stack overflow (issue 15), generated
/// here: each now stops at `parse.too-deep` (or, for `~~`, `parse.double-complement`)
/// at the token that went too deep, with nothing after it reported twice;
/// nesting at the limit goes through every pass of the front end.
@Suite("Nesting limits: no stack overflow at any depth")
struct DepthLimitTests {
  static let limit = Parser.maximumExpressionDepth

  static func repeated(_ text: String, _ count: Int) -> String { String(repeating: text, count: count) }

  /// A rule under a condition `condition`.
  static func conditional(_ condition: String) -> String {
    "if (\(condition)) { allow dom0_t xen_t:xen settime; }\n"
  }

  /// The one error of `source` (after the preamble), with the line and column it must have.
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var source: String
    var id = "parse.too-deep"
    var testDescription: String { name }
  }

  static let crashes: [Case] = [
    Case(name: "32,000 parentheses in a condition",
      source: conditional(repeated("(", limit) + "1️⃣(" + repeated("(", 32_000 - limit - 1) + "guest_ok" + repeated(")", 32_000))),
    Case(name: "100,000 `!` in a condition",
      source: conditional(repeated("!", limit) + "1️⃣!" + repeated("!", 100_000 - limit - 1) + "guest_ok")),
    Case(name: "100,000 `&&` in a condition",
      source: conditional("guest_ok" + repeated(" && guest_ok", limit) + " 1️⃣&& guest_ok" + repeated(" && guest_ok", 100_000 - limit - 1))),
    Case(name: "`!(` alternating in a condition",
      source: conditional(repeated("!(", limit / 2) + "1️⃣!(" + repeated("!(", 5_000) + "guest_ok" + repeated(")", 5_000 + limit / 2 + 1))),
    Case(name: "8,000 parentheses in a constraint",
      source: "constrain domain pause " + repeated("(", limit) + "1️⃣(" + repeated("(", 8_000 - limit - 1) + "u1 == u2" + repeated(")", 8_000) + ";\n"),
    Case(name: "10,000 `not` in a constraint",
      source: "constrain domain pause " + repeated("not ", limit) + "1️⃣not " + repeated("not ", 10_000 - limit - 1) + "u1 == u2;\n"),
    Case(name: "a long `and` chain in a constraint",
      source: "constrain domain pause u1 == u2" + repeated(" and u1 == u2", limit) + " 1️⃣and u1 == u2" + repeated(" and u1 == u2", 2_000) + ";\n"),
    Case(name: "10,000 `~` before a set",
      source: "allow dom0_t xen_t:xen 1️⃣" + repeated("~", 10_000) + "settime;\n", id: "parse.double-complement"),
    Case(name: "900 nested `if` blocks",
      source: repeated("if (guest_ok) {\n", Parser.maximumBlockDepth) + "1️⃣" + repeated("if (guest_ok) {\n", 900 - Parser.maximumBlockDepth)
        + "allow dom0_t xen_t:xen settime;\n" + repeated("}\n", 900)),
  ]

  @Test(arguments: crashes)
  func stopsAtTheTokenThatWentTooDeep(_ testCase: Case) throws {
    let located = try #require(locate(preamble + testCase.source + "allow dom0_t xen_t:xen readconsole;\n"))
    let result = frontend(located.text)
    let errors = result.diagnostics.items.filter { $0.severity == .error }
    let hits = errors.filter { $0.id.rawValue == testCase.id }
    #expect(hits.count == 1, "\(errors.map { "\($0.id)@\($0.span?.description ?? "-")" })")
    #expect(hits.first?.span?.line == located.line && hits.first?.span?.column == located.column,
      "\(hits.first?.span?.description ?? "none") != \(located.line):\(located.column)")
    // Recovery resumes after the statement: nothing else but the nested-`if` check is reported.
    #expect(errors.allSatisfy { $0.id.rawValue == testCase.id || $0.id.rawValue == "check.statement-in-conditional" },
      "\(errors.map { "\($0.id)@\($0.span?.description ?? "-") \($0.message)" })")
  }

  static let atTheLimit: [(String, String)] = [
    ("`!`", conditional(repeated("!", limit) + "guest_ok")),
    ("parentheses", conditional(repeated("(", limit - 1) + "guest_ok" + repeated(")", limit - 1))),
    ("`&&` chain", conditional("guest_ok" + repeated(" && guest_ok", limit))),
    ("`not`", "constrain domain pause " + repeated("not ", limit) + "u1 == u2;\n"),
    ("`and` chain", "constrain domain pause u1 == u2" + repeated(" and u1 == u2", limit) + ";\n"),
    ("nested `if`", repeated("if (guest_ok) {\n", Parser.maximumBlockDepth) + repeated("}\n", Parser.maximumBlockDepth)),
  ]

  /// At the limit, every pass runs (resolve, CIL lowering, printing, format) without a parse error.
  @Test func theLimitItselfIsAccepted() throws {
    for (name, source) in Self.atTheLimit {
      let text = preamble + source
      let result = frontend(text)
      let errors = result.diagnostics.items.filter { $0.severity == .error }
      let expected = name == "nested `if`" ? ["check.statement-in-conditional"] : []
      #expect(Set(errors.map(\.id.rawValue)) == Set(expected), "\(name): \(errors.map { "\($0.id) \($0.message)" })")
      guard expected.isEmpty else { continue }
      let model = try #require(result.model, "\(name): resolved")
      #expect(!CILLowering.lower(model).0.text.isEmpty, "\(name): lowered to CIL")
      #expect(!PolicyPrinter.render(try #require(result.syntax), located: true).isEmpty)
      #expect(!PolicyPrinter.render(model: model).isEmpty)
      #expect(PolicyFormatter().format(text, file: "depth.conf").formatted != nil, "\(name): formats")
    }
  }
}
