import XSMSepol

/// A `constrain` / `mlsconstrain` ready to evaluate: libsepol's postfix
/// nodes with name sets as bitsets.
struct CompiledConstraint: Sendable {
  struct Node: Sendable {
    var kind: Int
    var attribute: Int
    var op: Int
    /// Bitset over value - 1 (CEXPR_NAMES only).
    var names: [UInt64]
  }

  // libsepol constraint.h
  static let not = 1, and = 2, or = 3, attr = 4, namesKind = 5
  static let user = 1, role = 2, type = 4, target = 8, xtarget = 16
  static let l1l2 = 32, l1h2 = 64, h1l2 = 128, h1h2 = 256, l1h1 = 512, l2h2 = 1024
  static let eq = 1, neq = 2, dom = 3, domby = 4, incomp = 5
  static let maxDepth = 5

  var permissions: UInt32
  var nodes: [Node]
  var source: PolicyData.Constraint

  init(_ c: PolicyData.Constraint) {
    permissions = c.permissions
    nodes = c.expression.map { Node(kind: $0.kind, attribute: $0.attribute, op: $0.op, names: Bitset.make($0.names)) }
    source = c
  }

  /// libsepol's `constraint_expr_eval_reason` without the reason buffer:
  /// true when the constraint holds. Malformed expressions behave as there
  /// (an operator without operands yields `-EINVAL`, which counts as true;
  /// a stack overflow or an unknown node yields false).
  func evaluate(_ policy: FlaskPolicy, _ s: SecurityContext, _ sType: Int, _ t: SecurityContext, _ tType: Int)
    -> Bool
  {
    withUnsafeTemporaryAllocation(of: Bool.self, capacity: Self.maxDepth) { stack -> Bool in
      stack.initialize(repeating: false)
      var sp = -1
      for node in nodes {
        switch node.kind {
        case Self.not:
          if sp < 0 { return true }
          stack[sp] = !stack[sp]
        case Self.and:
          if sp < 1 { return true }
          sp -= 1
          stack[sp] = stack[sp] && stack[sp + 1]
        case Self.or:
          if sp < 1 { return true }
          sp -= 1
          stack[sp] = stack[sp] || stack[sp + 1]
        case Self.attr:
          if sp == Self.maxDepth - 1 { return false }
          guard let value = Self.compare(node, policy, s, sType, t, tType) else { return false }
          sp += 1
          stack[sp] = value
        case Self.namesKind:
          if sp == Self.maxDepth - 1 { return false }
          let isTarget = node.attribute & Self.target != 0
          if !isTarget && node.attribute & Self.xtarget != 0 { return false }
          let c = isTarget ? t : s
          let value: Int
          if node.attribute & Self.user != 0 {
            value = c.user
          } else if node.attribute & Self.role != 0 {
            value = c.role
          } else if node.attribute & Self.type != 0 {
            value = isTarget ? tType : sType
          } else {
            return false
          }
          let member = Bitset.contains(node.names, value - 1)
          switch node.op {
          case Self.eq:
            sp += 1
            stack[sp] = member
          case Self.neq:
            sp += 1
            stack[sp] = !member
          default: return false
          }
        default:
          return false
        }
      }
      return stack[0]
    }
  }

  /// One `CEXPR_ATTR` node; nil for what libsepol treats as a bug (false).
  @inline(__always)
  private static func compare(
    _ node: Node, _ policy: FlaskPolicy, _ s: SecurityContext, _ sType: Int, _ t: SecurityContext, _ tType: Int
  ) -> Bool? {
    let v1: Int
    let v2: Int
    switch node.attribute {
    case user:
      v1 = s.user
      v2 = t.user
    case type:
      v1 = sType
      v2 = tType
    case role:
      v1 = s.role
      v2 = t.role
      switch node.op {
      case dom: return policy.roleDominates(v1, v2)
      case domby: return policy.roleDominates(v2, v1)
      case incomp: return !policy.roleDominates(v1, v2) && !policy.roleDominates(v2, v1)
      default: break
      }
    case l1l2, l1h2, h1l2, h1h2, l1h1, l2h2:
      let sr = s.range ?? MLSRange(.none)
      let tr = t.range ?? MLSRange(.none)
      let l1: MLSLevel
      let l2: MLSLevel
      switch node.attribute {
      case l1l2: (l1, l2) = (sr.low, tr.low)
      case l1h2: (l1, l2) = (sr.low, tr.high)
      case h1l2: (l1, l2) = (sr.high, tr.low)
      case h1h2: (l1, l2) = (sr.high, tr.high)
      case l1h1: (l1, l2) = (sr.low, sr.high)
      default: (l1, l2) = (tr.low, tr.high)
      }
      switch node.op {
      case eq: return l1.isEqual(to: l2)
      case neq: return !l1.isEqual(to: l2)
      case dom: return l1.dominates(l2)
      case domby: return l2.dominates(l1)
      case incomp: return l2.isIncomparable(with: l1)
      default: return nil
      }
    default:
      return nil
    }
    switch node.op {
    case eq: return v1 == v2
    case neq: return v1 != v2
    default: return nil
    }
  }
}
