import Foundation
import XSMPolicy

/// A call of one of the policy tree's own macros that would grant a denial:
/// the way the tree's author would write the fix, where such a macro exists.
public struct MacroSuggestion: Sendable, Codable, Hashable {
  /// The call to add, e.g. `toolstack_manages(dom0_t, domU_t)`.
  public var call: String
  /// Where the macro is defined (`file:line`).
  public var definedAt: String
  /// How many permissions the macro's own allow rules name: the fewer, the narrower the grant.
  public var grants: Int
  /// The module file that declares the source type, where the call belongs; nil when not found.
  public var file: String?
}

/// Finds, in a policy tree, the macros whose own `allow $i $j:CLASS { ... }`
/// rules grant every denied permission when called with the source type as
/// `$i` and the target type as `$j` (or `self`). Only a body's own allow rules
/// are read (rules of macros it calls are not followed), and only macros all
/// of whose required arguments those two types fill.
public struct MacroSuggester: Sendable {
  struct AllowRule {
    var source: String
    var target: String
    var classes: Set<String>
    var permissions: Set<String>
  }

  struct Candidate {
    var name: String
    var definedAt: String
    var arguments: Int
    var rules: [AllowRule]
  }

  let candidates: [Candidate]
  let moduleFiles: [(path: String, text: String)]

  /// Reads the tree's macros; nil when `path` is not a policy tree.
  public init?(tree path: String) {
    guard PolicyTree.isTree(path), TreeLayout.detect(path) != nil else { return nil }
    let (tree, _) = PolicyTree.load(directory: path)
    let index = tree.macroIndex()
    var latest: [String: MacroIndex.Definition] = [:]
    for definition in index.definitions { latest[definition.name] = definition }
    candidates = latest.values.sorted { $0.name < $1.name }.map { definition in
      Candidate(name: definition.name, definedAt: "\(definition.nameSpan.file):\(definition.nameSpan.line)",
        arguments: definition.requiredArguments, rules: Self.allowRules(in: index.bodyText(of: definition)))
    }
    moduleFiles = tree.macroSources.filter { $0.hasSuffix(".te") }.compactMap { file in
      (try? String(contentsOfFile: file, encoding: .utf8)).map { (file, $0) }
    }
  }

  /// The allow rules written in a body, with `#` comments removed.
  static func allowRules(in body: String) -> [AllowRule] {
    let code = body.split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
      .joined(separator: " ")
    var rules: [AllowRule] = []
    for statement in code.split(separator: ";") {
      let words = statement.replacingOccurrences(of: "{", with: " { ").replacingOccurrences(of: "}", with: " } ")
        .replacingOccurrences(of: ":", with: " : ").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        .map(String.init)
      guard words.first == "allow", words.count >= 6 else { continue }
      var rest = words.dropFirst()
      func set() -> [String]? {
        guard let first = rest.popFirst() else { return nil }
        guard first == "{" else { return [first] }
        var items: [String] = []
        while let next = rest.popFirst(), next != "}" { items.append(next) }
        return items
      }
      guard let sources = set(), let targets = set(), rest.popFirst() == ":", let classes = set(),
        let permissions = set(), sources.count == 1, targets.count == 1
      else { continue }
      rules.append(AllowRule(source: sources[0], target: targets[0], classes: Set(classes), permissions: Set(permissions)))
    }
    return rules
  }

  /// Up to `limit` calls that grant every permission of `permissions` in
  /// `className` from `sourceType` to `targetType`, the narrowest first.
  public func suggestions(sourceType: String, targetType: String, className: String, permissions: [String], limit: Int = 3)
    -> [MacroSuggestion]
  {
    var found: [MacroSuggestion] = []
    for candidate in candidates where candidate.arguments > 0 {
      for rule in candidate.rules where rule.classes.contains(className) {
        guard permissions.allSatisfy({ rule.permissions.contains($0) || rule.permissions.contains("*") }),
          let sourceIndex = Self.argumentNumber(rule.source)
        else { continue }
        var arguments = [Int: String]()
        arguments[sourceIndex] = sourceType
        if rule.target == "self" {
          guard sourceType == targetType else { continue }
        } else if let targetIndex = Self.argumentNumber(rule.target) {
          guard arguments[targetIndex] == nil || arguments[targetIndex] == targetType else { continue }
          arguments[targetIndex] = targetType
        } else if rule.target != targetType {
          continue
        }
        guard (1...candidate.arguments).allSatisfy({ arguments[$0] != nil }) else { continue }
        let call = "\(candidate.name)(\((1...candidate.arguments).map { arguments[$0]! }.joined(separator: ", ")))"
        let grants = Set(candidate.rules.flatMap(\.permissions)).count
        found.append(MacroSuggestion(call: call, definedAt: candidate.definedAt, grants: grants,
          file: declaringFile(sourceType)))
        break
      }
    }
    return Array(found.sorted { ($0.grants, $0.call) < ($1.grants, $1.call) }.prefix(limit))
  }

  /// `$3` → 3.
  static func argumentNumber(_ word: String) -> Int? {
    word.hasPrefix("$") ? Int(word.dropFirst()) : nil
  }

  /// The module file that declares `type` (`type T` or a call naming it first), else the first that names it.
  func declaringFile(_ type: String) -> String? {
    let declaration = try? NSRegularExpression(pattern: "^\\s*(type\\s+|[A-Za-z_][A-Za-z0-9_]*\\(\\s*)\(NSRegularExpression.escapedPattern(for: type))\\b",
      options: .anchorsMatchLines)
    for (path, text) in moduleFiles where declaration?.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil {
      return path
    }
    return moduleFiles.first { $0.text.contains(type) }?.path
  }
}
