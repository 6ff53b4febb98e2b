import Foundation
import Testing
import XSMDiagnostics
import XSMPolicy

/// A syntax tree holds a span per name: the compact layout is what keeps
/// xsmc's peak memory near checkpolicy's (docs/benchmarks.md), so it is pinned here,
/// with the JSON the spans are written as.
@Suite("Source span layout")
struct SourceSpanLayoutTests {
  @Test func spansNamesAndStatementsStaySmall() {
    #expect(MemoryLayout<SourceSpan>.size == 20)
    #expect(MemoryLayout<Name>.stride == 40)
    #expect(MemoryLayout<Statement>.stride == 32)
  }

  @Test func theFileIsANumberStandingForItsName() {
    let a = SourceSpan(file: "modules/dom0.te", line: 3, column: 5, endColumn: 9)
    let b = SourceSpan(in: SourceFile(["modules", "dom0.te"].joined(separator: "/")), line: 3, column: 5, endColumn: 9)
    #expect(a == b && a.hashValue == b.hashValue)
    #expect(a.file == "modules/dom0.te" && a.endLine == 3 && a.description == "modules/dom0.te:3:5")
    var moved = a
    moved.file = "modules/xen.te"
    #expect(moved != a && moved.file == "modules/xen.te" && moved.line == 3)
    #expect(a.merged(with: SourceSpan(file: "modules/dom0.te", line: 4, column: 2)).endLine == 4)
    #expect(a.merged(with: moved) == a, "spans in other files are not merged")
  }

  @Test func jsonKeepsItsKeys() throws {
    let span = SourceSpan(file: "policy.conf", line: 12, column: 7, endLine: 13, endColumn: 2)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = String(decoding: try encoder.encode(span), as: UTF8.self)
    #expect(json == #"{"column":7,"end_column":2,"end_line":13,"file":"policy.conf","line":12}"#)
    #expect(try JSONDecoder().decode(SourceSpan.self, from: Data(json.utf8)) == span)
  }
}
