import Foundation
import Testing
import XSMCatalog
@testable import XSMEngine

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

/// The HTML report of `xsmq diff` (`MatrixRendering.html(_: DecisionDiff)`) on
/// the default host with and without the `prot_doms_locked` boolean: the
/// lost cells are exactly the pairs the policy's conditional rules name, the
/// page's compact data decodes to both sides' verdicts, and sides that do not
/// differ get a page that says so.
@Suite("Diff HTML report")
struct DiffHTMLTests {
  /// The default host, with booleans set and under a module.
  static func host(booleans: [String: Bool] = [:], module: XSMModule = .flask) async throws -> XenHost {
    var (spec, diagnostics) = SystemFile.load(path: packageRoot + "/examples/systems/default.toml")
    try #require(spec != nil, "\(diagnostics.map(\.message))")
    spec!.module = module
    for (name, value) in booleans { spec!.booleans[name] = value }
    let (host, hostDiagnostics) = await XenHost.load(spec!, catalog: sharedCatalog)
    return try #require(host, "\(hostDiagnostics.map(\.message))")
  }

  /// The default host before and after `prot_doms_locked = true`, the diff and its page, made once.
  static let locked = Task { try await lockedDiff() }

  static func lockedDiff() async throws -> (XenHost, XenHost, DecisionDiff, String) {
    let old = try await host()
    let new = try await host(booleans: ["prot_doms_locked": true])
    let diff = DecisionDiff(old: .init(host: old, module: .flask, name: "default"),
      new: .init(host: new, module: .flask, name: "locked"), ops: sharedCatalog.legacyOps)
    return (old, new, diff, MatrixRendering.html(diff))
  }

  /// Every (op, caller, target) mark of the page's data, read the way its script reads it.
  static func marks(_ page: String) throws -> [String: [[Character]]] {
    let data = try MatrixHTMLTests.data(page)
    let combos = try #require(data["combos"] as? [Int])
    let classes = try #require(data["classes"] as? Int)
    let domains = try #require(data["domains"] as? [[String: Any]])
    var index: [Int: Int] = [:]
    for (position, key) in combos.enumerated() { index[key] = position }
    let cls = domains.map { $0["cls"] as? Int ?? -1 }
    func relation(_ c: Int, _ t: Int, _ key: String) -> Int {
      c == t ? 0 : domains[c][key] as? Int == t ? 1 : domains[t][key] as? Int == c ? 2 : 3
    }
    var marks: [String: [[Character]]] = [:]
    for op in try #require(data["ops"] as? [[String: Any]]) {
      let v = Array(try #require(op["v"] as? String))
      let targeted = try #require(op["targeted"] as? Bool)
      marks[try #require(op["op"] as? String)] = domains.indices.map { c in
        domains.indices.map { t in
          if !targeted { return c == t ? v[c] : "-" }
          let key = ((cls[c] * classes + cls[t]) * 4 + relation(c, t, "odm")) * 4 + relation(c, t, "dm")
          return index[key].map { v[$0] } ?? "-"
        }
      }
    }
    return marks
  }

  /// Locking takes from dom0 the ops on prot_domU_t guests that only the `if (!prot_doms_locked)`
  /// block of policy/modules/prot_domU.te grants: every lost cell has a dom0_t caller and a
  /// prot_domU_t target, and nothing is gained (the else branch grants only what dom0 keeps).
  @Test func lockedGuestsLoseOnlyDom0sOps() async throws {
    let (old, _, diff, page) = try await Self.locked.value
    let source = try String(contentsOfFile: packageRoot + "/policy/modules/prot_domU.te", encoding: .utf8)
    #expect(source.contains("if (!prot_doms_locked) {") && source.contains("\ttoolstack_manages(dom0_t, prot_domU_t)\n"))
    let type = { (d: HostDomain) in d.contextText.split(separator: ":")[2] }
    let guarded = old.domains.filter { type($0) == "prot_domU_t" }.map(\.name)
    #expect(!guarded.isEmpty)
    let marks = try Self.marks(page)
    var lost: Set<String> = []
    for (op, grid) in marks {
      for (c, row) in grid.enumerated() {
        for (t, mark) in row.enumerated() where mark == "l" || mark == "g" {
          #expect(mark == "l", "\(op) gained")
          lost.insert("\(old.domains[c].name) → \(old.domains[t].name)")
        }
      }
    }
    #expect(lost == Set(guarded.map { "dom0 → \($0)" }))
    #expect(diff.gained == 0 && diff.lost > 0)
    #expect(page.contains("Settings that differ: boolean prot_doms_locked: false → true."))
    // The default host, one boolean flipped: 32 KB.
    #expect(page.utf8.count < 60_000, "the page is \(page.utf8.count) bytes")
  }

  /// The page's marks are both sides' verdicts, op by op and pair by pair, and its counts the diff's.
  @Test func dataDecodesToBothSidesVerdicts() async throws {
    let (old, new, diff, page) = try await Self.locked.value
    let ops = sharedCatalog.legacyOps
    let before = AccessMatrix(engine: DecisionEngine(host: old), ops: ops, modules: [.flask])
    let after = AccessMatrix(engine: DecisionEngine(host: new), ops: ops, modules: [.flask])
    let marks = try Self.marks(page)
    var changedOps: Set<String> = []
    var mismatches: [String] = []
    var gained = 0
    var lost = 0
    for (r, op) in ops.enumerated() {
      let (readOld, readNew) = (before.reader(row: r), after.reader(row: r))
      for c in old.domains.indices {
        for t in old.domains.indices {
          let want = DiffHTML.mark(readOld(c, t, 0), readNew(c, t, 0))
          if want == "l" || want == "g" { changedOps.insert(op.name) }
          guard let grid = marks[op.name] else { continue }
          if grid[c][t] != want { mismatches.append("\(op.name) \(c)->\(t): page \(grid[c][t]), sides \(want)") }
          if grid[c][t] == "g" { gained += 1 }
          if grid[c][t] == "l" { lost += 1 }
        }
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    #expect(Set(marks.keys) == changedOps, "the page has a grid for every changed op and no other")
    #expect(gained == diff.gained && lost == diff.lost)
  }

  /// The checker itself finds what it is meant to find.
  @Test func wellFormednessCheckFindsBrokenPages() {
    #expect(HTMLCheck.problems("<p><b>bold</p></b>") == ["</p> closes <b>", "never closed: [\"p\"]"])
    #expect(HTMLCheck.problems("<td title=bare>x</td>").count == 1)
    #expect(HTMLCheck.problems("<p>a & b</p>").count == 1)
    #expect(HTMLCheck.problems("<div><script>if(a<b)x()</script><br></div>").isEmpty)
    #expect(HTMLCheck.problems("<div>").first == "never closed: [\"div\"]")
  }

  @Test func pageIsWellFormedAndSelfContained() async throws {
    let (_, _, _, page) = try await Self.locked.value
    #expect(HTMLCheck.problems(page).isEmpty, "\(HTMLCheck.problems(page).prefix(5))")
    #expect(!page.contains("http://") && !page.contains("https://") && !page.contains("src="), "no external resources")
    let (_, matrixPage) = try await MatrixHTMLTests.rendered.value
    #expect(HTMLCheck.problems(matrixPage).isEmpty, "\(HTMLCheck.problems(matrixPage).prefix(5))")
  }

  /// Two sides that answer alike: a page that says so, not an empty grid; under dummy the
  /// page also says why two policies cannot differ there (dummy reads no policy).
  @Test func noDifferencesIsSaidSo() async throws {
    let host = try await Self.host()
    let same = MatrixRendering.html(DecisionDiff(old: .init(host: host, module: .flask, name: "a"),
      new: .init(host: host, module: .flask, name: "b"), ops: sharedCatalog.legacyOps))
    #expect(same.contains("<p class=\"same\"><b>No differences</b>: every op answers the same for every pair on both sides"))
    #expect(!same.contains("<table class=\"g\"") && !same.contains("id=\"data\"") && !same.contains("<script"))
    #expect(HTMLCheck.problems(same).isEmpty)
    #expect(!same.contains("decide without the policy"))

    let locked = try await Self.host(booleans: ["prot_doms_locked": true])
    let dummy = DecisionDiff(old: .init(host: host, module: .dummy, name: "a"),
      new: .init(host: locked, module: .dummy, name: "b"), ops: sharedCatalog.legacyOps)
    #expect(dummy.isEmpty, "dummy reads no policy: \(dummy.gained) gained, \(dummy.lost) lost")
    let page = MatrixRendering.html(dummy)
    #expect(page.contains("No differences"))
    #expect(page.contains("dummy decides without the policy"), "\(page)")
  }
}

/// A small check that a page is well-formed HTML: every element closed in
/// order (void elements excepted), attribute values quoted, `&` only in
/// character references, and script and style bodies that cannot end early.
enum HTMLCheck {
  static let void: Set<String> = ["meta", "input", "br", "img", "link", "hr", "wbr", "col", "source"]

  static func problems(_ html: String) -> [String] {
    var problems: [String] = []
    var open: [String] = []
    var rest = Substring(html)
    if rest.hasPrefix("<!DOCTYPE html>") { rest = rest.dropFirst("<!DOCTYPE html>".count) }
    while let lt = rest.firstIndex(of: "<") {
      checkText(rest[..<lt], &problems)
      guard let gt = rest[lt...].firstIndex(of: ">") else {
        problems.append("unclosed tag at \(rest[lt...].prefix(30))")
        break
      }
      let tag = rest[rest.index(after: lt)..<gt]
      rest = rest[rest.index(after: gt)...]
      if tag.hasPrefix("/") {
        let name = tag.dropFirst().lowercased()
        if open.last == name { open.removeLast() } else { problems.append("</\(name)> closes <\(open.last ?? "nothing")>") }
        continue
      }
      let name = String(tag.prefix { $0.isLetter || $0.isNumber }).lowercased()
      if name.isEmpty { problems.append("a bare `<` before \(tag.prefix(20))") }
      checkAttributes(tag.dropFirst(name.count), of: name, &problems)
      if name == "script" || name == "style" {
        // The body runs to the first `</name`: it must be this element's end.
        guard let end = rest.range(of: "</\(name)>") else {
          problems.append("<\(name)> never ends")
          break
        }
        rest = rest[end.upperBound...]
      } else if !void.contains(name) {
        open.append(name)
      }
    }
    checkText(rest, &problems)
    if !open.isEmpty { problems.append("never closed: \(open)") }
    return problems
  }

  static func checkText(_ text: Substring, _ problems: inout [String]) {
    var rest = text
    while let amp = rest.firstIndex(of: "&") {
      let after = rest[rest.index(after: amp)...]
      let reference = after.prefix { $0 != ";" && $0 != " " && $0 != "<" }
      if after.dropFirst(reference.count).first != ";"
        || !(["amp", "lt", "gt", "quot", "#39"].contains(reference) || reference.hasPrefix("#") && reference.dropFirst().allSatisfy(\.isNumber))
      {
        problems.append("a bare `&` before \(after.prefix(20))")
      }
      rest = after
    }
  }

  static func checkAttributes(_ text: Substring, of tag: String, _ problems: inout [String]) {
    var rest = text
    while let eq = rest.firstIndex(of: "=") {
      let value = rest[rest.index(after: eq)...]
      guard value.first == "\"", let close = value.dropFirst().firstIndex(of: "\"") else {
        problems.append("an unquoted attribute value in <\(tag)\(text.prefix(40))>")
        return
      }
      checkText(value[value.index(after: value.startIndex)..<close], &problems)
      rest = value[value.index(after: close)...]
    }
  }
}
