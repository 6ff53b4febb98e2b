import XSMSepol

extension FlaskPolicy {
  /// The `allow` rules (as the binary stores them: source and target may be
  /// attributes) that grant permission bit `permissionBit` of class
  /// `classValue` to (source, target): every rule over an attribute pair of
  /// the two types, unconditional or in an enabled conditional branch under
  /// `booleans`. Sorted unconditional first, then by names. Constraints, role
  /// rules and type bounds may still remove the permission (see
  /// ``failingConstraints(source:target:classValue:permissionBit:)``).
  public func grantingRules(
    source: SecurityContext, target: SecurityContext, classValue: Int, permissionBit: Int, booleans: [Bool]
  ) -> [GrantingRule] {
    guard classValue >= 1, classValue <= classCount, permissionBit >= 0, permissionBit < 32,
      source.type >= 1, source.type <= typeCount, target.type >= 1, target.type <= typeCount
    else { return [] }
    let bit = UInt32(1) << UInt32(permissionBit)
    var found: [GrantingRule] = []
    for a in data.types[source.type - 1].attributes {
      for b in data.types[target.type - 1].attributes {
        for rule in rules(data.rules, a, b, classValue) where rule.kind == 1 && rule.data & bit != 0 {
          found.append(grantingRule(rule, condition: nil))
        }
        for index in conditionalRuleIndices(a, b, classValue) {
          let rule = data.conditionalRules[index]
          let branch = UInt32(rule.conditional * 2 + (rule.branch ? 0 : 1))
          guard rule.entry.kind == 1, rule.entry.data & bit != 0, branchEnabled(branch, booleans) else { continue }
          found.append(grantingRule(rule.entry, condition: conditionText(rule.conditional, branch: rule.branch)))
        }
      }
    }
    return found.sorted { x, y in
      (x.condition != nil ? 1 : 0, x.source, x.target) < (y.condition != nil ? 1 : 0, y.source, y.target)
    }
  }

  /// The constraints of class `classValue` that guard permission bit
  /// `permissionBit` and do not hold for (source, target), as policy text
  /// (`constrain event { bind } (u1 == u2 or …);`). compute_av removes the
  /// permission when any of them fails (and the type rules grant it).
  public func failingConstraints(
    source: SecurityContext, target: SecurityContext, classValue: Int, permissionBit: Int
  ) -> [String] {
    guard classValue >= 1, classValue <= classCount, permissionBit >= 0, permissionBit < 32 else { return [] }
    let bit = UInt32(1) << UInt32(permissionBit)
    return constraints[classValue].filter { constraint in
      constraint.permissions & bit != 0 && !constraint.evaluate(self, source, source.type, target, target.type)
    }.map { constraintText($0.source, classValue: classValue) }
  }

  // MARK: - Lookups

  /// Unconditional rules with this key (`data.rules` is sorted by key).
  private func rules(_ all: [PolicyData.AVEntry], _ a: Int, _ b: Int, _ cls: Int) -> ArraySlice<PolicyData.AVEntry> {
    var lo = 0
    var hi = all.count
    while lo < hi {
      let mid = (lo + hi) / 2
      let r = all[mid]
      if (r.source, r.target, r.classValue) < (a, b, cls) { lo = mid + 1 } else { hi = mid }
    }
    var end = lo
    while end < all.count && all[end].source == a && all[end].target == b && all[end].classValue == cls { end += 1 }
    return all[lo..<end]
  }

  /// Indices into `data.conditionalRules` with this key, in list order.
  private func conditionalRuleIndices(_ a: Int, _ b: Int, _ cls: Int) -> [Int] {
    let order = conditionalRuleOrder
    let all = data.conditionalRules
    var lo = 0
    var hi = order.count
    while lo < hi {
      let mid = (lo + hi) / 2
      let e = all[Int(order[mid])].entry
      if (e.source, e.target, e.classValue) < (a, b, cls) { lo = mid + 1 } else { hi = mid }
    }
    var out: [Int] = []
    var i = lo
    while i < order.count {
      let e = all[Int(order[i])].entry
      guard e.source == a, e.target == b, e.classValue == cls else { break }
      out.append(Int(order[i]))
      i += 1
    }
    return out
  }

  // MARK: - Text

  private func typeName(_ v: Int) -> String { v >= 1 && v <= typeCount ? data.types[v - 1].name : "?\(v)" }

  private func grantingRule(_ e: PolicyData.AVEntry, condition: String?) -> GrantingRule {
    let perms = permissionNames(ofClass: e.classValue)
    let granted = perms.indices.filter { $0 < 32 && e.data & (UInt32(1) << UInt32($0)) != 0 }.map { perms[$0] }
    return GrantingRule(
      source: typeName(e.source), target: typeName(e.target), className: data.classes[e.classValue - 1].name,
      permissions: granted, condition: condition)
  }

  /// The infix text of conditional `index` (`!(…)` for the else branch).
  func conditionText(_ index: Int, branch: Bool) -> String {
    guard data.conditionals.indices.contains(index) else { return "?" }
    var stack: [(text: String, compound: Bool)] = []
    for node in data.conditionals[index].expression {
      switch node.op {
      case 1:
        let v = node.boolean
        stack.append((v >= 1 && v <= data.booleans.count ? data.booleans[v - 1].name : "?\(v)", false))
      case 2:
        guard let x = stack.popLast() else { return "?" }
        stack.append(("!" + (x.compound ? "(\(x.text))" : x.text), false))
      default:
        guard stack.count >= 2, let y = stack.popLast(), let x = stack.popLast() else { return "?" }
        let op = [3: "||", 4: "&&", 5: "^", 6: "==", 7: "!="][node.op] ?? "?"
        let l = x.compound ? "(\(x.text))" : x.text
        let r = y.compound ? "(\(y.text))" : y.text
        stack.append(("\(l) \(op) \(r)", true))
      }
    }
    guard let top = stack.last else { return "?" }
    if branch { return top.text }
    return "!" + (top.compound ? "(\(top.text))" : top.text)
  }

  /// A constraint as policy text.
  func constraintText(_ c: PolicyData.Constraint, classValue: Int) -> String {
    typealias C = CompiledConstraint
    let isMLS = c.expression.contains { $0.kind == C.attr && $0.attribute >= C.l1l2 }
    let perms = permissionNames(ofClass: classValue)
    let names = perms.indices.filter { $0 < 32 && c.permissions & (UInt32(1) << UInt32($0)) != 0 }.map { perms[$0] }
    var stack: [String] = []
    let ops = [C.eq: "==", C.neq: "!=", C.dom: "dom", C.domby: "domby", C.incomp: "incomp"]
    for node in c.expression {
      switch node.kind {
      case C.not:
        guard let x = stack.popLast() else { return "?" }
        stack.append("not (\(x))")
      case C.and, C.or:
        guard stack.count >= 2, let y = stack.popLast(), let x = stack.popLast() else { return "?" }
        stack.append("(\(x) \(node.kind == C.and ? "and" : "or") \(y))")
      case C.attr:
        let sides: [Int: (String, String)] = [
          C.user: ("u1", "u2"), C.role: ("r1", "r2"), C.type: ("t1", "t2"), C.l1l2: ("l1", "l2"),
          C.l1h2: ("l1", "h2"), C.h1l2: ("h1", "l2"), C.h1h2: ("h1", "h2"), C.l1h1: ("l1", "h1"),
          C.l2h2: ("l2", "h2"),
        ]
        let (l, r) = sides[node.attribute] ?? ("?", "?")
        stack.append("\(l) \(ops[node.op] ?? "?") \(r)")
      case C.namesKind:
        let side = node.attribute & C.target != 0 ? "2" : (node.attribute & C.xtarget != 0 ? "3" : "1")
        let set: [String]
        let letter: String
        if node.attribute & C.user != 0 {
          letter = "u"
          set = node.names.map { $0 >= 1 && $0 <= data.users.count ? data.users[$0 - 1].name : "?\($0)" }
        } else if node.attribute & C.role != 0 {
          letter = "r"
          set = node.names.map { $0 >= 1 && $0 <= data.roles.count ? data.roles[$0 - 1].name : "?\($0)" }
        } else {
          letter = "t"
          set = node.names.map(typeName)
        }
        let rhs = set.count == 1 ? set[0] : "{ \(set.joined(separator: " ")) }"
        stack.append("\(letter)\(side) \(ops[node.op] ?? "?") \(rhs)")
      default:
        return "?"
      }
    }
    let expr = stack.last ?? "?"
    let body = expr.hasPrefix("(") ? expr : "(\(expr))"
    let className = data.classes[classValue - 1].name
    return "\(isMLS ? "mlsconstrain" : "constrain") \(className) { \(names.joined(separator: " ")) } \(body);"
  }
}
