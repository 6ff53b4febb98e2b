/// Every access decision and transition for every (source type, target type,
/// class) of a policy, as computed by ``SepolOracle/decisionTable(types:classes:user:)``.
///
/// Entries are stored flat, source-major: the entry for
/// `(types[s], types[t], classes[c])` is at
/// ``index(source:target:class:)`` = `(s * types.count + t) * classes.count + c`.
public struct DecisionTable: Sendable, Equatable {
  /// Source and target types, in table order.
  public var types: [String]
  /// Classes, in table order.
  public var classes: [String]
  /// For each class (same order as `classes`), its permission names by bit.
  public var permissions: [[String]]
  /// The access vectors, flat (see ``index(source:target:class:)``).
  public var vectors: [SepolOracle.AccessVector]
  /// The type of `sepol_transition_sid`'s result, flat like `vectors`.
  public var transitions: [String]

  /// Creates a table; `vectors` and `transitions` must each hold
  /// `types.count² × classes.count` entries.
  public init(
    types: [String], classes: [String], permissions: [[String]],
    vectors: [SepolOracle.AccessVector], transitions: [String]
  ) {
    self.types = types
    self.classes = classes
    self.permissions = permissions
    self.vectors = vectors
    self.transitions = transitions
  }

  /// Flat index of `(types[source], types[target], classes[class])`.
  public func index(source: Int, target: Int, class cls: Int) -> Int {
    (source * types.count + target) * classes.count + cls
  }

  /// The access vector for named source, target and class, or nil when one of
  /// them is not in the table.
  public func vector(source: String, target: String, class cls: String)
    -> SepolOracle.AccessVector?
  {
    guard let s = types.firstIndex(of: source), let t = types.firstIndex(of: target),
      let c = classes.firstIndex(of: cls)
    else { return nil }
    let i = index(source: s, target: t, class: c)
    return vectors.indices.contains(i) ? vectors[i] : nil
  }

  /// The transition type for named source, target and class, or nil.
  public func transition(source: String, target: String, class cls: String) -> String? {
    guard let s = types.firstIndex(of: source), let t = types.firstIndex(of: target),
      let c = classes.firstIndex(of: cls)
    else { return nil }
    let i = index(source: s, target: t, class: c)
    return transitions.indices.contains(i) ? transitions[i] : nil
  }

  /// Names the first differing (source, target, class) triple, in table order,
  /// and what differs (allowed, auditallow, auditdeny or transition, with the
  /// permission names on each side); nil when the tables decide alike.
  ///
  /// Permission bits are compared by name, so two policies that number a
  /// class's permissions differently still compare correctly. Bits without a
  /// name are called `bit<N>`. Both tables must list the same types and
  /// classes in the same order; otherwise that is the difference reported.
  public func firstDifference(from other: DecisionTable) -> String? {
    if types != other.types {
      return Self.listDifference("types", types, other.types)
    }
    if classes != other.classes {
      return Self.listDifference("classes", classes, other.classes)
    }
    let expected = types.count * types.count * classes.count
    guard vectors.count == expected, transitions.count == expected else {
      return "this table is malformed: expected \(expected) entries"
    }
    guard other.vectors.count == expected, other.transitions.count == expected else {
      return "the other table is malformed: expected \(expected) entries"
    }
    for s in types.indices {
      for t in types.indices {
        for c in classes.indices {
          let i = index(source: s, target: t, class: c)
          let triple = "\(types[s]) -> \(types[t]) : \(classes[c])"
          let mine = permissions.indices.contains(c) ? permissions[c] : []
          let theirs = other.permissions.indices.contains(c) ? other.permissions[c] : []
          let a = vectors[i]
          let b = other.vectors[i]
          let fields: [(String, UInt32, UInt32)] = [
            ("allowed", a.allowed, b.allowed),
            ("auditallow", a.auditAllow, b.auditAllow),
            ("auditdeny", a.auditDeny, b.auditDeny),
          ]
          for (field, x, y) in fields {
            let here = Self.names(x, mine)
            let there = Self.names(y, theirs)
            if here != there {
              let onlyHere = here.subtracting(there).sorted()
              let onlyThere = there.subtracting(here).sorted()
              return
                "\(triple): \(field) differs (only in this table: \(Self.list(onlyHere)); only in the other: \(Self.list(onlyThere)))"
            }
          }
          if transitions[i] != other.transitions[i] {
            return
              "\(triple): transition differs (this table: \(transitions[i]); the other: \(other.transitions[i]))"
          }
        }
      }
    }
    return nil
  }

  private static func names(_ bits: UInt32, _ permissionNames: [String]) -> Set<String> {
    var out = Set<String>()
    for bit in 0..<32 where bits & (UInt32(1) << UInt32(bit)) != 0 {
      out.insert(bit < permissionNames.count ? permissionNames[bit] : "bit\(bit)")
    }
    return out
  }

  private static func list(_ names: [String]) -> String {
    names.isEmpty ? "none" : "{ " + names.joined(separator: " ") + " }"
  }

  private static func listDifference(_ what: String, _ a: [String], _ b: [String]) -> String {
    for i in 0..<max(a.count, b.count) {
      let x = i < a.count ? a[i] : "(end)"
      let y = i < b.count ? b[i] : "(end)"
      if x != y {
        return "\(what) differ at position \(i): \(x) in this table, \(y) in the other"
      }
    }
    return "\(what) differ"
  }
}
