import Foundation
import XSMBuild
import XSMDiagnostics
import XSMEngine
import XSMPolicy
import XSMSepol

/// Rebuilds a system's policy source with extra rules to see whether they
/// break a neverallow. A policy.conf is copied with the rules appended; a
/// tree (with `modules.conf`) is copied to a temporary directory with one
/// extra module, `zz_xsmq_explain`, switched on last, whose `.te` holds the
/// rules one per line (as policy/check-neverallows.sh probes the project's
/// tree). The source itself is never changed. One build checks every rule:
/// the build's errors are matched to the rules by line.
public struct NeverallowProbe: Sendable {
  public let spec: SystemSpec

  static let moduleName = "zz_xsmq_explain"

  public init(spec: SystemSpec) { self.spec = spec }

  /// The source path the system's policy is built from, or why there is none.
  var sourcePath: Result<String, NeverallowCheck> {
    guard let written = spec.policy, let path = spec.policyPath else {
      return .failure(NeverallowCheck(status: .notChecked,
        text: "not checked (the embedded binary policy; name a system whose policy is a source to check)"))
    }
    if BinaryPolicy.bytes(ofFileAt: path) != nil {
      return .failure(NeverallowCheck(status: .notChecked, text: "not checked (binary policy `\(written)`)"))
    }
    return .success(path)
  }

  /// One check per rule, in order.
  public func check(_ rules: [String]) async -> [NeverallowCheck] {
    let path: String
    switch sourcePath {
    case .failure(let notChecked): return rules.map { _ in notChecked }
    case .success(let p): path = p
    }
    let scratch = NSTemporaryDirectory() + "xsmq-explain-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let copy: String
    let rulesPath: String
    let firstLine: Int
    do {
      try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
      (copy, rulesPath, firstLine) = try PolicyTree.isTree(path)
        ? copyTree(path, into: scratch, rules: rules) : copyConf(path, into: scratch, rules: rules)
    } catch let problem as NeverallowCheck {
      return rules.map { _ in problem }
    } catch {
      return rules.map { _ in NeverallowCheck(status: .notChecked, text: "not checked (cannot copy `\(path)`: \(error))") }
    }
    let outcome = await PolicyBuilder.build(.path(copy), options: .forPolicy(at: copy, mls: spec.mls))
    let errors = outcome.diagnostics.items.filter { $0.severity == .error }
    guard !errors.isEmpty else {
      return rules.map { _ in NeverallowCheck(status: .holds, text: "no neverallow of `\(spec.policy ?? path)` forbids it") }
    }
    // Places in the copy as places in the source; the rules file as what it is.
    func shown(_ text: String) -> String {
      text.replacingOccurrences(of: rulesPath, with: "suggested rule").replacingOccurrences(of: copy, with: path)
    }
    func located(_ d: Diagnostic) -> String {
      var text = "\(d.span.map { shown($0.description) + ": " } ?? "")\(d.id): \(shown(d.message))"
      for note in d.notes { text += "; \(note.span.map { shown($0.description) + ": " } ?? "")\(shown(note.message))" }
      return text
    }
    var byRule: [Int: [Diagnostic]] = [:]
    var unplaced: [Diagnostic] = []
    for d in errors {
      if let span = d.span, span.file.hasSuffix(rulesPath), rules.indices.contains(span.line - firstLine) {
        byRule[span.line - firstLine, default: []].append(d)
      } else {
        unplaced.append(d)
      }
    }
    return rules.indices.map { index in
      let own = byRule[index] ?? []
      if let broken = own.first(where: { $0.id == .sepol.neverallow }) {
        let neverallows = broken.notes.compactMap { note in
          note.span.map { span in
            (note.sourceLine.map { "`\($0.trimmingCharacters(in: .whitespaces))` " } ?? "") + "at \(shown(span.description))"
          }
        }
        return NeverallowCheck(status: .breaks,
          text: "the rule breaks a neverallow" + (neverallows.isEmpty ? "" : ": " + neverallows.joined(separator: "; ")),
          diagnostics: own.map(located))
      }
      if !own.isEmpty {
        return NeverallowCheck(status: .fails, text: "the policy does not build with the rule", diagnostics: own.map(located))
      }
      if !unplaced.isEmpty {
        return NeverallowCheck(status: .fails,
          text: "the policy does not build with the suggested rules (errors not tied to one rule)",
          diagnostics: unplaced.prefix(5).map(located))
      }
      return NeverallowCheck(status: .holds, text: "no neverallow of `\(spec.policy ?? path)` forbids it")
    }
  }

  /// A copy of the tree with the extra module: its path, the rules file's path and the rules' first line.
  private func copyTree(_ tree: String, into scratch: String, rules: [String]) throws -> (String, String, Int) {
    let copy = scratch + "/policy"
    let fm = FileManager.default
    guard fm.fileExists(atPath: tree + "/modules.conf"), fm.fileExists(atPath: tree + "/modules") else {
      throw NeverallowCheck(status: .notChecked,
        text: "not checked (the tree `\(tree)` has no modules.conf and modules/ to add a module to)")
    }
    try fm.copyItem(atPath: tree, toPath: copy)
    let conf = try String(contentsOfFile: copy + "/modules.conf", encoding: .utf8)
    try (conf + (conf.hasSuffix("\n") || conf.isEmpty ? "" : "\n") + "\(Self.moduleName) = on\n")
      .write(toFile: copy + "/modules.conf", atomically: true, encoding: .utf8)
    try "".write(toFile: copy + "/modules/\(Self.moduleName).if", atomically: true, encoding: .utf8)
    let te = copy + "/modules/\(Self.moduleName).te"
    try (rules.joined(separator: "\n") + "\n").write(toFile: te, atomically: true, encoding: .utf8)
    return (copy, te, 1)
  }

  /// A copy of the policy.conf with the rules appended after a `#line 1` marker
  /// naming them `suggested-rules`, so their lines are known even when the text has m4's markers.
  private func copyConf(_ file: String, into scratch: String, rules: [String]) throws -> (String, String, Int) {
    var text = try String(contentsOfFile: file, encoding: .utf8)
    if !text.hasSuffix("\n") && !text.isEmpty { text += "\n" }
    let copy = scratch + "/" + (file as NSString).lastPathComponent
    let rulesPath = scratch + "/suggested-rules"
    let appended = "#line 1 \"\(rulesPath)\"\n" + rules.joined(separator: "\n") + "\n"
    try (text + appended).write(toFile: copy, atomically: true, encoding: .utf8)
    return (copy, rulesPath, 1)
  }
}

extension NeverallowCheck: Error {}
