import XSMDiagnostics

/// Writes the parser's statements and the resolver's model back as text,
/// for `xsmc build --dump`: one statement per line in the policy language,
/// each after the place it was written.
public enum PolicyPrinter {
  /// Every statement of `syntax`; `located` puts `# file:line:column` before each.
  public static func render(_ syntax: PolicySyntax, located: Bool) -> String {
    var out = ""
    write(syntax.statements, indent: "", located: located, into: &out)
    return out
  }

  private static func write(_ statements: [Statement], indent: String, located: Bool, into out: inout String) {
    for statement in statements {
      if located { out += "\(indent)# \(statement.span)\n" }
      if case .conditional(let condition, let then, let otherwise) = statement.kind {
        out += "\(indent)if (\(render(condition))) {\n"
        write(then, indent: indent + "  ", located: located, into: &out)
        if !otherwise.isEmpty {
          out += "\(indent)} else {\n"
          write(otherwise, indent: indent + "  ", located: located, into: &out)
        }
        out += "\(indent)}\n"
      } else {
        out += indent + render(statement.kind) + "\n"
      }
    }
  }

  /// One statement (not a conditional block) in the policy language.
  static func render(_ kind: Statement.Kind) -> String {
    switch kind {
    case .classDeclaration(let name): return "class \(name)"
    case .accessVector(let name, let common, let permissions):
      let inherits = common.map { " inherits \($0)" } ?? ""
      return "class \(name)\(inherits)" + (permissions.isEmpty ? "" : " { \(list(permissions)) }")
    case .common(let name, let permissions): return "common \(name) { \(list(permissions)) }"
    case .sidDeclaration(let name): return "sid \(name)"
    case .sidContext(let name, let context): return "sid \(name) \(render(context))"
    case .type(let name, let aliases, let attributes):
      let alias = aliases.isEmpty ? "" : " alias \(group(aliases))"
      let attribute = attributes.isEmpty ? "" : ", " + attributes.map(\.text).joined(separator: ", ")
      return "type \(name)\(alias)\(attribute);"
    case .typeAlias(let name, let aliases): return "typealias \(name) alias \(group(aliases));"
    case .attribute(let name): return "attribute \(name);"
    case .typeAttribute(let name, let attributes): return "typeattribute \(name) \(attributes.map(\.text).joined(separator: ", "));"
    case .permissive(let name): return "permissive \(name);"
    case .typeBounds(let name, let children): return "typebounds \(name) \(children.map(\.text).joined(separator: ", "));"
    case .role(let name, let types): return "role \(name)" + (types.map { " types \(render($0))" } ?? "") + ";"
    case .roleAllow(let from, let to): return "allow \(render(from)) \(render(to));"
    case .user(let name, let roles, let level, let range):
      let mls = (level.map { " level \(render($0))" } ?? "") + (range.map { " range \(render($0))" } ?? "")
      return "user \(name) roles \(render(roles))\(mls);"
    case .boolean(let name, let value): return "bool \(name) \(value);"
    case .policyCapability(let name): return "policycap \(name);"
    case .conditional(let condition, _, _): return "if (\(render(condition))) { ... }"
    case .accessRule(let kind, let source, let target, let classes, let permissions):
      return "\(kind.rawValue) \(render(source)) \(render(target)):\(render(classes)) \(render(permissions));"
    case .typeRule(let kind, let source, let target, let classes, let result):
      return "\(kind.rawValue) \(render(source)) \(render(target)):\(render(classes)) \(result);"
    case .constraint(let kind, let classes, let permissions, let expression):
      let perms = permissions.map { " \(render($0))" } ?? ""
      return "\(kind.rawValue) \(render(classes))\(perms) (\(render(expression)));"
    case .sensitivity(let name, let aliases):
      return "sensitivity \(name)" + (aliases.isEmpty ? "" : " alias \(group(aliases))") + ";"
    case .dominance(let order): return "dominance { \(list(order)) }"
    case .category(let name, let aliases):
      return "category \(name)" + (aliases.isEmpty ? "" : " alias \(group(aliases))") + ";"
    case .levelDeclaration(let level): return "level \(render(level));"
    case .ocontext(let kind, let low, let high, let path, let context):
      let object: String
      if let path {
        object = "\"\(path)\""
      } else if kind == .pirqcon {
        object = "\(low)"
      } else {
        object = "0x" + String(low, radix: 16) + (high == low ? "" : "-0x" + String(high, radix: 16))
      }
      return "\(kind.rawValue) \(object) \(render(context));"
    }
  }

  static func render(_ set: NameSet) -> String {
    var items = set.included.map(\.text) + set.excluded.map { "-" + $0.text }
    if set.star { items.insert("*", at: 0) }
    let body = items.count == 1 ? items[0] : "{ \(items.joined(separator: " ")) }"
    return (set.complement ? "~" : "") + body
  }

  static func render(_ context: Context) -> String {
    "\(context.user):\(context.role):\(context.type)" + (context.range.map { ":" + render($0) } ?? "")
  }

  static func render(_ range: LevelRange) -> String {
    range.low == range.high ? render(range.low) : "\(render(range.low)) - \(render(range.high))"
  }

  static func render(_ level: Level) -> String {
    let categories = level.categories.map { item -> String in
      switch item {
      case .single(let name): name.text
      case .range(let low, let high): "\(low).\(high)"
      }
    }
    return level.sensitivity.text + (categories.isEmpty ? "" : ":" + categories.joined(separator: ","))
  }

  static func render(_ expression: ConditionalExpression) -> String {
    switch expression {
    case .boolean(let name): name.text
    case .not(let e): "!\(operand(e))"
    case .and(let a, let b): "\(operand(a)) && \(operand(b))"
    case .or(let a, let b): "\(operand(a)) || \(operand(b))"
    case .xor(let a, let b): "\(operand(a)) ^ \(operand(b))"
    case .equal(let a, let b): "\(operand(a)) == \(operand(b))"
    case .notEqual(let a, let b): "\(operand(a)) != \(operand(b))"
    }
  }

  private static func operand(_ expression: ConditionalExpression) -> String {
    if case .boolean(let name) = expression { return name.text }
    return "(\(render(expression)))"
  }

  static func render(_ expression: ConstraintExpression) -> String {
    func symbol(_ op: ConstraintExpression.Operator) -> String {
      switch op {
      case .equal: "=="
      case .notEqual: "!="
      case .dom, .domby, .incomp: op.rawValue
      }
    }
    func operand(_ e: ConstraintExpression) -> String {
      switch e {
      case .compare, .compareNames: render(e)
      default: "(\(render(e)))"
      }
    }
    switch expression {
    case .compare(let op, let left, let right, _): return "\(left.rawValue) \(symbol(op)) \(right.rawValue)"
    case .compareNames(let op, let left, let names): return "\(left.rawValue) \(symbol(op)) \(render(names))"
    case .not(let e): return "not \(operand(e))"
    case .and(let a, let b): return "\(operand(a)) and \(operand(b))"
    case .or(let a, let b): return "\(operand(a)) or \(operand(b))"
    }
  }

  private static func list(_ names: [Name]) -> String { names.map(\.text).joined(separator: " ") }

  private static func group(_ names: [Name]) -> String { names.count == 1 ? names[0].text : "{ \(list(names)) }" }

  /// One token: where it starts, its kind and its text.
  static func describe(token: Token) -> String {
    let kind: String
    switch token.kind {
    case .identifier: kind = "name"
    case .number: kind = "number"
    case .string: kind = "string"
    case .punctuation: kind = "punct"
    case .end: kind = "end"
    }
    return "\(token.span)\t\(kind)\t\(token.text)"
  }

  /// The resolved symbol tables in value order (the order libsepol numbers
  /// them), each symbol with the place it was declared.
  public static func render(model: PolicyModel) -> String {
    var out = "# policy version \(model.policyVersion), \(model.mls ? "MLS" : "non-MLS")\n"
    out += "# \(model.classOrder.count) classes\n"
    for name in model.classOrder {
      let symbol = model.classes[name]
      let place = symbol.map { "\t# \($0.span)" } ?? ""
      out += "class \(name) { \(model.permissions(of: name).joined(separator: " ")) }\(place)\n"
    }
    out += "# \(model.sidOrder.count) initial SIDs\n"
    for name in model.sidOrder {
      out += "sid \(name)" + (model.sidContexts[name].map { " " + render($0) } ?? " (no context)") + "\n"
    }
    out += "# \(model.typeOrder.count) types, \(model.attributeOrder.count) attributes\n"
    for name in model.attributeOrder {
      let members = (model.attributeMembers[name] ?? []).sorted()
      out += "attribute \(name) { \(members.joined(separator: " ")) }" + place(model.typeSymbols[name]?.span) + "\n"
    }
    for name in model.typeOrder {
      out += "type \(name);" + place(model.typeSymbols[name]?.span) + "\n"
    }
    out += "# \(model.roleOrder.count) roles, \(model.userOrder.count) users, \(model.booleanOrder.count) booleans\n"
    for name in model.roleOrder { out += "role \(name);" + place(model.roles[name]) + "\n" }
    for name in model.userOrder { out += "user \(name);" + place(model.users[name]) + "\n" }
    for name in model.booleanOrder { out += "bool \(name) \(model.booleans[name] ?? false);\n" }
    if model.mls {
      out += "# \(model.sensitivities.count) sensitivities, \(model.categories.count) categories\n"
      out += "dominance { \(model.dominance.joined(separator: " ")) }\n"
      out += "categories { \(model.categories.joined(separator: " ")) }\n"
    }
    return out
  }

  private static func place(_ span: SourceSpan?) -> String { span.map { "\t# \($0)" } ?? "" }
}
