import Foundation
import Testing
import XSMCatalog
import XSMEngine

/// One line of a conformance file: a question on the default host and what
/// Xen's source says the caller gets under each module.
struct ConformanceCase: CustomStringConvertible {
  var id: String
  var caller: String
  var op: String
  var arguments: [(String, String)]
  var flags: [String]
  var host: String
  var expected: [XSMModule: String]
  var source: String
  var file: String
  var line: Int

  var description: String { "\(file):\(line) \(id)" }

  /// Reads `id | caller | op | arguments | host | dummy | silo | flask | source` lines.
  static func parse(_ text: String, file: String) throws -> [ConformanceCase] {
    var cases: [ConformanceCase] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.components(separatedBy: " | ").map { $0.trimmingCharacters(in: .whitespaces) }
      guard fields.count == 9 else {
        throw ConformanceError("\(file):\(index + 1): expected 9 fields separated by ` | `, found \(fields.count)")
      }
      var arguments: [(String, String)] = []
      var flags: [String] = []
      if fields[3] != "-" {
        for word in fields[3].split(separator: " ") {
          if let eq = word.firstIndex(of: "=") {
            arguments.append((String(word[..<eq]), String(word[word.index(after: eq)...])))
          } else {
            flags.append(String(word))
          }
        }
      }
      cases.append(ConformanceCase(id: fields[0], caller: fields[1], op: fields[2], arguments: arguments, flags: flags,
        host: fields[4], expected: [.dummy: fields[5], .silo: fields[6], .flask: fields[7]], source: fields[8],
        file: file, line: index + 1))
    }
    return cases
  }
}

struct ConformanceError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The default host with a case's modifiers: `permissive`, `bool:NAME=true|false`, `kind:DOMAIN=pv|hvm|pvh`.
func conformanceHost(_ modifiers: String) async throws -> XenHost {
  var (spec, diagnostics) = SystemFile.load(path: packageRoot + "/examples/systems/default.toml")
  guard var spec else { throw ConformanceError("default.toml: \(diagnostics.map(\.message))") }
  if modifiers != "-" {
    for modifier in modifiers.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      if modifier == "permissive" {
        spec.enforcing = false
      } else if modifier.hasPrefix("bool:"), let eq = modifier.firstIndex(of: "=") {
        let name = String(modifier[modifier.index(modifier.startIndex, offsetBy: 5)..<eq])
        spec.booleans[name] = modifier[modifier.index(after: eq)...] == "true"
      } else if modifier.hasPrefix("kind:"), let eq = modifier.firstIndex(of: "=") {
        let name = String(modifier[modifier.index(modifier.startIndex, offsetBy: 5)..<eq])
        guard let kind = DomainKind(rawValue: String(modifier[modifier.index(after: eq)...])),
          let i = spec.domains.firstIndex(where: { $0.name == name || "dom\($0.domid)" == name })
        else { throw ConformanceError("bad host modifier `\(modifier)`") }
        spec.domains[i].kind = kind
      } else {
        throw ConformanceError("unknown host modifier `\(modifier)`")
      }
    }
  }
  let (host, hostDiagnostics) = await XenHost.load(spec, catalog: sharedCatalog)
  guard let host else { throw ConformanceError("host `\(modifiers)`: \(hostDiagnostics.map(\.message))") }
  return host
}

/// Every case of Tests/XSMEngineTests/Conformance/*.cases, written from
/// Xen's source (each cites the file and function), answered by the engine.
@Suite("Conformance with Xen's source")
struct ConformanceTests {
  static let directory = packageRoot + "/Tests/XSMEngineTests/Conformance"

  static func allCases() throws -> [ConformanceCase] {
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".cases") }.sorted()
    return try files.flatMap { name in
      try ConformanceCase.parse(String(contentsOfFile: directory + "/" + name, encoding: .utf8), file: name)
    }
  }

  @Test func casesAreWellFormedAndCiteXen() throws {
    let cases = try Self.allCases()
    #expect(cases.count >= 200, "the suite has \(cases.count) cases")
    var ids = Set<String>()
    for c in cases {
      #expect(ids.insert(c.id).inserted, "\(c): duplicate id")
      #expect(c.source.contains("xen/"), "\(c): cites no Xen source file")
    }
    let families = Set(cases.map { $0.op.split(separator: ".").first.map(String.init) ?? "" })
    for family in ["domctl", "sysctl", "evtchn", "grant", "memory", "hvm", "dm", "sched", "physdev", "platform",
      "version", "console", "argo", "xsm"]
    {
      #expect(families.contains(family), "no case covers the `\(family)` family")
    }
  }

  @Test func everyCaseIsWhatXenReturns() async throws {
    let cases = try Self.allCases()
    var hosts: [String: XenHost] = [:]
    var failures: [String] = []
    for c in cases {
      if hosts[c.host] == nil { hosts[c.host] = try await conformanceHost(c.host) }
      let host = hosts[c.host]!
      guard let op = host.catalog.op(named: c.op) else {
        failures.append("\(c): unknown op `\(c.op)`")
        continue
      }
      guard let caller = host.domain(named: c.caller) else {
        failures.append("\(c): unknown caller `\(c.caller)`")
        continue
      }
      let question: OpQuestion
      do {
        question = try OpQuestion.bind(caller: caller, op: op, target: nil, arguments: c.arguments, flags: c.flags,
          on: host)
      } catch {
        failures.append("\(c): the question does not fit the op: \(error.message)")
        continue
      }
      let engine = DecisionEngine(host: host)
      for module in XSMModule.allCases {
        let decision = engine.decide(caller: caller, op: op, target: question.target, module: module,
          objects: question.objects)
        if decision.result != c.expected[module] {
          failures.append("\(c): \(module.rawValue) gives \(decision.result), Xen \(c.expected[module]!) [\(c.source)]")
        }
      }
    }
    let report = failures.joined(separator: "\n")
    #expect(failures.isEmpty, "\(failures.count) of \(cases.count) cases differ:\n\(report)")
  }
}
