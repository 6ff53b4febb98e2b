import Foundation
import Testing
import XSMCatalog
import XSMEngine

/// The HTML report of the default host's whole matrix under all three
/// modules: small, complete, and its compact verdict data decodes to the
/// matrix's own verdicts the way the page's script reads it.
@Suite("Matrix HTML report")
struct MatrixHTMLTests {
  /// The page, made once for all tests of the suite.
  static let rendered = Task { try await render() }

  static func render() async throws -> (AccessMatrix, String) {
    let host = try await defaultHost()
    let matrix = AccessMatrix(engine: DecisionEngine(host: host), ops: host.catalog.legacyOps, modules: XSMModule.allCases)
    return (matrix, MatrixRendering.html(matrix, title: "default"))
  }

  /// The embedded data of a page, as the script parses it.
  static func data(_ page: String) throws -> [String: Any] {
    let start = try #require(page.range(of: "<script type=\"application/json\" id=\"data\">"))
    let end = try #require(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
    return try #require(try JSONSerialization.jsonObject(with: Data(page[start.upperBound..<end.lowerBound].utf8)) as? [String: Any])
  }

  @Test func defaultHostPageIsSmallAndSelfContained() async throws {
    let (_, page) = try await Self.rendered.value
    // 191 KB when written; the SVG heatmap it replaced was about 1 MB.
    #expect(page.utf8.count < 300_000, "the page is \(page.utf8.count) bytes")
    #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="), "no external resources")
  }

  @Test func everyOpAppearsInTheOverviewAndTheData() async throws {
    let (matrix, page) = try await Self.rendered.value
    let ops = try #require(try Self.data(page)["ops"] as? [[String: Any]])
    #expect(ops.map { $0["op"] as? String } == matrix.rows.map(\.op))
    for row in matrix.rows {
      #expect(page.contains("<tr data-op=\"\(row.op)\""), "\(row.op) missing from the overview")
      #expect(page.contains("href=\"#op=\(row.op)\""), "\(row.op) has no link to its grid")
    }
  }

  /// Every "1 of N" mark of the overview comes with a hover naming caller and target.
  @Test func oneTargetMarksNameTheirTargets() async throws {
    let (matrix, page) = try await Self.rendered.value
    let marks = page.components(separatedBy: "<span class=\"one\">1</span></td>").count - 1
    let titles = page.components(separatedBy: " title=\"allowed on 1 of \(matrix.domains.count) targets: ").count - 1
    #expect(marks > 0 && marks == titles)
    // A stub device model may drive its own guest's virtual interrupt lines, and only that guest's.
    #expect(page.contains("<th><a href=\"#op=dm.set_pci_intx_level\">dm.set_pci_intx_level</a></th>"
      + "<td title=\"allowed on 1 of 12 targets: web-dm → web, ci-dm → ci\">"))
  }

  /// Reads every (op, module, caller, target) back from the compact strings
  /// the way the page's script does, and compares with the matrix.
  @Test func verdictDataDecodesToTheMatrix() async throws {
    let (matrix, page) = try await Self.rendered.value
    let data = try Self.data(page)
    let combos = try #require(data["combos"] as? [Int])
    let classes = try #require(data["classes"] as? Int)
    let domains = try #require(data["domains"] as? [[String: Any]])
    let ops = try #require(data["ops"] as? [[String: Any]])
    var index: [Int: Int] = [:]
    for (position, key) in combos.enumerated() { index[key] = position }
    let cls = domains.map { $0["cls"] as? Int ?? -1 }
    let dm = domains.map { $0["dm"] as? Int }
    let mark: [Verdict?: Character] = [.allowed: "A", .denied: "d", .invalid: "x", nil: "-"]
    var mismatches: [String] = []
    for (r, op) in ops.enumerated() {
      var strings = try #require(op["v"] as? [String])
      for m in strings.indices where m > 0 && strings[m].isEmpty { strings[m] = strings[m - 1] }
      let targeted = try #require(op["targeted"] as? Bool)
      let read = matrix.reader(row: r)
      for m in matrix.modules.indices {
        let marks = Array(strings[m])
        for c in domains.indices {
          for t in domains.indices {
            let relation: Int = c == t ? 0 : dm[c] == t ? 1 : dm[t] == c ? 2 : 3
            let key: Int = (cls[c] * classes + cls[t]) * 4 + relation
            var got: Character = "-"
            if targeted, let position = index[key] { got = marks[position] }
            if !targeted, c == t { got = marks[c] }
            let want: Character? = mark[read(c, t, m)]
            if got != want {
              mismatches.append("\(matrix.rows[r].op) \(matrix.modules[m]) \(c)->\(t): page \(got), matrix \(String(describing: read(c, t, m)))")
            }
          }
        }
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
  }
}
