import Foundation
import Testing
import XSMDiagnostics

/// The Tests directory, found from this file's path.
private let testsDirectory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

/// True for text shaped like an id: `phase.kebab-name`, lower-case ASCII letters and digits.
private func hasIDShape(_ text: String) -> Bool {
  func isWord(_ word: Substring) -> Bool {
    !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
  }
  let parts = text.split(separator: ".", omittingEmptySubsequences: false)
  guard parts.count == 2, parts[0].first?.isLetter == true, isWord(parts[0]) else { return false }
  return parts[1].split(separator: "-", omittingEmptySubsequences: false).allSatisfy(isWord)
}

/// Every declared diagnostic id has a negative test, and no test names an id
/// that is not declared.
///
/// An id has a negative test when a test source (a `.swift` file under
/// Tests/, other than the `Support.swift` helpers and this file) names it in
/// code: as a string literal that is exactly the id (`"parse.expected-token"`)
/// or as its member (`.parse.expectedToken`). Comments do not count, nor do
/// multi-line literals (the policy and catalog texts tests feed in) or
/// strings with interpolation.
@Suite("Diagnostic ids: declared once, each with a negative test")
struct DiagnosticCoverageTests {
  /// The scanned test sources, by path relative to Tests/.
  static let sources: [(path: String, scan: TestSourceScan)] = {
    let enumerator = FileManager.default.enumerator(at: testsDirectory, includingPropertiesForKeys: nil)
    var found: [(String, TestSourceScan)] = []
    while let url = enumerator?.nextObject() as? URL {
      let name = url.lastPathComponent
      guard url.pathExtension == "swift", name != "Support.swift", name != "DiagnosticCoverageTests.swift",
        let text = try? String(contentsOf: url, encoding: .utf8)
      else { continue }
      found.append((String(url.path.dropFirst(testsDirectory.path.count + 1)), TestSourceScan(text)))
    }
    return found.sorted { $0.0 < $1.0 }
  }()

  static let phases = Set(DiagnosticID.groups.map { type(of: $0).phase })

  /// The ids the scanned tests name, by either spelling.
  static func testedIDs() -> Set<String> {
    var tested = Set<String>()
    for (_, scan) in sources {
      for literal in scan.literals where DiagnosticID(rawValue: literal.text) != nil { tested.insert(literal.text) }
      for group in DiagnosticID.groups {
        let phase = type(of: group).phase
        for (name, id) in group.members where scan.refersTo(member: name, of: phase) { tested.insert(id.rawValue) }
      }
    }
    return tested
  }

  @Test func everyDeclaredIDHasANegativeTest() {
    let tested = Self.testedIDs()
    let untested = DiagnosticID.all.map(\.rawValue).filter { !tested.contains($0) }
    #expect(untested.isEmpty, "ids that no test asserts: \(untested.joined(separator: ", "))")
  }

  /// Service error codes (XSMServiceAPI) share the `op.` and `system.`
  /// prefixes without being diagnostics, so the service tests are left out.
  @Test func testsNameOnlyDeclaredIDs() {
    var undeclared: [String] = []
    for (path, scan) in Self.sources where !path.hasPrefix("XSMServiceTests/") {
      for literal in scan.literals where hasIDShape(literal.text) {
        let phase = String(literal.text.prefix { $0 != "." })
        guard Self.phases.contains(phase), DiagnosticID(rawValue: literal.text) == nil else { continue }
        undeclared.append("Tests/\(path):\(literal.line): `\(literal.text)`")
      }
    }
    #expect(undeclared.isEmpty, "tests name undeclared ids:\n\(undeclared.joined(separator: "\n"))")
  }

  /// `parse.expected-token` is `.parse.expectedToken`: the member is the
  /// kebab name in camel case, in the group of its phase.
  @Test func membersAreNamedAfterTheirIDs() {
    var seen = Set<String>()
    for group in DiagnosticID.groups {
      let phase = type(of: group).phase
      #expect(!group.members.isEmpty, "\(phase) declares ids")
      for (name, id) in group.members {
        let parts = id.rawValue.split(separator: ".", maxSplits: 1).map(String.init)
        #expect(parts.count == 2 && parts[0] == phase, "\(id) is in the `\(phase)` group")
        #expect(hasIDShape(id.rawValue), "\(id) is `phase.kebab-name`")
        let words = parts.last?.split(separator: "-").map(String.init) ?? []
        let camel = (words.first ?? "") + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        #expect(name == camel, "\(id) is spelt `.\(phase).\(camel)`, not `.\(phase).\(name)`")
        #expect(seen.insert(id.rawValue).inserted, "\(id) is declared once")
        #expect(!id.meaning.isEmpty && !id.meaning.contains("\n") && !id.meaning.hasSuffix("."),
          "\(id): the meaning is one line without a final period")
      }
    }
    #expect(DiagnosticID.all.count == seen.count)
  }

  @Test func onlyDeclaredIDsCanBeMadeOrDecoded() throws {
    #expect(DiagnosticID(rawValue: "parse.expected-token") == .parse.expectedToken)
    #expect(DiagnosticID(rawValue: "parse.no-such-id") == nil)
    let diagnostic = Diagnostic(.tree.m4, .warning, "m4: warning: x")
    let json = try JSONEncoder().encode(diagnostic)
    #expect(String(decoding: json, as: UTF8.self).contains("\"id\":\"tree.m4\""))
    let decoded = try JSONDecoder().decode(Diagnostic.self, from: json)
    #expect(decoded == diagnostic && decoded.id.meaning == DiagnosticID.tree.m4.meaning)
    let forged = Data(String(decoding: json, as: UTF8.self).replacingOccurrences(of: "tree.m4", with: "tree.m5").utf8)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(Diagnostic.self, from: forged) }
  }

  @Test func exitStatusTwoIsForUnreadableInput() {
    let unreadable = DiagnosticID.all.filter { $0.exitStatus == .unreadableInput }.map(\.rawValue)
    #expect(unreadable == [
      "io.not-found", "io.unreadable", "io.not-utf8", "io.too-large", "tree.unknown-layout", "tree.missing-classes", "tree.missing-file",
      "catalog.io", "system.io",
      "system.policy-not-found", "testfile.io",
    ])
  }

  @Test func committedReferenceIsCurrent() throws {
    let path = testsDirectory.deletingLastPathComponent().appendingPathComponent(DiagnosticsReference.path).path
    let committed = try String(contentsOfFile: path, encoding: .utf8)
    let isCurrent = committed == DiagnosticsReference.markdown()
    #expect(isCurrent, "\(DiagnosticsReference.path) is stale; run `swift run xsmc docs`")
  }

  @Test func scannerSkipsCommentsAndTexts() {
    let scan = TestSourceScan(#"""
      let a = "toml.bad-escape" // "toml.bad-number"
      /* "toml.unsupported" /* nested */ .toml.expectedKey */
      let b = "x\("toml.expected-comma")y", c = """
        "toml.duplicate-key"
        """
      #expect(id == .toml.unterminatedArray && other.toml.badHeader == nil)
      """#)
    #expect(scan.literals.map(\.text) == ["toml.bad-escape", "toml.expected-comma"])
    #expect(scan.literals.map(\.line) == [1, 3])
    #expect(scan.refersTo(member: "unterminatedArray", of: "toml"))
    #expect(!scan.refersTo(member: "expectedKey", of: "toml"), "comments do not count")
    #expect(!scan.refersTo(member: "badHeader", of: "toml"), "a property path is not a member reference")
  }
}

/// What a Swift file says outside its comments: its code with comments and
/// literals blanked, and its single-line string literals without
/// interpolation, with the line each is on.
struct TestSourceScan {
  private(set) var code = ""
  private(set) var literals: [(text: String, line: Int)] = []
  private let characters: [Character]
  private var index = 0
  private var line = 1

  init(_ source: String) {
    characters = Array(source)
    scanCode(interpolation: false)
  }

  /// True when the code names `.phase.member` (alone or after `DiagnosticID`),
  /// not a property path that happens to end the same way.
  func refersTo(member: String, of phase: String) -> Bool {
    let needle = ".\(phase).\(member)"
    var rest = code[...]
    while let range = rest.range(of: needle) {
      let before = code[..<range.lowerBound]
      let after = code[range.upperBound...].first
      let isPath = before.last.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ")" || $0 == "]" } ?? false
      let isLonger = after.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false
      if (!isPath || before.hasSuffix("DiagnosticID")) && !isLonger { return true }
      rest = code[range.upperBound...]
    }
    return false
  }

  private func peek(_ offset: Int = 0) -> Character? {
    index + offset < characters.count ? characters[index + offset] : nil
  }

  /// Code up to the end, or up to the `)` closing an interpolation.
  private mutating func scanCode(interpolation: Bool) {
    var depth = 0
    while let c = peek() {
      switch (c, peek(1)) {
      case ("/", "/"?):
        while let next = peek(), next != "\n" { index += 1 }
      case ("/", "*"?):
        skipBlockComment()
      case ("\"", _):
        if peek(1) == "\"" && peek(2) == "\"" { skipMultiLineLiteral() } else { scanLiteral() }
        code += "\"\""
      case ("#", "\""?):
        index += 1
        if peek(1) == "\"" && peek(2) == "\"" { skipMultiLineLiteral(raw: true) } else { scanLiteral(raw: true) }
        code += "\"\""
      default:
        if interpolation && c == "(" { depth += 1 }
        if interpolation && c == ")" {
          if depth == 0 {
            index += 1
            return
          }
          depth -= 1
        }
        if c == "\n" { line += 1 }
        code.append(c)
        index += 1
      }
    }
  }

  private mutating func skipBlockComment() {
    var depth = 0
    while let c = peek() {
      if c == "/" && peek(1) == "*" {
        depth += 1
        index += 2
      } else if c == "*" && peek(1) == "/" {
        depth -= 1
        index += 2
        if depth == 0 { return }
      } else {
        if c == "\n" {
          line += 1
          code.append(c)
        }
        index += 1
      }
    }
  }

  /// A `"..."` (or `#"..."#`) literal; kept when it has no interpolation.
  private mutating func scanLiteral(raw: Bool = false) {
    let start = line
    var text = ""
    var plain = true
    index += 1
    while let c = peek() {
      if c == "\\" && !raw {
        if peek(1) == "(" {
          plain = false
          index += 2
          scanCode(interpolation: true)
          continue
        }
        text.append(c)
        if let escaped = peek(1) { text.append(escaped) }
        index += 2
        continue
      }
      if c == "\n" { break }
      index += 1
      if c == "\"" && (!raw || peek() == "#") {
        if raw { index += 1 }
        break
      }
      text.append(c)
    }
    if plain { literals.append((text, start)) }
  }

  /// A `"""` (or `#"""`) literal: test input, not an assertion; only its lines are counted.
  private mutating func skipMultiLineLiteral(raw: Bool = false) {
    index += 3
    while let c = peek() {
      if c == "\\" && peek(1) == "(" && !raw {
        index += 2
        scanCode(interpolation: true)
        continue
      }
      if c == "\"" && peek(1) == "\"" && peek(2) == "\"" && (!raw || peek(3) == "#") {
        index += raw ? 4 : 3
        return
      }
      if c == "\n" {
        line += 1
        code.append(c)
      }
      index += c == "\\" && !raw ? 2 : 1
    }
  }
}
