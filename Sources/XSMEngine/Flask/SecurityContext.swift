/// A security context as values of the loaded policy (libsepol numbering:
/// user, role and type values are 1-based; `object_r` is role 1).
public struct SecurityContext: Hashable, Sendable {
  /// User value.
  public var user: Int
  /// Role value.
  public var role: Int
  /// Type value.
  public var type: Int
  /// MLS range; nil in a non-MLS policy.
  public var range: MLSRange?

  /// Creates a context.
  public init(user: Int, role: Int, type: Int, range: MLSRange? = nil) {
    self.user = user
    self.role = role
    self.type = type
    self.range = range
  }
}

/// An MLS range: low (current) and high (clearance) levels.
public struct MLSRange: Hashable, Sendable {
  /// Low level.
  public var low: MLSLevel
  /// High level.
  public var high: MLSLevel

  /// Creates a range.
  public init(low: MLSLevel, high: MLSLevel) {
    self.low = low
    self.high = high
  }

  /// The range `level-level`.
  public init(_ level: MLSLevel) {
    self.init(low: level, high: level)
  }
}

/// An MLS level: a sensitivity value and a category bitset.
public struct MLSLevel: Hashable, Sendable {
  /// Sensitivity value (1-based; higher values dominate lower ones).
  public var sensitivity: Int
  /// Category bitset: bit `v - 1` (word `(v - 1) / 64`) is category value `v`.
  /// Values made by this module carry no trailing zero words, so equal
  /// levels compare equal; ``FlaskPolicy`` itself tolerates trailing zeros.
  public var categories: [UInt64]

  /// Creates a level from a bitset (trailing zero words are dropped).
  public init(sensitivity: Int, categories: [UInt64] = []) {
    self.sensitivity = sensitivity
    var words = categories
    while words.last == 0 { words.removeLast() }
    self.categories = words
  }

  /// Creates a level from category values (1-based).
  public init(sensitivity: Int, categoryValues: some Sequence<Int>) {
    var words: [UInt64] = []
    for value in categoryValues where value >= 1 {
      let bit = value - 1
      while words.count <= bit / 64 { words.append(0) }
      words[bit / 64] |= 1 << UInt64(bit % 64)
    }
    self.init(sensitivity: sensitivity, categories: words)
  }

  /// The category values in the set, ascending.
  public var categoryValues: [Int] {
    var out: [Int] = []
    for (w, word) in categories.enumerated() where word != 0 {
      for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { out.append(w * 64 + bit + 1) }
    }
    return out
  }

  /// libsepol's `mls_level_dom`: `self` dominates `other` (sensitivity at
  /// least as high, categories a superset).
  public func dominates(_ other: MLSLevel) -> Bool {
    guard sensitivity >= other.sensitivity else { return false }
    let mine = categories
    let theirs = other.categories
    for i in 0..<theirs.count {
      let word = i < mine.count ? mine[i] : 0
      if theirs[i] & ~word != 0 { return false }
    }
    return true
  }

  /// libsepol's `mls_level_eq` (trailing zero words ignored).
  public func isEqual(to other: MLSLevel) -> Bool {
    guard sensitivity == other.sensitivity else { return false }
    let a = categories
    let b = other.categories
    for i in 0..<max(a.count, b.count) {
      let x = i < a.count ? a[i] : 0
      let y = i < b.count ? b[i] : 0
      if x != y { return false }
    }
    return true
  }

  /// libsepol's `mls_level_incomp`: neither dominates the other.
  public func isIncomparable(with other: MLSLevel) -> Bool {
    !dominates(other) && !other.dominates(self)
  }

  /// The zero level libsepol keeps in contexts of a non-MLS policy.
  static let none = MLSLevel(sensitivity: 0)
}

/// The answer of compute_av: the three vectors of `struct av_decision` and
/// Xen's `AVD_FLAGS_PERMISSIVE` (the source type is declared permissive).
public struct AccessDecision: Hashable, Sendable {
  /// Granted permission bits.
  public var allowed: UInt32
  /// Bits to audit when granted (`auditallow`).
  public var auditAllow: UInt32
  /// Bits to audit when denied (all ones minus `dontaudit`).
  public var auditDeny: UInt32
  /// The source type is permissive: denials are logged, not enforced.
  public var permissive: Bool

  /// Creates a decision.
  public init(allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32, permissive: Bool) {
    self.allowed = allowed
    self.auditAllow = auditAllow
    self.auditDeny = auditDeny
    self.permissive = permissive
  }
}

/// Which kind of type rule `computeSID` applies (`AVTAB_TRANSITION`,
/// `AVTAB_MEMBER`, `AVTAB_CHANGE`; FLASK_CREATE, FLASK_MEMBER, FLASK_RELABEL).
public enum TransitionKind: Sendable, Hashable, CaseIterable {
  /// `type_transition` (also role and range transitions).
  case transition
  /// `type_member`.
  case member
  /// `type_change`.
  case change

  var avtabKind: UInt32 {
    switch self {
    case .transition: 0x10
    case .member: 0x20
    case .change: 0x40
    }
  }
}

/// A rule that grants a permission, for explanations.
public struct GrantingRule: Hashable, Sendable, CustomStringConvertible {
  /// Source type or attribute name, as the rule names it in the binary.
  public var source: String
  /// Target type or attribute name.
  public var target: String
  /// Class name.
  public var className: String
  /// Every permission the rule grants, in bit order.
  public var permissions: [String]
  /// The boolean condition (infix, e.g. `guest_writeconsole && !policy_frozen`)
  /// under which the rule is active, with `else` rules as `!(…)`; nil when unconditional.
  public var condition: String?

  /// True for a rule inside an `if` block.
  public var isConditional: Bool { condition != nil }

  /// `allow source target:class { permissions };` plus `[if condition]`
  /// for a conditional rule.
  public var description: String {
    let perms = permissions.count == 1 ? permissions[0] : "{ \(permissions.joined(separator: " ")) }"
    let rule = "allow \(source) \(target):\(className) \(perms);"
    return condition.map { "\(rule) [if \($0)]" } ?? rule
  }
}

/// Device labels of a Xen policy (ocontexts), as contexts.
public struct Ocontexts: Sendable, Hashable {
  /// A labelled inclusive range of I/O ports or memory frames.
  public struct LabeledRange<Bound: FixedWidthInteger & Sendable>: Sendable, Hashable {
    /// First port or frame.
    public var low: Bound
    /// Last port or frame (inclusive).
    public var high: Bound
    /// Label.
    public var context: SecurityContext
  }

  /// `pirqcon`: IRQ → label (the first entry wins for duplicates, as in Xen).
  public var pirq: [UInt32: SecurityContext] = [:]
  /// `ioportcon`, sorted by (low, high).
  public var ioport: [LabeledRange<UInt32>] = []
  /// `iomemcon` (frame numbers), sorted by (low, high).
  public var iomem: [LabeledRange<UInt64>] = []
  /// `pcidevicecon`: SBDF → label.
  public var pciDevice: [UInt32: SecurityContext] = [:]
  /// `devicetreecon`: full node path → label.
  public var deviceTree: [String: SecurityContext] = [:]
}

/// Why a policy could not be loaded.
public struct FlaskPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Stable identifier (`flask.policy-read-failed`).
  public var id: String
  /// What went wrong.
  public var message: String

  /// Creates an error.
  public init(id: String, message: String) {
    self.id = id
    self.message = message
  }

  /// `id: message`.
  public var description: String { "\(id): \(message)" }
}
