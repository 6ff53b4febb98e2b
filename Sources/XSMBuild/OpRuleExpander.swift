import Foundation
import XSMCatalog
import XSMDiagnostics
import XSMPolicy

/// Expands op rules (`allow S T : op { domctl.pause };`) into the class
/// rules the ops' Flask checks need, through the op catalog.
///
/// For each check of each op (in every situation, so the rule covers every
/// call): the caller is `S`; a domain object is `T` (Xen derives self and
/// device-model target SIDs from the types the policy gives, so `T` is the
/// type the check meets); fixed objects are the types of the policy's
/// initial SIDs; a new event channel's type comes from the policy's
/// `type_transition S T : event` rule. Checks that cannot be written from
/// `S` and `T` alone (device labels, checks made for a third domain) are
/// left out with a warning that names them.
public struct OpRuleExpander: OpRuleExpanding {
  public let catalog: OpCatalog

  public init(catalog: OpCatalog) { self.catalog = catalog }

  public func expand(_ syntax: PolicySyntax) -> OpRuleExpansion {
    var context = Context(catalog: catalog)
    context.collectFacts(syntax.statements)
    let statements = context.rewrite(syntax.statements)
    return OpRuleExpansion(
      syntax: PolicySyntax(statements: statements), expansions: context.expansions, diagnostics: context.diagnostics)
  }

  private struct Context {
    let catalog: OpCatalog
    var sidTypes: [String: String] = [:]
    var channelTypes: [String: String] = [:]
    var expansions: [(span: SourceSpan, text: String)] = []
    var diagnostics: [Diagnostic] = []

    init(catalog: OpCatalog) { self.catalog = catalog }

    /// Initial SID types and plain `type_transition S T : event` results.
    mutating func collectFacts(_ statements: [Statement]) {
      for statement in statements {
        switch statement.kind {
        case .sidContext(let name, let context): sidTypes[name.text] = context.type.text
        case .typeRule(.typeTransition, let source, let target, let classes, let result)
        where source.isPlainList && target.isPlainList && classes.included.contains { $0.text == "event" }:
          for s in source.included { for t in target.included { channelTypes["\(s.text) \(t.text)"] = result.text } }
        default: break
        }
      }
    }

    mutating func rewrite(_ statements: [Statement]) -> [Statement] {
      statements.flatMap { statement -> [Statement] in
        switch statement.kind {
        case .conditional(let condition, let then, let otherwise):
          return [Statement(.conditional(condition, then: rewrite(then), otherwise: rewrite(otherwise)), span: statement.span)]
        case .accessRule(let kind, let source, let target, let classes, let permissions) where statement.isOpRule:
          // The class rules keep the op rule's place, for rule origins.
          return expand(kind, source, target, classes, permissions, span: statement.span).map { rule in
            Statement(rule.kind, span: rule.span, outputLine: statement.outputLine)
          }
        default:
          return [statement]
        }
      }
    }

    private mutating func expand(
      _ kind: AccessRuleKind, _ source: NameSet, _ target: NameSet, _ classes: NameSet, _ permissions: NameSet,
      span: SourceSpan
    ) -> [Statement] {
      guard classes.isPlainList, classes.included.count == 1 else {
        error(.op.mixedClasses, "an op rule names only the `op` class", classes.span,
          help: "write the op rule and the class rule as two statements")
        return []
      }
      guard permissions.isPlainList else {
        error(.op.badSet, "op rules list ops by name; `*`, `~` and `-` are not allowed here", permissions.span)
        return []
      }
      // (object key, class) → permissions, in first-seen order.
      var groups: [(object: NameSet, securityClass: String, permissions: [String])] = []
      func add(_ object: NameSet, _ cls: String, _ perms: [String]) {
        if let i = groups.firstIndex(where: { $0.object == object && $0.securityClass == cls }) {
          for p in perms where !groups[i].permissions.contains(p) { groups[i].permissions.append(p) }
        } else {
          groups.append((object, cls, perms))
        }
      }
      for name in permissions.included {
        guard let op = catalog.op(named: name.text) else {
          let hint = Suggestion.closest(to: name.text, in: catalog.allNames).map { "did you mean `\($0)`?" }
          error(.op.unknownOp, "unknown op `\(name.text)`", name.span, help: hint ?? "`xsmc ops` lists the ops")
          continue
        }
        if !op.isHooked {
          warning(.op.noHook, "`\(op.name)` passes no XSM hook; no rule can \(kind == .neverallow ? "forbid" : "grant") it",
            name.span)
          continue
        }
        switch op.flask {
        case .unclassified?:
          warning(.op.unclassified,
            "flask never classifies `\(op.name)`; handle_unknown decides it and no rule changes that", name.span)
          continue
        case .unchecked?:
          warning(.op.noCheck, "`\(op.name)`'s hook makes no Flask check; the rule adds nothing", name.span)
          continue
        case nil: break
        }
        let callerChecked = op.checks.contains { $0.subject.isCaller }
        var skipped: [String] = []
        for check in op.checks {
          guard check.subject.isCaller || (check.subject.kind == .domain && !callerChecked) else {
            skipped.append("\(check.text) (made for \(check.subject.name), not the caller)")
            continue
          }
          guard let object = objectSet(check.object, source: source, target: target, span: name.span) else {
            skipped.append("\(check.text) (\(reason(for: check.object)))")
            continue
          }
          add(object, check.securityClass, check.concretePermissions)
        }
        if !skipped.isEmpty {
          warning(.op.partialExpansion,
            "`\(op.name)` also needs checks an op rule cannot express: " + skipped.joined(separator: "; "),
            name.span)
        }
      }
      let statements = groups.map { group in
        Statement(
          .accessRule(kind, source: source, target: group.object,
            classes: NameSet(Name(group.securityClass, span: classes.span)),
            permissions: NameSet(included: group.permissions.map { Name($0, span: permissions.span) }, span: permissions.span)),
          span: span)
      }
      let text = groups.map { g in
        "\(kind.rawValue) \(Self.render(source)) \(Self.render(g.object)):\(g.securityClass) "
          + (g.permissions.count == 1 ? g.permissions[0] : "{ \(g.permissions.joined(separator: " ")) }") + ";\n"
      }.joined()
      expansions.append((span, text.isEmpty ? "# (expands to no rule)\n" : text))
      return statements
    }

    private func objectSet(_ endpoint: Endpoint, source: NameSet, target: NameSet, span: SourceSpan) -> NameSet? {
      switch endpoint.kind {
      case .domain: return target
      case .fixed:
        let sid = endpoint.initialSIDName ?? endpoint.name
        return NameSet(Name(sidTypes[sid] ?? endpoint.name, span: span))
      case .label:
        guard endpoint.name == "channel", source.isPlainList, target.isPlainList, source.included.count == 1,
          target.included.count == 1,
          let channel = channelTypes["\(source.included[0].text) \(target.included[0].text)"]
        else { return nil }
        return NameSet(Name(channel, span: span))
      }
    }

    private func reason(for endpoint: Endpoint) -> String {
      switch endpoint.name {
      case "channel":
        return "the channel type comes from `type_transition S T : event`, which the policy lacks for these names"
      case "remote_channel": return "the peer channel's type depends on the other domain's rules"
      case "new_label": return "the new label is chosen by the caller at run time"
      default: return "\(endpoint.name) is a device label from ocontexts; grant its type with a class rule"
      }
    }

    static func render(_ set: NameSet) -> String {
      if set.star && set.excluded.isEmpty { return "*" }
      var inner = set.included.map(\.text) + set.excluded.map { "-" + $0.text }
      if set.star { inner.insert("*", at: 0) }
      let body = inner.count == 1 && !set.star ? inner[0] : "{ \(inner.joined(separator: " ")) }"
      return set.complement ? "~" + body : body
    }

    private mutating func error(_ id: DiagnosticID, _ message: String, _ span: SourceSpan, help: String? = nil) {
      diagnostics.append(Diagnostic(id, .error, message, span: span, help: help))
    }
    private mutating func warning(_ id: DiagnosticID, _ message: String, _ span: SourceSpan) {
      diagnostics.append(Diagnostic(id, .warning, message, span: span))
    }
  }
}

/// An op catalog read the first time a policy's op rules need it, so that a
/// build of a policy without op rules never pays for reading one (on a
/// Xen-sized policy that was most of xsmc's start-up).
public final class DeferredOpCatalog: @unchecked Sendable {
  private let load: @Sendable () -> OpCatalog?
  private let lock = NSLock()
  private var loaded: OpCatalog??

  /// `load` runs at most once; nil from it means no catalog could be read
  /// (it reports why itself).
  public init(_ load: @escaping @Sendable () -> OpCatalog?) { self.load = load }

  /// The catalog, read on first use.
  public var catalog: OpCatalog? {
    lock.lock()
    defer { lock.unlock() }
    if let loaded { return loaded }
    let catalog = load()
    loaded = .some(catalog)
    return catalog
  }
}

extension DeferredOpCatalog {
  /// The catalog `xsmc build` would use for the policy at `path` when no
  /// `--catalog` is given: a tree's own `ops/` directory, else the built-in
  /// catalog. Load errors make op rules fail with `op.no-catalog`.
  public static func forPolicy(at path: String) -> DeferredOpCatalog {
    let directory = PolicyTree.isTree(path) ? ownDirectory(ofTree: path) : nil
    return DeferredOpCatalog { load(directory: directory).0 }
  }

  /// The catalog in `directory`, or the built-in one for nil, and what loading it reported.
  public static func load(directory: String?) -> (OpCatalog?, DiagnosticList) {
    directory.map { CatalogLoader.load(directory: $0) } ?? EmbeddedCatalog.load()
  }

  /// A tree's own catalog: its `ops/` directory, when there is one.
  public static func ownDirectory(ofTree tree: String) -> String? {
    let ops = (tree as NSString).appendingPathComponent("ops")
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: ops, isDirectory: &isDirectory) && isDirectory.boolValue ? ops : nil
  }
}

extension BuildOptions {
  /// Options for building the policy source at `path` the way a system file
  /// names one: MLS or not, op rules through the catalog `xsmc build` would use.
  public static func forPolicy(at path: String, mls: Bool) -> BuildOptions {
    var options = BuildOptions(mls: mls)
    options.deferredCatalog = .forPolicy(at: path)
    return options
  }
}

/// Expands op rules through a catalog read only when a policy has op rules.
struct DeferredOpRuleExpander: OpRuleExpanding {
  let deferred: DeferredOpCatalog

  func expand(_ syntax: PolicySyntax) -> OpRuleExpansion {
    if let catalog = deferred.catalog { return OpRuleExpander(catalog: catalog).expand(syntax) }
    return OpRuleExpansion(syntax: syntax, expansions: [], diagnostics: [PolicyFrontend.noCatalogDiagnostic])
  }
}
