import CPolicyBuild
import Foundation
import XSMDiagnostics
import XSMPolicy

/// The direct backend: builds libsepol's kernel policydb from a checked
/// `PolicyModel` through CPolicyBuild (as libsepol's `cil_binary.c` builds
/// it from CIL), with no CIL text in between.
///
/// Symbol values follow the model's orders (classes in `classOrder`,
/// sensitivities in `dominance`, types then attributes in declaration order).
/// Rules keep attributes of two or more types as avtab keys, like CIL does;
/// type rules, `self` and sets with `*`, `~` or `-` are expanded to types.
/// Every allow rule is checked against the neverallows as it is added, so a
/// violation names the source rule and the neverallow, each at its line.
struct PolicydbLowering: ~Copyable {
  /// The checked policy; its syntax tree is dropped once read (`run()`).
  private var model: PolicyModel
  private let builder: OpaquePointer
  private var typeValues: [String: UInt32] = [:]
  private var classValues: [String: UInt32] = [:]
  /// Per class: permission name → bit (0-based, common permissions first).
  private var permissionBits: [String: [String: UInt32]] = [:]
  private var roleValues: [String: UInt32] = ["object_r": 1]
  private var userValues: [String: UInt32] = [:]
  private var boolValues: [String: UInt32] = [:]
  private var sensitivityValues: [String: UInt32] = [:]
  private var categoryValues: [String: UInt32] = [:]
  /// Rule ids handed to libsepol's side are indices into this (id = index + 1).
  private var ruleSpans: [SourceSpan] = []
  /// The rules pass frees each statement once lowered (the caller holds no other copy of the tree).
  private let releasesStatements: Bool
  /// The statement being lowered, for errors that name no rule.
  private var current: SourceSpan?
  private(set) var diagnostics: [Diagnostic] = []

  /// A failed step; the diagnostics say why.
  struct Failure: Error {}

  init?(model: PolicyModel, options: BuildOptions) {
    let unknown: UInt32 =
      switch options.handleUnknown {
      case .deny: UInt32(XPB_DENY_UNKNOWN)
      case .reject: UInt32(XPB_REJECT_UNKNOWN)
      case .allow: UInt32(XPB_ALLOW_UNKNOWN)
      }
    // Rules usually stay one or two avtab entries each (attributes are kept).
    var rules = 0
    var conditionalRules = 0
    for statement in model.syntax.statements {
      switch statement.kind {
      case .accessRule, .typeRule: rules += 1
      case .conditional(_, let a, let b): conditionalRules += a.count + b.count
      default: continue
      }
    }
    guard
      let builder = xpb_create(UInt32(options.policyVersion), model.mls ? 1 : 0, unknown,
        UInt32(clamping: rules * 2), UInt32(clamping: conditionalRules * 2))
    else { return nil }
    self.model = model
    self.builder = builder
    releasesStatements = !options.keepsSourceText
    // One span per rule (conditional ones included), allocated once rather than grown.
    ruleSpans.reserveCapacity(rules + conditionalRules)
  }

  deinit { xpb_destroy(builder) }

  /// The policydb (a `sepol_policydb_t *`), valid while `self` lives.
  var policydb: UnsafeMutableRawPointer? { xpb_policydb(builder) }

  /// Builds everything; on failure `diagnostics` holds located errors.
  mutating func run() throws(Failure) {
    diagnostics = CILLowering.unsupportedNames(in: model)
    if !diagnostics.isEmpty { throw Failure() }
    try check(xpb_expect_types(builder, UInt32(clamping: model.typeSymbols.count)))
    try declarations()
    try check(xpb_index(builder))
    for (attribute, members) in model.attributeMembers {
      guard let a = typeValues[attribute] else { continue }
      let values = members.compactMap { typeValues[$0] }
      try check(values.withUnsafeBufferPointer { xpb_attribute_members(builder, a, $0.baseAddress, UInt32($0.count)) })
    }
    try walk(model.syntax.statements, pass: .labels)
    try walk(model.syntax.statements, pass: .neverallows)
    // What the steps after the rules read from the statements, taken first: the device labels
    // and, since finishing can refuse a type bounds violation, the first `typebounds`.
    let labels = deviceLabels()
    let firstBounds = model.syntax.statements.first {
      if case .typeBounds = $0.kind { return true } else { return false }
    }?.span
    if releasesStatements {
      // The rules pass is the last reader: each statement is freed once its rules are in the
      // avtab, so the tree shrinks while libsepol's tables grow (the peak is the larger of the two
      // instead of their sum).
      var statements = model.syntax.statements
      model.syntax = PolicySyntax(statements: [])
      try walkReleasing(&statements)
    } else {
      try walk(model.syntax.statements, pass: .rules)
      model.syntax = PolicySyntax(statements: [])
    }
    try contexts(labels)
    current = firstBounds
    try check(xpb_finish(builder))
    neverallowDiagnostics()
    if diagnostics.contains(where: { $0.severity == .error }) { throw Failure() }
  }

  // MARK: Errors

  private mutating func check(_ rc: Int32) throws(Failure) {
    guard rc != 0 else { return }
    try failure()
  }

  private mutating func check(value: UInt32) throws(Failure) -> UInt32 {
    if value == 0 { try failure() }
    return value
  }

  private mutating func failure() throws(Failure) {
    let rule = Int(xpb_error_rule(builder))
    let span = rule > 0 && rule <= ruleSpans.count ? ruleSpans[rule - 1] : current
    let messages = (0..<xpb_message_count(builder))
      .map { String(cString: xpb_message(builder, $0)).trimmingCharacters(in: .whitespacesAndNewlines) }
      .map { $0.hasSuffix(":") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
    var text = String(cString: xpb_error(builder))
    if !messages.isEmpty { text += " (" + messages.joined(separator: "; ") + ")" }
    diagnostics.append(
      Diagnostic(.sepol.compile, .error, "libsepol: \(text)", span: span, label: span == nil ? nil : "from this statement"))
    throw Failure()
  }

  private mutating func ruleID(_ span: SourceSpan) -> UInt32 {
    ruleSpans.append(span)
    return UInt32(ruleSpans.count)
  }

  // MARK: Declarations

  private mutating func declarations() throws(Failure) {
    for (name, permissions) in model.commons.sorted(by: { $0.key < $1.key }) {
      _ = try check(value: withCStrings(permissions) { xpb_common(builder, name, $0, $1) })
    }
    for name in model.classOrder {
      guard let symbol = model.classes[name] else { continue }
      current = symbol.span
      let value = try check(value: withCStrings(symbol.ownPermissions) { perms, n in
        if let common = symbol.common { return xpb_class(builder, name, common, perms, n) }
        return xpb_class(builder, name, nil, perms, n)
      })
      classValues[name] = value
      var bits: [String: UInt32] = [:]
      for (bit, permission) in model.permissions(of: name).enumerated() { bits[permission] = UInt32(bit) }
      permissionBits[name] = bits
    }
    if model.mls { try mlsDeclarations() }
    current = nil
    for name in model.roleOrder { roleValues[name] = try check(value: xpb_role(builder, name)) }
    for name in model.typeOrder { typeValues[name] = try typeValue(xpb_type(builder, name), of: name) }
    for name in model.attributeOrder { typeValues[name] = try typeValue(xpb_attribute(builder, name), of: name) }
    for (name, symbol) in model.typeSymbols.sorted(by: { $0.key < $1.key }) where symbol.kind == .alias {
      guard let actual = symbol.actual.flatMap({ typeValues[$0] }) else { continue }
      current = symbol.span
      try check(xpb_type_alias(builder, name, actual))
      typeValues[name] = actual
    }
    for name in model.booleanOrder {
      boolValues[name] = try check(value: xpb_bool(builder, name, model.booleans[name] == true ? 1 : 0))
    }
    for name in model.userOrder { userValues[name] = try check(value: xpb_user(builder, name)) }
  }

  /// `value` when libsepol gave one; else the error, at the declaration of `name`.
  private mutating func typeValue(_ value: UInt32, of name: String) throws(Failure) -> UInt32 {
    if value == 0 {
      current = model.typeSymbols[name]?.span
      try failure()
    }
    return value
  }

  private mutating func mlsDeclarations() throws(Failure) {
    let order = model.dominance.isEmpty ? model.sensitivities : model.dominance
    for name in order {
      let actual = model.sensitivityAliases[name] ?? name
      sensitivityValues[actual] = try check(value: xpb_sensitivity(builder, actual))
    }
    for name in model.categories { categoryValues[name] = try check(value: xpb_category(builder, name)) }
    for (alias, actual) in model.categoryAliases.sorted(by: { $0.key < $1.key }) {
      guard let value = categoryValues[actual] else { continue }
      try check(xpb_category_alias(builder, alias, value))
      categoryValues[alias] = value
    }
    for statement in model.syntax.statements {
      guard case .levelDeclaration(let level) = statement.kind else { continue }
      current = statement.span
      guard let sensitivity = sensitivityValue(level.sensitivity.text) else { continue }
      let cats = categories(level.categories)
      try check(cats.withUnsafeBufferPointer { xpb_sensitivity_categories(builder, sensitivity, $0.baseAddress, UInt32($0.count)) })
    }
    for (alias, actual) in model.sensitivityAliases.sorted(by: { $0.key < $1.key }) {
      guard let value = sensitivityValues[actual] else { continue }
      try check(xpb_sensitivity_alias(builder, alias, value))
      sensitivityValues[alias] = value
    }
  }

  // MARK: Statements

  private enum Pass { case labels, neverallows, rules }

  /// The rules pass over `statements` (this value their only holder), each one replaced by a
  /// placeholder once lowered, which frees its names and sets.
  private mutating func walkReleasing(_ statements: inout [Statement]) throws(Failure) {
    guard let first = statements.first else { return }
    let placeholder = Statement(.attribute(Name("", span: first.span)), span: first.span)
    for index in statements.indices {
      try walk(CollectionOfOne(statements[index]), pass: .rules)
      statements[index] = placeholder
    }
  }

  private mutating func walk(
    _ statements: some Collection<Statement>, pass: Pass, cond: Int32 = -1, branch: Int32 = 1
  ) throws(Failure) {
    for statement in statements {
      current = statement.span
      switch (pass, statement.kind) {
      case (.labels, .role(let name, let types)):
        guard let types, name.text != "object_r", let role = roleValues[name.text] else { continue }
        let keys = typeKeys(types).keys
        try check(keys.withUnsafeBufferPointer { xpb_role_types(builder, role, $0.baseAddress, UInt32($0.count)) })
      case (.labels, .roleAllow(let from, let to)):
        for a in from.included where a.text != "object_r" {
          for b in to.included where b.text != "object_r" {
            guard let x = roleValues[a.text], let y = roleValues[b.text] else { continue }
            try check(xpb_role_allow(builder, x, y))
          }
        }
      case (.labels, .user(let name, let roles, let level, let range)):
        guard let user = userValues[name.text] else { continue }
        let values = roles.included.compactMap { roleValues[$0.text] }
        try check(values.withUnsafeBufferPointer { xpb_user_roles(builder, user, $0.baseAddress, UInt32($0.count)) })
        if model.mls {
          var encoded: [UInt32] = []
          if let level, let range {
            encode(level, into: &encoded)
            encode(range.low, into: &encoded)
            encode(range.high, into: &encoded)
          } else {
            for _ in 0..<3 { encoded += [1, 0] }
          }
          try check(encoded.withUnsafeBufferPointer { xpb_user_mls(builder, user, $0.baseAddress, UInt32($0.count)) })
        }
      case (.labels, .permissive(let name)):
        if let type = typeValues[name.text] { try check(xpb_permissive(builder, type)) }
      case (.labels, .typeBounds(let parent, let children)):
        guard let p = typeValues[parent.text] else { continue }
        for child in children {
          if let c = typeValues[child.text] { try check(xpb_bounds(builder, p, c)) }
        }
      case (.labels, .policyCapability(let name)):
        try check(xpb_policycap(builder, name.text))
      case (.neverallows, .accessRule(.neverallow, let source, let target, let classes, let permissions)):
        let rule = ruleID(statement.span)
        try accessRule(rule: rule, source: source, target: target, classes: classes, permissions: permissions) {
          xpb_neverallow($0.builder, rule, $0.src, $0.ns, $0.tgt, $0.nt, $0.selfFlag, $0.tclass, $0.perms)
        }
      case (.rules, .accessRule(let kind, let source, let target, let classes, let permissions)) where kind != .neverallow:
        let rule = ruleID(statement.span)
        let code: UInt32 =
          switch kind {
          case .allow: UInt32(XPB_ALLOW)
          case .auditallow: UInt32(XPB_AUDITALLOW)
          default: UInt32(XPB_DONTAUDIT)
          }
        try accessRule(rule: rule, source: source, target: target, classes: classes, permissions: permissions) {
          xpb_avrule($0.builder, code, rule, $0.src, $0.ns, $0.tgt, $0.nt, $0.selfFlag, $0.tclass, $0.perms, cond, branch)
        }
      case (.rules, .typeRule(let kind, let source, let target, let classes, let result)):
        let rule = ruleID(statement.span)
        guard let resultValue = typeValues[result.text] else { continue }
        let code: UInt32 =
          switch kind {
          case .typeTransition: UInt32(XPB_TYPE_TRANSITION)
          case .typeMember: UInt32(XPB_TYPE_MEMBER)
          case .typeChange: UInt32(XPB_TYPE_CHANGE)
          }
        let (src, _) = typeKeys(source)
        let (tgt, selfTarget) = typeKeys(target)
        for (_, tclass) in self.classes(classes) {
          try check(src.withUnsafeBufferPointer { s in
            tgt.withUnsafeBufferPointer { t in
              xpb_typerule(builder, code, rule, s.baseAddress, UInt32(s.count), t.baseAddress, UInt32(t.count),
                selfTarget ? 1 : 0, tclass, resultValue, cond, branch)
            }
          })
        }
      case (.rules, .constraint(let kind, let classes, let permissions, let expression)):
        var encoded: [UInt32] = []
        encode(expression, into: &encoded)
        let validatetrans: Int32 = kind.hasPermissions ? 0 : 1
        for (className, tclass) in self.classes(classes) {
          let perms = permissions.map { mask($0, in: className) } ?? 0
          try check(encoded.withUnsafeBufferPointer {
            xpb_constraint(builder, validatetrans, tclass, perms, $0.baseAddress, UInt32($0.count))
          })
        }
      case (_, .conditional(let condition, let thenBranch, let elseBranch)):
        if pass == .rules {
          var encoded: [UInt32] = []
          encode(condition, into: &encoded)
          var swapped: Int32 = 0
          let node = encoded.withUnsafeBufferPointer {
            xpb_conditional(builder, $0.baseAddress, UInt32($0.count), &swapped)
          }
          if node < 0 { try failure() }
          try walk(thenBranch, pass: pass, cond: node, branch: swapped == 0 ? 1 : 0)
          try walk(elseBranch, pass: pass, cond: node, branch: swapped == 0 ? 0 : 1)
        } else {
          try walk(thenBranch, pass: pass)
          try walk(elseBranch, pass: pass)
        }
      default:
        continue
      }
    }
  }

  /// The arguments of one class's part of an access rule, for a CPolicyBuild call.
  private struct AccessArguments {
    var builder: OpaquePointer
    var src: UnsafePointer<UInt32>?
    var ns: UInt32
    var tgt: UnsafePointer<UInt32>?
    var nt: UInt32
    var selfFlag: Int32
    var tclass: UInt32
    var perms: UInt32
  }

  private mutating func accessRule(
    rule: UInt32, source: NameSet, target: NameSet, classes: NameSet, permissions: NameSet,
    _ call: (AccessArguments) -> Int32
  ) throws(Failure) {
    let (src, _) = typeKeys(source)
    let (tgt, selfTarget) = typeKeys(target)
    for (className, tclass) in self.classes(classes) {
      let perms = mask(permissions, in: className)
      guard perms != 0 else { continue }
      let rc = src.withUnsafeBufferPointer { s in
        tgt.withUnsafeBufferPointer { t in
          call(AccessArguments(builder: builder, src: s.baseAddress, ns: UInt32(s.count), tgt: t.baseAddress,
            nt: UInt32(t.count), selfFlag: selfTarget ? 1 : 0, tclass: tclass, perms: perms))
        }
      }
      try check(rc)
    }
  }

  /// Initial SIDs (numbered in `sid` declaration order) and device labels
  /// (sorted as CIL sorts them).
  private mutating func contexts(_ labels: [DeviceLabel]) throws(Failure) {
    for (index, sid) in model.sidOrder.enumerated() {
      guard let context = model.sidContexts[sid] else { continue }
      current = context.span
      let encoded = encode(context)
      try check(encoded.withUnsafeBufferPointer {
        xpb_initial_sid(builder, UInt32(index + 1), sid, $0.baseAddress, UInt32($0.count))
      })
    }
    for label in labels {
      current = label.span
      let kind: UInt32 =
        switch label.kind {
        case .pirqcon: UInt32(XPB_PIRQ)
        case .ioportcon: UInt32(XPB_IOPORT)
        case .iomemcon: UInt32(XPB_IOMEM)
        case .pcidevicecon: UInt32(XPB_PCIDEVICE)
        case .devicetreecon: UInt32(XPB_DEVICETREE)
        }
      let encoded = encode(label.context)
      try check(encoded.withUnsafeBufferPointer {
        xpb_ocontext(builder, kind, label.low, label.high, label.path, $0.baseAddress, UInt32($0.count))
      })
    }
  }

  /// One `*con` statement of the policy.
  private typealias DeviceLabel = (
    kind: OcontextKind, low: UInt64, high: UInt64, path: String?, context: Context, span: SourceSpan
  )

  /// The device labels, sorted as CIL sorts them.
  private func deviceLabels() -> [DeviceLabel] {
    var labels: [DeviceLabel] = []
    for statement in model.syntax.statements {
      guard case .ocontext(let kind, let low, let high, let path, let context) = statement.kind else { continue }
      // Version 24 has no device tree slot; the checker warned already.
      if kind == .devicetreecon && model.policyVersion < 30 { continue }
      labels.append((kind, low, high, path, context, statement.span))
    }
    labels.sort { a, b in
      a.kind == .devicetreecon && b.kind == .devicetreecon
        ? (a.path ?? "") < (b.path ?? "") : (a.low, a.high) < (b.low, b.high)
    }
    return labels
  }

  private mutating func neverallowDiagnostics() {
    var seen: Set<[UInt32]> = []
    for index in 0..<xpb_violation_count(builder) {
      var neverallow: UInt32 = 0, rule: UInt32 = 0, tclass: UInt32 = 0, perms: UInt32 = 0
      xpb_violation(builder, index, &neverallow, &rule, &tclass, &perms)
      guard seen.insert([neverallow, rule]).inserted, rule >= 1, neverallow >= 1 else { continue }
      let className = model.classOrder.indices.contains(Int(tclass) - 1) ? model.classOrder[Int(tclass) - 1] : "?"
      let names = model.permissions(of: className).enumerated().filter { perms & (1 << UInt32($0.offset)) != 0 }
        .map(\.element)
      diagnostics.append(
        Diagnostic(.sepol.neverallow, .error, "rule grants what a neverallow forbids",
          span: ruleSpans[Int(rule) - 1], label: "violates a neverallow",
          help: "both name `\(className) { \(names.joined(separator: " ")) }` for a type pair they share",
          notes: [DiagnosticNote("the neverallow it violates", span: ruleSpans[Int(neverallow) - 1])]))
    }
  }

  // MARK: Sets and encodings

  /// Values for a type set: each name's own value when the set is a plain
  /// list (attributes stay attributes), else the expanded types; and whether
  /// the set names `self`.
  private func typeKeys(_ set: NameSet) -> (keys: [UInt32], self: Bool) {
    let names = set.included
    let hasSelf = names.contains { $0.text == "self" }
    if set.isPlainList {
      return (names.compactMap { $0.text == "self" ? nil : typeValues[$0.text] }, hasSelf)
    }
    return (model.expand(typeSet: set).compactMap { typeValues[$0] }.sorted(), hasSelf)
  }

  /// The classes a set names, with their values, in class order.
  private func classes(_ set: NameSet) -> [(name: String, value: UInt32)] {
    if set.isPlainList && set.included.count == 1 {
      let name = set.included[0].text
      return classValues[name].map { [(name, $0)] } ?? []
    }
    return model.expand(classSet: set).compactMap { name in classValues[name].map { (name, $0) } }
  }

  /// The permission bits a set names in one class, as `PolicyModel.expand(permissionSet:in:)` chooses them.
  private func mask(_ set: NameSet, in className: String) -> UInt32 {
    guard let bits = permissionBits[className] else { return 0 }
    let all: UInt32 = bits.count >= 32 ? .max : (1 << UInt32(bits.count)) - 1
    func bitsOf(_ names: [Name]) -> UInt32 {
      var mask: UInt32 = 0
      for name in names {
        if let bit = bits[name.text], bit < 32 { mask |= 1 << bit }
      }
      return mask
    }
    var chosen = set.star ? all : bitsOf(set.included)
    chosen &= ~bitsOf(set.excluded)
    return set.complement ? all & ~chosen : chosen
  }

  private func sensitivityValue(_ name: String) -> UInt32? {
    sensitivityValues[name] ?? model.sensitivityAliases[name].flatMap { sensitivityValues[$0] }
  }

  private func categories(_ items: [Level.Categories]) -> [UInt32] {
    var values: [UInt32] = []
    for item in items {
      switch item {
      case .single(let c):
        if let value = categoryValues[c.text] { values.append(value) }
      case .range(let a, let b):
        if let low = categoryValues[a.text], let high = categoryValues[b.text], low <= high {
          values.append(contentsOf: low...high)
        }
      }
    }
    return values
  }

  private func encode(_ level: Level, into out: inout [UInt32]) {
    let cats = categories(level.categories)
    out += [sensitivityValue(level.sensitivity.text) ?? 0, UInt32(cats.count)] + cats
  }

  private func encode(_ context: Context) -> [UInt32] {
    let type = model.actualType(context.type.text).flatMap { typeValues[$0] } ?? 0
    var out = [userValues[context.user.text] ?? 0, roleValues[context.role.text] ?? 0, type]
    if model.mls {
      if let range = context.range {
        encode(range.low, into: &out)
        encode(range.high, into: &out)
      } else {
        out += [1, 0, 1, 0]
      }
    }
    return out
  }

  private func encode(_ condition: ConditionalExpression, into out: inout [UInt32]) {
    func binary(_ a: ConditionalExpression, _ b: ConditionalExpression, _ kind: Int) {
      encode(a, into: &out)
      encode(b, into: &out)
      out += [UInt32(kind), 0]
    }
    switch condition {
    case .boolean(let name): out += [UInt32(XPB_COND_BOOL), boolValues[name.text] ?? 0]
    case .not(let e):
      encode(e, into: &out)
      out += [UInt32(XPB_COND_NOT), 0]
    case .and(let a, let b): binary(a, b, Int(XPB_COND_AND))
    case .or(let a, let b): binary(a, b, Int(XPB_COND_OR))
    case .xor(let a, let b): binary(a, b, Int(XPB_COND_XOR))
    case .equal(let a, let b): binary(a, b, Int(XPB_COND_EQ))
    case .notEqual(let a, let b): binary(a, b, Int(XPB_COND_NEQ))
    }
  }

  private func operand(_ operand: ConstraintOperand) -> UInt32 {
    let order: [ConstraintOperand] = [.u1, .u2, .u3, .r1, .r2, .r3, .t1, .t2, .t3, .l1, .l2, .h1, .h2]
    return UInt32((order.firstIndex(of: operand) ?? 0) + 1)
  }

  private func encode(_ expression: ConstraintExpression, into out: inout [UInt32]) {
    func op(_ o: ConstraintExpression.Operator) -> UInt32 {
      switch o {
      case .equal: UInt32(XPB_OP_EQ)
      case .notEqual: UInt32(XPB_OP_NEQ)
      case .dom: UInt32(XPB_OP_DOM)
      case .domby: UInt32(XPB_OP_DOMBY)
      case .incomp: UInt32(XPB_OP_INCOMP)
      }
    }
    switch expression {
    case .compare(let o, let left, let right, _):
      out += [UInt32(XPB_CEXPR_ATTR), op(o), operand(left), operand(right), 0]
    case .compareNames(let o, let left, let names):
      let values: [UInt32]
      switch left {
      case .t1, .t2, .t3: values = typeKeys(names).keys
      case .u1, .u2, .u3: values = names.included.compactMap { userValues[$0.text] }
      default: values = names.included.compactMap { roleValues[$0.text] }
      }
      out += [UInt32(XPB_CEXPR_NAMES), op(o), operand(left), 0, UInt32(values.count)] + values
    case .not(let e):
      encode(e, into: &out)
      out += [UInt32(XPB_CEXPR_NOT), 0, 0, 0, 0]
    case .and(let a, let b):
      encode(a, into: &out)
      encode(b, into: &out)
      out += [UInt32(XPB_CEXPR_AND), 0, 0, 0, 0]
    case .or(let a, let b):
      encode(a, into: &out)
      encode(b, into: &out)
      out += [UInt32(XPB_CEXPR_OR), 0, 0, 0, 0]
    }
  }
}

/// Calls `body` with a C array of C strings for `strings` and its count.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UInt32) -> R) -> R {
  let copies = strings.map { UnsafePointer(strdup($0)) }
  defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
  return copies.withUnsafeBufferPointer { body($0.baseAddress, UInt32($0.count)) }
}
