import XSMDiagnostics

/// Options that change what the checker accepts.
public struct CheckOptions: Sendable {
  /// Build an MLS policy (`--mls`); MLS statements are errors otherwise.
  public var mls: Bool
  /// Binary policy version (24 or 30); device tree labels need 30.
  public var policyVersion: Int
  /// Expands op rules (`allow S T : op { domctl.pause }`) before resolving;
  /// without one, op rules are errors.
  public var opRules: (any OpRuleExpanding)?
  /// How a policy tree is read (classes directory, extra m4 definitions).
  public var tree: TreeOptions
  /// The Xen release `check.xen-abi` compares with (`--xen`); nil compares
  /// with the releases whose classes the policy has, else the newest release.
  public var xenRelease: XenRelease?
  /// The largest policy text read, in bytes (`--max-input-size`): a policy.conf, or m4's output for a tree.
  public var maxInputSize = CheckOptions.defaultMaxInputSize
  /// 256 MiB: far above real policies (Xen's is 40 KB, refpolicy's about 5 MB) and below what would exhaust memory.
  public static let defaultMaxInputSize = 256 << 20
  public init(
    mls: Bool = false, policyVersion: Int = 30, opRules: (any OpRuleExpanding)? = nil, tree: TreeOptions = TreeOptions(),
    xenRelease: XenRelease? = nil
  ) {
    self.mls = mls
    self.policyVersion = policyVersion
    self.opRules = opRules
    self.tree = tree
    self.xenRelease = xenRelease
  }
}

/// Rewrites op rules into class rules through an op catalog. The policy
/// language only knows that `op` is the pseudo-class of such rules; what an
/// op needs comes from the catalog (see `XSMBuild.OpRuleExpander`).
public protocol OpRuleExpanding: Sendable {
  /// Replaces every op rule of `syntax` with the class rules it stands for.
  func expand(_ syntax: PolicySyntax) -> OpRuleExpansion
}

/// The result of expanding op rules: the rewritten syntax, the class rules
/// each op rule became (for `--emit conf`), and diagnostics.
public struct OpRuleExpansion: Sendable {
  public var syntax: PolicySyntax
  /// For each op rule, in source order: its span and the policy text of its expansion.
  public var expansions: [(span: SourceSpan, text: String)]
  public var diagnostics: [Diagnostic]
  public init(syntax: PolicySyntax, expansions: [(span: SourceSpan, text: String)], diagnostics: [Diagnostic]) {
    self.syntax = syntax
    self.expansions = expansions
    self.diagnostics = diagnostics
  }
}

extension Statement {
  /// True for `allow S T : op { ... }` and the other access rule kinds on the `op` pseudo-class.
  public var isOpRule: Bool {
    if case .accessRule(_, _, _, let classes, _) = kind {
      return classes.included.contains { $0.text == "op" } || classes.excluded.contains { $0.text == "op" }
    }
    return false
  }
}

extension PolicySyntax {
  /// Whether any statement, inside conditionals too, is an op rule.
  public var containsOpRules: Bool {
    func scan(_ statements: [Statement]) -> Bool {
      statements.contains { s in
        if s.isOpRule { return true }
        if case .conditional(_, let a, let b) = s.kind { return scan(a) || scan(b) }
        return false
      }
    }
    return scan(statements)
  }
}

/// The declare, resolve and check passes: builds symbol tables (declare),
/// makes sure every name a statement uses exists and has the right kind
/// (resolve), and enforces the rules libsepol would otherwise reject with a
/// terse message (check). All problems are collected, not only the first.
public struct Resolver {
  public private(set) var model: PolicyModel
  public private(set) var diagnostics: [Diagnostic] = []
  private let options: CheckOptions
  private var firstMLSStatement: SourceSpan?
  /// Each class's permissions (common's included), made once the access
  /// vectors are read, so a rule's permissions are checked by hashing rather
  /// than by searching lists.
  private var classPermissions: [String: Set<String>] = [:]
  /// `model.sidOrder`, `model.sensitivities` and `model.categories` as sets.
  private var sidNames: Set<String> = []
  private var sensitivityNames: Set<String> = []
  private var categoryNames: Set<String> = []

  public init(syntax: PolicySyntax, options: CheckOptions) {
    model = PolicyModel(syntax: syntax, mls: options.mls)
    model.policyVersion = options.policyVersion
    self.options = options
  }

  /// Runs all passes; the model is usable for lowering only when no error was reported.
  public static func check(_ syntax: PolicySyntax, options: CheckOptions) -> (PolicyModel, [Diagnostic]) {
    var resolver = Resolver(syntax: syntax, options: options)
    resolver.declare(syntax.statements, inConditional: false)
    resolver.finishDeclarations()
    resolver.resolve(syntax.statements)
    resolver.checkWhole()
    return (resolver.model, resolver.diagnostics)
  }

  private mutating func error(
    _ id: DiagnosticID, _ message: String, at span: SourceSpan, label: String? = nil, help: String? = nil,
    notes: [DiagnosticNote] = [], fixes: [FixIt] = []
  ) {
    diagnostics.append(Diagnostic(id, .error, message, span: span, label: label, help: help, notes: notes, fixes: fixes))
  }

  private mutating func warning(_ id: DiagnosticID, _ message: String, at span: SourceSpan, label: String? = nil, help: String? = nil) {
    diagnostics.append(Diagnostic(id, .warning, message, span: span, label: label, help: help))
  }

  // MARK: Declare

  private mutating func declareTypeName(_ name: Name, kind: TypeSymbolKind, actual: String? = nil) -> Bool {
    if name.text == "self" {
      error(.declare.reservedName, "`self` is reserved and cannot be declared", at: name.span,
        label: "means the source type in a rule's target")
      return false
    }
    if let first = model.typeSymbols[name.text] {
      let what = first.kind.rawValue
      error(.declare.duplicate, "`\(name.text)` is already declared", at: name.span, label: "declared again here",
        notes: [DiagnosticNote("first declared here as \(what == "alias" ? "an alias" : "a" + (what == "attribute" ? "n attribute" : " type"))", span: first.span)])
      return false
    }
    model.typeSymbols[name.text] = TypeSymbol(name: name.text, kind: kind, actual: actual, span: name.span)
    switch kind {
    case .type: model.typeOrder.append(name.text)
    case .attribute: model.attributeOrder.append(name.text)
    case .alias: break
    }
    return true
  }

  private mutating func noteMLS(_ span: SourceSpan) {
    if firstMLSStatement == nil { firstMLSStatement = span }
    if !options.mls {
      error(.check.mlsDisabled, "MLS statement in a non-MLS build", at: span, label: "needs an MLS policy",
        help: "build with `--mls`, or guard MLS parts with m4 `ifdef(`enable_mls', ...)`")
    }
  }

  private mutating func declare(_ statements: [Statement], inConditional: Bool) {
    for statement in statements {
      if inConditional {
        switch statement.kind {
        case .accessRule(let kind, _, _, _, _) where kind != .neverallow: continue
        case .typeRule: continue
        case .conditional:
          error(.check.statementInConditional, "conditional blocks cannot be nested", at: statement.span,
            label: "nested `if`", help: "combine the conditions with `&&`")
          continue
        default:
          error(.check.statementInConditional, "only allow, auditallow, dontaudit and type rules may appear in a conditional block",
            at: statement.span, label: "not allowed inside `if`", help: "move this statement out of the `if` block")
          continue
        }
      }
      switch statement.kind {
      case .classDeclaration(let name):
        if let first = model.classes[name.text] {
          error(.declare.duplicate, "class `\(name.text)` is already declared", at: name.span, label: "declared again here",
            notes: [DiagnosticNote("first declared here", span: first.span)])
        } else {
          model.classes[name.text] = ClassSymbol(name: name.text, span: name.span)
          model.classOrder.append(name.text)
        }
      case .common(let name, let permissions):
        if model.commons[name.text] != nil {
          error(.declare.duplicate, "common `\(name.text)` is already declared", at: name.span)
        } else {
          model.commons[name.text] = uniquePermissions(permissions, owner: "common `\(name.text)`")
        }
      case .sidDeclaration(let name):
        if sidNames.contains(name.text) {
          error(.declare.duplicate, "initial SID `\(name.text)` is already declared", at: name.span, label: "declared again here")
        } else {
          model.sidOrder.append(name.text)
          sidNames.insert(name.text)
        }
      case .type(let name, let aliases, _):
        _ = declareTypeName(name, kind: .type)
        for alias in aliases { _ = declareTypeName(alias, kind: .alias, actual: name.text) }
      case .attribute(let name):
        _ = declareTypeName(name, kind: .attribute)
      case .role(let name, _):
        // `role` may repeat to add types; only the first declares.
        if model.roles[name.text] == nil && name.text != "object_r" {
          model.roles[name.text] = name.span
          model.roleOrder.append(name.text)
        }
      case .user(let name, _, let level, _):
        if let first = model.users[name.text] {
          error(.declare.duplicate, "user `\(name.text)` is already declared", at: name.span, label: "declared again here",
            notes: [DiagnosticNote("first declared here", span: first)])
        } else {
          model.users[name.text] = name.span
          model.userOrder.append(name.text)
        }
        if level != nil { noteMLS(statement.span) }
      case .boolean(let name, let value):
        if model.booleans[name.text] != nil {
          error(.declare.duplicate, "boolean `\(name.text)` is already declared", at: name.span, label: "declared again here")
        } else {
          model.booleans[name.text] = value
          model.booleanOrder.append(name.text)
        }
      case .sensitivity(let name, let aliases):
        noteMLS(statement.span)
        if sensitivityNames.contains(name.text) || model.sensitivityAliases[name.text] != nil {
          error(.declare.duplicate, "sensitivity `\(name.text)` is already declared", at: name.span)
        } else {
          model.sensitivities.append(name.text)
          sensitivityNames.insert(name.text)
          for alias in aliases { model.sensitivityAliases[alias.text] = name.text }
        }
      case .category(let name, let aliases):
        noteMLS(statement.span)
        if categoryNames.contains(name.text) || model.categoryAliases[name.text] != nil {
          error(.declare.duplicate, "category `\(name.text)` is already declared", at: name.span)
        } else {
          model.categories.append(name.text)
          categoryNames.insert(name.text)
          for alias in aliases { model.categoryAliases[alias.text] = name.text }
        }
      case .dominance(let order):
        noteMLS(statement.span)
        model.dominance = order.map(\.text)
      case .levelDeclaration, .constraint(.mlsconstrain, _, _, _), .constraint(.mlsvalidatetrans, _, _, _):
        noteMLS(statement.span)
      case .conditional(_, let thenBranch, let elseBranch):
        declare(thenBranch, inConditional: true)
        declare(elseBranch, inConditional: true)
      default:
        break
      }
    }
  }

  private mutating func uniquePermissions(_ permissions: [Name], owner: String) -> [String] {
    var seen: [String: SourceSpan] = [:]
    var result: [String] = []
    for permission in permissions {
      if let first = seen[permission.text] {
        error(.declare.duplicate, "permission `\(permission.text)` appears twice in \(owner)", at: permission.span,
          notes: [DiagnosticNote("first listed here", span: first)])
      } else {
        seen[permission.text] = permission.span
        result.append(permission.text)
      }
    }
    return result
  }

  /// Access vectors and type memberships need every declaration known first.
  private mutating func finishDeclarations() {
    for statement in model.syntax.statements {
      switch statement.kind {
      case .accessVector(let className, let common, let permissions):
        guard var symbol = model.classes[className.text] else {
          unknown("class", className, candidates: model.classOrder, id: .resolve.unknownClass,
            help: "declare it first with `class \(className.text)` (security_classes)")
          continue
        }
        if symbol.hasAccessVector {
          error(.declare.duplicate, "class `\(className.text)` already has its permissions", at: className.span,
            label: "second access vector")
          continue
        }
        symbol.hasAccessVector = true
        if let common {
          if model.commons[common.text] == nil {
            unknown("common", common, candidates: model.commons.keys, id: .resolve.unknownCommon)
          } else {
            symbol.common = common.text
          }
        }
        let inherited = Set(symbol.common.flatMap { model.commons[$0] } ?? [])
        var own = uniquePermissions(permissions, owner: "class `\(className.text)`")
        for permission in permissions where inherited.contains(permission.text) {
          error(.declare.duplicate, "permission `\(permission.text)` is already inherited from common `\(common?.text ?? "")`",
            at: permission.span)
          own.removeAll { $0 == permission.text }
        }
        symbol.ownPermissions = own
        model.classes[className.text] = symbol
      case .type(let name, _, let attributes):
        for attribute in attributes { addMembership(type: name, attribute: attribute) }
      case .typeAlias(let name, let aliases):
        guard let actual = resolveType(name, allowAttribute: false) else { continue }
        for alias in aliases { _ = declareTypeName(alias, kind: .alias, actual: actual) }
      default:
        break
      }
    }
    // typeattribute after every alias is known.
    for statement in model.syntax.statements {
      if case .typeAttribute(let name, let attributes) = statement.kind {
        for attribute in attributes { addMembership(type: name, attribute: attribute) }
      }
    }
    for className in model.classOrder { classPermissions[className] = Set(model.permissions(of: className)) }
  }

  private mutating func addMembership(type: Name, attribute: Name) {
    guard let actual = resolveType(type, allowAttribute: false) else { return }
    guard let symbol = model.typeSymbols[attribute.text] else {
      unknown("attribute", attribute, candidates: model.attributeOrder, id: .resolve.unknownType)
      return
    }
    guard symbol.kind == .attribute else {
      error(.check.expectedAttribute, "`\(attribute.text)` is a type, not an attribute", at: attribute.span,
        label: "expected an attribute", notes: [DiagnosticNote("declared as a type here", span: symbol.span)])
      return
    }
    model.attributeMembers[attribute.text, default: []].insert(actual)
  }

  // MARK: Resolve

  private mutating func unknown(
    _ what: String, _ name: Name, candidates: some Sequence<String>, id: DiagnosticID, help: String? = nil
  ) {
    let suggestion = Suggestion.closest(to: name.text, in: candidates)
    error(id, "unknown \(what) `\(name.text)`", at: name.span, label: "not declared",
      help: suggestion.map { "did you mean `\($0)`?" } ?? help)
  }

  /// The real type `name` denotes, or nil after reporting why not.
  @discardableResult
  private mutating func resolveType(_ name: Name, allowAttribute: Bool) -> String? {
    guard let symbol = model.typeSymbols[name.text] else {
      unknown(allowAttribute ? "type or attribute" : "type", name, candidates: model.typeSymbols.keys, id: .resolve.unknownType)
      return nil
    }
    if symbol.kind == .attribute && !allowAttribute {
      error(.check.expectedType, "`\(name.text)` is an attribute, but a single type is needed here", at: name.span,
        label: "attribute", notes: [DiagnosticNote("declared as an attribute here", span: symbol.span)])
      return nil
    }
    return symbol.kind == .alias ? symbol.actual : name.text
  }

  private mutating func resolveTypeSet(_ set: NameSet, allowSelf: Bool) {
    for name in set.included { resolveTypeOrSelf(name, allowSelf: allowSelf) }
    for name in set.excluded { resolveTypeOrSelf(name, allowSelf: allowSelf) }
  }

  private mutating func resolveTypeOrSelf(_ name: Name, allowSelf: Bool) {
    guard name.text == "self" else {
      resolveType(name, allowAttribute: true)
      return
    }
    if !allowSelf {
      error(.check.misplacedSelf, "`self` can only be used in a rule's target", at: name.span,
        label: "not allowed here", help: "`self` stands for each source type; name the types explicitly here")
    }
  }

  private mutating func resolveClasses(_ set: NameSet) -> [String] {
    // The common case, one class by name, needs no set arithmetic.
    if set.isPlainList, set.included.count == 1 {
      let name = set.included[0]
      guard model.classes[name.text] != nil else {
        unknown("class", name, candidates: model.classOrder, id: .resolve.unknownClass)
        return []
      }
      return [name.text]
    }
    var valid = true
    for name in set.names where model.classes[name.text] == nil {
      unknown("class", name, candidates: model.classOrder, id: .resolve.unknownClass)
      valid = false
    }
    return valid ? model.expand(classSet: set) : []
  }

  /// Reports every permission of `set` that a class of the rule lacks; true when it reported one.
  @discardableResult
  private mutating func resolvePermissions(_ set: NameSet, classes: [String], classSet: NameSet) -> Bool {
    guard !classes.isEmpty else { return false }
    var reported = false
    for name in set.included { reported = reportUnknownPermission(name, classes: classes, set: set) || reported }
    for name in set.excluded { reported = reportUnknownPermission(name, classes: classes, set: set) || reported }
    return reported
  }

  /// Reports `name` when a class of the rule lacks it; true when it did.
  private mutating func reportUnknownPermission(_ name: Name, classes: [String], set: NameSet) -> Bool {
    guard let className = classes.first(where: { classPermissions[$0]?.contains(name.text) != true }) else {
      return false
    }
    let inRule = Set(set.names.map(\.text))
    var label = "not a permission of `\(className)`"
    var help: String?
    var fixes: [FixIt] = []
    let owners = model.classOrder.filter { $0 != className && model.permissions(of: $0).contains(name.text) }
    if let change = XenABIHistory.fate(of: name.text, in: className, upTo: options.xenRelease) {
      (label, help, fixes) = historyNote(change, name: name, className: className, inRule: inRule)
    } else if let rename = XenABIHistory.releases.flatMap(\.changes).last(where: {
      $0.kind == .renamed && $0.className == className && $0.newName == name.text
    }), model.permissions(of: className).contains(rename.permission) {
      // A newer name in a policy whose classes predate the rename.
      label = "the name from Xen \(rename.release) on"
      help = "Xen \(rename.release) renamed `\(rename.permission)` `\(name.text)` (\(rename.citation)), but this policy's "
        + "`\(className)` still calls it `\(rename.permission)`"
      if !inRule.contains(rename.permission) {
        fixes = [FixIt(span: name.span, original: name.text, replacement: rename.permission)]
      }
    } else if !owners.isEmpty {
      let list = owners.map { "`\($0)`" }
      let joined = list.count == 1 ? list[0] : list.dropLast().joined(separator: ", ") + " and " + list[list.count - 1]
      help = "`\(name.text)` is a permission of class\(owners.count == 1 ? "" : "es") \(joined), not `\(className)`"
    } else if let suggestion = Suggestion.closest(
      to: name.text, in: model.permissions(of: className).filter { !inRule.contains($0) })
    {
      help = "did you mean `\(suggestion)`?"
    } else if classes.count > 1 {
      help = "each permission must exist in every class of the rule"
    }
    error(.resolve.unknownPermission, "unknown permission `\(name.text)` in class `\(className)`", at: name.span,
      label: label, help: help, fixes: fixes)
    return true
  }

  /// What Xen's history says about a permission a release renamed or
  /// removed: a label, the help citing the commit, and the fix for a rename
  /// whose new name the class has.
  private func historyNote(
    _ change: XenABIChange, name: Name, className: String, inRule: Set<String>
  ) -> (label: String, help: String, fixes: [FixIt]) {
    if let (newName, via) = XenABIHistory.currentName(after: change, upTo: options.xenRelease) {
      let steps = via.map { "`\($0.newName ?? "")` in Xen \($0.release) (\($0.citation))" }
      var help = "`\(name.text)` was renamed " + steps.joined(separator: ", then ")
      var fixes: [FixIt] = []
      if inRule.contains(newName) {
        help += "; `\(newName)` is already in this rule, so drop `\(name.text)`"
      } else if model.permissions(of: className).contains(newName) {
        fixes = [FixIt(span: name.span, original: name.text, replacement: newName)]
        help += "; use `\(newName)` (or run `xsmc port` on the whole policy)"
      } else {
        help += "; class `\(className)` of this policy has no `\(newName)` either"
      }
      return ("renamed `\(newName)` in Xen \(via[via.count - 1].release)", help, fixes)
    }
    let removal = change.kind == .removed ? change : (XenABIHistory.fate(of: change.newName ?? "", in: className) ?? change)
    var help = "`\(name.text)` was removed from class `\(className)` in Xen \(removal.release) (\(removal.citation))"
    if let instead = removal.instead { help += ": \(instead)" }
    return ("removed in Xen \(removal.release)", help, [])
  }

  private mutating func resolveRole(_ name: Name) {
    if name.text != "object_r" && model.roles[name.text] == nil {
      unknown("role", name, candidates: model.roleOrder + ["object_r"], id: .resolve.unknownRole)
    }
  }

  private mutating func resolveBoolean(_ name: Name) {
    if model.booleans[name.text] == nil {
      unknown("boolean", name, candidates: model.booleanOrder, id: .resolve.unknownBoolean)
    }
  }

  private mutating func resolveLevel(_ level: Level) {
    let s = level.sensitivity
    if !sensitivityNames.contains(s.text) && model.sensitivityAliases[s.text] == nil {
      unknown("sensitivity", s, candidates: model.sensitivities, id: .resolve.unknownSensitivity)
    }
    for item in level.categories {
      let names: [Name]
      switch item {
      case .single(let c): names = [c]
      case .range(let a, let b): names = [a, b]
      }
      for c in names where !categoryNames.contains(c.text) && model.categoryAliases[c.text] == nil {
        unknown("category", c, candidates: model.categories, id: .resolve.unknownCategory)
      }
    }
  }

  private mutating func resolveContext(_ context: Context) {
    if model.users[context.user.text] == nil {
      unknown("user", context.user, candidates: model.userOrder, id: .resolve.unknownUser)
    }
    resolveRole(context.role)
    resolveType(context.type, allowAttribute: false)
    if let range = context.range {
      if !options.mls {
        error(.check.mlsDisabled, "context has an MLS range in a non-MLS build", at: range.low.sensitivity.span,
          label: "MLS range", help: "build with `--mls`, or drop the range")
      } else {
        resolveLevel(range.low)
        resolveLevel(range.high)
      }
    } else if options.mls {
      error(.check.mlsRangeMissing, "context needs an MLS range in an MLS build", at: context.type.span,
        label: "add `:s0` or a range after the type")
    }
  }

  private mutating func resolve(_ statements: [Statement]) {
    for statement in statements {
      switch statement.kind {
      case .sidContext(let name, let context):
        if !sidNames.contains(name.text) {
          unknown("initial SID", name, candidates: model.sidOrder, id: .resolve.unknownSid,
            help: "declare it with `sid \(name.text)` in initial_sids")
        } else if let first = model.sidContexts[name.text] {
          error(.declare.duplicate, "initial SID `\(name.text)` already has a context", at: name.span,
            notes: [DiagnosticNote("first context here", span: first.span)])
        } else {
          model.sidContexts[name.text] = context
        }
        resolveContext(context)
      case .permissive(let name):
        resolveType(name, allowAttribute: false)
      case .typeBounds(let parent, let children):
        resolveType(parent, allowAttribute: false)
        for child in children { resolveType(child, allowAttribute: false) }
      case .role(_, let types):
        if let types { resolveTypeSet(types, allowSelf: false) }
      case .roleAllow(let from, let to):
        for set in [from, to] {
          for name in set.included { resolveRole(name) }
          for name in set.excluded { resolveRole(name) }
        }
      case .user(_, let roles, let level, let range):
        for name in roles.names { resolveRole(name) }
        if options.mls {
          if let level, let range {
            resolveLevel(level)
            resolveLevel(range.low)
            resolveLevel(range.high)
          } else {
            error(.check.mlsRangeMissing, "user needs `level` and `range` in an MLS build", at: statement.span,
              label: "add `level s0 range s0`")
          }
        }
      case .conditional(let condition, let thenBranch, let elseBranch):
        for name in condition.booleans { resolveBoolean(name) }
        resolve(thenBranch)
        resolve(elseBranch)
      case .accessRule(let kind, let source, let target, let classes, let permissions):
        resolveTypeSet(source, allowSelf: false)
        resolveTypeSet(target, allowSelf: true)
        let classNames = resolveClasses(classes)
        // An unknown permission already explains an empty set; say it once.
        let hadUnknown = resolvePermissions(permissions, classes: classNames, classSet: classes)
        // A plain list of known permissions is never empty.
        if !hadUnknown, kind != .neverallow, classNames.count == 1, !permissions.isPlainList,
          model.expand(permissionSet: permissions, in: classNames[0]).isEmpty, !permissions.names.isEmpty || permissions.complement
        {
          warning(.check.emptyPermissionSet, "rule grants no permission", at: permissions.span, label: "empty after `~` or `-`")
        }
      case .typeRule(_, let source, let target, let classes, let result):
        resolveTypeSet(source, allowSelf: false)
        resolveTypeSet(target, allowSelf: true)
        _ = resolveClasses(classes)
        resolveType(result, allowAttribute: false)
      case .constraint(let kind, let classes, let permissions, let expression):
        let classNames = resolveClasses(classes)
        if let permissions { resolvePermissions(permissions, classes: classNames, classSet: classes) }
        resolveConstraint(expression, kind: kind)
      case .levelDeclaration(let level):
        resolveLevel(level)
      case .dominance(let order):
        for name in order where !sensitivityNames.contains(name.text) {
          unknown("sensitivity", name, candidates: model.sensitivities, id: .resolve.unknownSensitivity)
        }
      case .ocontext(let kind, let low, let high, _, let context):
        if kind == .devicetreecon && options.policyVersion < 30 {
          warning(.check.needsPolicyVersion, "`devicetreecon` needs policy version 30; this label is left out of the version \(options.policyVersion) binary",
            at: statement.span, label: "dropped", help: "build with `--policy-version 30` to keep device tree labels")
        }
        if kind == .iomemcon && options.policyVersion < 30 && high > UInt64(UInt32.max) {
          error(.check.needsPolicyVersion, "I/O memory frame beyond 32 bits needs policy version 30", at: statement.span)
        }
        if kind == .ioportcon && high > 0xFFFF {
          error(.check.outOfRange, "I/O port \(high) is beyond 0xffff", at: statement.span, label: "x86 ports are 16-bit")
        }
        if kind == .pirqcon && high > UInt64(UInt32.max) {
          error(.check.outOfRange, "IRQ \(high) is beyond 32 bits", at: statement.span)
        }
        resolveContext(context)
      default:
        break
      }
    }
  }

  private mutating func resolveConstraint(_ expression: ConstraintExpression, kind: ConstraintKind) {
    switch expression {
    case .not(let e): resolveConstraint(e, kind: kind)
    case .and(let a, let b), .or(let a, let b):
      resolveConstraint(a, kind: kind)
      resolveConstraint(b, kind: kind)
    case .compare(let op, let left, let right, let span):
      let leftLevel = [.l1, .l2, .h1, .h2].contains(left)
      if leftLevel && !kind.isMLS {
        error(.check.mlsOperand, "level operand `\(left.rawValue)` in a non-MLS constraint", at: span, help: "use `mlsconstrain`")
      }
      if (op == .dom || op == .domby || op == .incomp) && !(leftLevel || [.r1, .r2].contains(left)) {
        error(.check.constraintOperator, "`\(op.rawValue)` compares roles or levels, not `\(left.rawValue)`", at: span)
      }
      if (left == .u3 || left == .r3 || left == .t3 || right == .u3 || right == .r3 || right == .t3)
        && kind.hasPermissions
      {
        error(.check.constraintOperand, "`u3`, `r3` and `t3` exist only in validatetrans", at: span)
      }
      if left.rawValue.prefix(1) != right.rawValue.prefix(1) && !(leftLevel && [.l1, .l2, .h1, .h2].contains(right)) {
        error(.check.constraintOperand, "cannot compare `\(left.rawValue)` with `\(right.rawValue)`", at: span,
          label: "operands of different kinds")
      }
    case .compareNames(let op, let left, let names):
      if op != .equal && op != .notEqual {
        error(.check.constraintOperator, "only `==` and `!=` compare with names", at: names.span)
      }
      switch left {
      case .u1, .u2, .u3:
        for name in names.names where model.users[name.text] == nil {
          unknown("user", name, candidates: model.userOrder, id: .resolve.unknownUser)
        }
      case .r1, .r2, .r3:
        for name in names.names { resolveRole(name) }
      case .t1, .t2, .t3:
        for name in names.names { resolveType(name, allowAttribute: true) }
      case .l1, .l2, .h1, .h2:
        error(.check.constraintOperand, "levels cannot be compared with names", at: names.span)
      }
    }
  }

  // MARK: Whole-policy checks

  private mutating func checkWhole() {
    for className in model.classOrder {
      guard let symbol = model.classes[className], !symbol.hasAccessVector else { continue }
      let span = symbol.span
      error(.check.classWithoutPermissions, "class `\(className)` has no permissions", at: span,
        label: "declared here", help: "define them with `class \(className) { ... }` in access_vectors")
    }
    let anchor = model.syntax.statements.first?.span ?? SourceSpan(file: "<input>", line: 1, column: 1)
    if model.classOrder.isEmpty {
      error(.check.missingDeclarations, "the policy declares no classes", at: anchor,
        help: "a Xen policy starts with security_classes, initial_sids and access_vectors")
    }
    if model.sidOrder.isEmpty {
      error(.check.missingDeclarations, "the policy declares no initial SIDs", at: anchor,
        help: "declare `sid xen` and the others in initial_sids")
    }
    if model.userOrder.isEmpty {
      error(.check.missingDeclarations, "the policy declares no users", at: anchor, help: "add e.g. `user system_u roles { system_r };`")
    }
    for sid in model.sidOrder where model.sidContexts[sid] == nil {
      let span = sidDeclarationSpan(sid) ?? anchor
      // A SID a newer Xen added is the usual cause: policies written for an older release lack its context.
      let added = XenABIHistory.releases.lazy.flatMap(\.changes).first { $0.kind == .addedSID && $0.className == sid }
      let origin = added.map { "; Xen added `\(sid)` in \($0.release) (\($0.citation)), so policies written for older releases lack it" }
      error(.check.sidWithoutContext, "initial SID `\(sid)` has no context", at: span,
        label: "declared here",
        help: "add `sid \(sid) system_u:system_r:TYPE` (Xen refuses a policy without it)" + (origin ?? ""))
    }
    if options.mls && model.sensitivities.isEmpty && !model.classOrder.isEmpty {
      error(.check.mlsRequired, "an MLS build needs sensitivities", at: anchor,
        help: "declare `sensitivity s0;`, `dominance { s0 }` and `level s0;`, or build without `--mls`")
    }
    if options.mls && !model.sensitivities.isEmpty {
      let hasMLSConstraint = model.syntax.statements.contains {
        if case .constraint(let kind, _, _, _) = $0.kind { return kind.isMLS }
        return false
      }
      if !hasMLSConstraint {
        // checkpolicy wants the constraint after the levels; point at the last one.
        let lastLevel = model.syntax.statements.last {
          if case .levelDeclaration = $0.kind { return true }
          return false
        }
        warning(.check.mlsWithoutConstraints,
          "this MLS policy has no `mlsconstrain` or `mlsvalidatetrans`; checkpolicy rejects it (its grammar needs at least one)",
          at: lastLevel?.span ?? anchor, label: "checkpolicy expects an MLS constraint after the levels",
          help: "xsmc and Xen accept it; to build it with checkpolicy too, add an MLS constraint, "
            + "e.g. `mlsconstrain domain { create } l1 dom l2;` (refpolicy's MCS trees have this problem)")
      }
    }
    if options.mls {
      for s in model.sensitivities where !model.dominance.contains(s) {
        error(.check.mlsRequired, "sensitivity `\(s)` is missing from `dominance`", at: anchor)
      }
    }
    checkXenABI(anchor: anchor)
    if !diagnostics.contains(where: { $0.severity == .error }) { checkContexts() }
  }

  /// libsepol refuses a context whose user may not take its role, or whose
  /// role may not take its type (`policydb_context_isvalid`, which exempts
  /// `object_r`); the CIL route says only "invalid security context". Say it
  /// here, at the context, for both routes. MLS ranges are left to libsepol.
  private mutating func checkContexts() {
    var roleTypes: [String: Set<String>] = [:]
    var userRoles: [String: (roles: Set<String>, span: SourceSpan)] = [:]
    var contexts: [Context] = []
    for statement in model.syntax.statements {
      switch statement.kind {
      case .role(let name, let types?):
        roleTypes[name.text, default: []].formUnion(model.expand(typeSet: types))
      case .user(let name, let roles, _, _):
        var chosen = roles.star ? Set(model.roleOrder) : Set(roles.included.map(\.text))
        chosen.subtract(roles.excluded.map(\.text))
        if roles.complement { chosen = Set(model.roleOrder).subtracting(chosen) }
        userRoles[name.text] = (chosen, name.span)
      case .sidContext(_, let context), .ocontext(_, _, _, _, let context):
        contexts.append(context)
      default:
        continue
      }
    }
    for context in contexts where context.role.text != "object_r" {
      let (user, role) = (context.user.text, context.role.text)
      if let declared = userRoles[user], !declared.roles.contains(role) {
        error(.check.invalidContext, "invalid context: user `\(user)` may not take role `\(role)`", at: context.role.span,
          label: "not one of `\(user)`'s roles", help: "add `\(role)` to the roles of `user \(user)`",
          notes: [DiagnosticNote("`\(user)` is declared here", span: declared.span)])
      }
      let type = model.actualType(context.type.text) ?? context.type.text
      if !(roleTypes[role]?.contains(type) ?? false) {
        error(.check.invalidContext, "invalid context: role `\(role)` may not take type `\(context.type.text)`",
          at: context.type.span, label: "not one of `\(role)`'s types", help: "add `role \(role) types \(context.type.text);`")
      }
    }
  }

  private func sidDeclarationSpan(_ sid: String) -> SourceSpan? {
    for statement in model.syntax.statements {
      if case .sidDeclaration(let name) = statement.kind, name.text == sid { return name.span }
    }
    return nil
  }

  /// Xen refuses a policy whose first classes or permission bits differ from
  /// its own (`validate_classes`), and numbers its initial SIDs itself; say
  /// so at build time, naming the release compared with.
  private mutating func checkXenABI(anchor: SourceSpan) {
    guard !model.classOrder.isEmpty else { return }
    let release: XenRelease
    var context = ""
    if let chosen = options.xenRelease {
      release = chosen
    } else {
      let matching = XenABIHistory.releasesMatching(classOrder: model.classOrder, permissions: model.permissions(of:))
      if let newest = matching.last {
        release = newest
      } else {
        release = XenABIHistory.newestRelease
        context = " (its classes match no Xen release from \(XenABIHistory.releases[0].version) to "
          + "\(XenABIHistory.development.version); pass `--xen VERSION` to compare with another)"
      }
    }
    let refuse = "\(release) will refuse to load this policy"
    let classOrderHelp = "\(release) needs its \(release.classes.count) classes first, in order: "
      + release.classes.map(\.name).joined(separator: " ")
    for mismatch in release.classMismatches(classOrder: model.classOrder, permissions: model.permissions(of:)) {
      switch mismatch {
      case .missingClass(let number, let expected, let count):
        warning(.check.xenAbi, "\(release) expects class \(number) to be `\(expected)`, but this policy has only \(count) classes; \(refuse)\(context)",
          at: anchor,
          help: classOrderHelp)
      case .wrongClass(let number, let expected, let actual):
        warning(.check.xenAbi, "\(release) expects class \(number) to be `\(expected)`, but this policy's class \(number) is `\(actual)`; \(refuse)\(context)",
          at: model.classes[actual]?.span ?? anchor, label: "\(release) has `\(expected)` here",
          help: classOrderHelp)
      case .wrongPermission(let actual, let bit, let permission, let ours):
        let permissions = model.permissions(of: actual)
        let found = ours.map { "has `\($0)` there" }
          ?? (permissions.isEmpty ? "has no permissions" : "ends after bit \(permissions.count - 1) (`\(permissions[permissions.count - 1])`)")
        let history = XenABIHistory.fate(of: ours ?? "", in: actual)
          .map { " (`\($0.permission)` was \($0.kind == .renamed ? "renamed `\($0.newName ?? "")`" : "removed") in Xen \($0.release))" } ?? ""
        warning(.check.xenAbi, "\(release) expects permission bit \(bit) of class `\(actual)` to be `\(permission)`; this policy's `\(actual)` \(found)\(history); \(refuse)\(context)",
          at: model.classes[actual]?.span ?? anchor, label: "class `\(actual)`",
          help: portHint(for: release))
      }
    }
    for (index, expected) in release.initialSIDs.enumerated() where index < model.sidOrder.count && model.sidOrder[index] != expected {
      warning(.check.xenAbi, "\(release) numbers initial SID \(index + 1) `\(expected)`, but this policy's SID \(index + 1) is `\(model.sidOrder[index])`; Xen would give its own domains the wrong contexts\(context)",
        at: sidDeclarationSpan(model.sidOrder[index]) ?? anchor, label: "\(release) has `\(expected)` here",
        help: "declare the initial SIDs in \(release)'s order: \(release.initialSIDs.joined(separator: " "))")
      break
    }
  }

  /// Help for a policy written for another release: which release its
  /// classes are closest to, and the `xsmc port` line that moves it.
  private func portHint(for target: XenRelease) -> String? {
    func distance(_ release: XenRelease) -> Int {
      zip(release.classes, model.classOrder).reduce(0) { sum, pair in
        let ours = pair.0.name == pair.1 ? model.permissions(of: pair.1) : []
        return sum + pair.0.permissions.enumerated().count { bit, p in bit >= ours.count || ours[bit] != p }
      }
    }
    // The newest of equally close releases.
    guard let closest = XenABIHistory.releases.reversed().min(by: { distance($0) < distance($1) }), closest != target,
      distance(closest) < distance(target)
    else { return nil }
    return "this policy's classes are closest to \(closest)'s; `xsmc port --from \(closest.version) --to \(target.version)` renames its permissions and lists what changed"
  }
}
