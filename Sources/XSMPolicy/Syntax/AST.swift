import XSMDiagnostics

/// A name as written in the source, with where it was written. Equality and
/// hashing ignore the span, so trees compare by meaning.
public struct Name: Hashable, Sendable, CustomStringConvertible {
  public var text: String
  public var span: SourceSpan

  public init(_ text: String, span: SourceSpan) {
    self.text = text
    self.span = span
  }
  public var description: String { text }
  public static func == (a: Name, b: Name) -> Bool { a.text == b.text }
  public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

/// A set of names as the language writes them: `name`, `{ a b -c }`, `*`,
/// `~{ a b }`, `~name`. The set means (all, if `star`; else `included`) minus
/// `excluded`, complemented when `complement` is set.
public struct NameSet: Hashable, Sendable {
  public var included: [Name] = []
  public var excluded: [Name] = []
  public var star = false
  public var complement = false
  public var span: SourceSpan

  public init(included: [Name] = [], excluded: [Name] = [], star: Bool = false, complement: Bool = false, span: SourceSpan) {
    self.included = included
    self.excluded = excluded
    self.star = star
    self.complement = complement
    self.span = span
  }

  /// A one-name set.
  public init(_ name: Name) {
    self.init(included: [name], span: name.span)
  }

  /// True when the set is a plain list of names (no `*`, `~` or `-`).
  public var isPlainList: Bool { !star && !complement && excluded.isEmpty }
  public var names: [Name] { included + excluded }

  public static func == (a: NameSet, b: NameSet) -> Bool {
    a.included == b.included && a.excluded == b.excluded && a.star == b.star && a.complement == b.complement
  }
  public func hash(into hasher: inout Hasher) {
    hasher.combine(included)
    hasher.combine(excluded)
    hasher.combine(star)
    hasher.combine(complement)
  }
}

/// An MLS level: a sensitivity and categories (`s0:c0.c255,c300`).
public struct Level: Hashable, Sendable {
  /// One category item: a single category or an inclusive range `c0.c255`.
  public enum Categories: Hashable, Sendable {
    case single(Name)
    case range(Name, Name)
  }
  public var sensitivity: Name
  public var categories: [Categories]
}

/// An MLS range `low - high`; `high` equals `low` when only one level is written.
public struct LevelRange: Hashable, Sendable {
  public var low: Level
  public var high: Level
}

/// A security context `user:role:type[:range]`.
public struct Context: Hashable, Sendable {
  public var user: Name
  public var role: Name
  public var type: Name
  public var range: LevelRange?
  public var span: SourceSpan

  public static func == (a: Context, b: Context) -> Bool {
    a.user == b.user && a.role == b.role && a.type == b.type && a.range == b.range
  }
  public func hash(into hasher: inout Hasher) {
    hasher.combine(user)
    hasher.combine(role)
    hasher.combine(type)
    hasher.combine(range)
  }
}

/// A boolean expression of an `if` statement.
public indirect enum ConditionalExpression: Hashable, Sendable {
  case boolean(Name)
  case not(ConditionalExpression)
  case and(ConditionalExpression, ConditionalExpression)
  case or(ConditionalExpression, ConditionalExpression)
  case xor(ConditionalExpression, ConditionalExpression)
  case equal(ConditionalExpression, ConditionalExpression)
  case notEqual(ConditionalExpression, ConditionalExpression)

  /// Every boolean the expression reads.
  public var booleans: [Name] {
    switch self {
    case .boolean(let n): [n]
    case .not(let e): e.booleans
    case .and(let a, let b), .or(let a, let b), .xor(let a, let b), .equal(let a, let b), .notEqual(let a, let b):
      a.booleans + b.booleans
    }
  }
}

/// An operand of a constraint expression: `u1`, `r2`, `t3`, `l1`, `h2`.
public enum ConstraintOperand: String, Hashable, Sendable {
  case u1, u2, u3, r1, r2, r3, t1, t2, t3, l1, l2, h1, h2
}

/// A constraint expression (`constrain`, `validatetrans`, and their MLS forms).
public indirect enum ConstraintExpression: Hashable, Sendable {
  /// `u1 == u2`, `l1 dom h2`, `r1 domby r2`...
  public enum Operator: String, Hashable, Sendable {
    case equal = "eq", notEqual = "neq", dom, domby, incomp
  }
  case compare(Operator, ConstraintOperand, ConstraintOperand, SourceSpan)
  /// `t1 == { a b }`, `u2 != system_u`.
  case compareNames(Operator, ConstraintOperand, NameSet)
  case not(ConstraintExpression)
  case and(ConstraintExpression, ConstraintExpression)
  case or(ConstraintExpression, ConstraintExpression)

  public static func == (a: ConstraintExpression, b: ConstraintExpression) -> Bool {
    switch (a, b) {
    case let (.compare(o1, x1, y1, _), .compare(o2, x2, y2, _)): o1 == o2 && x1 == x2 && y1 == y2
    case let (.compareNames(o1, x1, s1), .compareNames(o2, x2, s2)): o1 == o2 && x1 == x2 && s1 == s2
    case let (.not(x), .not(y)): x == y
    case let (.and(a1, b1), .and(a2, b2)), let (.or(a1, b1), .or(a2, b2)): a1 == a2 && b1 == b2
    default: false
    }
  }
  public func hash(into hasher: inout Hasher) {
    switch self {
    case let .compare(o, x, y, _): hasher.combine(0); hasher.combine(o); hasher.combine(x); hasher.combine(y)
    case let .compareNames(o, x, s): hasher.combine(1); hasher.combine(o); hasher.combine(x); hasher.combine(s)
    case let .not(e): hasher.combine(2); hasher.combine(e)
    case let .and(a, b): hasher.combine(3); hasher.combine(a); hasher.combine(b)
    case let .or(a, b): hasher.combine(4); hasher.combine(a); hasher.combine(b)
    }
  }
}

/// The four access-vector rule kinds.
public enum AccessRuleKind: String, Hashable, Sendable, CaseIterable {
  case allow, auditallow, dontaudit, neverallow
}

/// The three type rules that compute new labels.
public enum TypeRuleKind: String, Hashable, Sendable, CaseIterable {
  case typeTransition = "type_transition", typeMember = "type_member", typeChange = "type_change"
}

/// Constraint statement kinds.
public enum ConstraintKind: String, Hashable, Sendable {
  case constrain, validatetrans, mlsconstrain, mlsvalidatetrans
  public var isMLS: Bool { self == .mlsconstrain || self == .mlsvalidatetrans }
  public var hasPermissions: Bool { self == .constrain || self == .mlsconstrain }
}

/// Xen's object contexts (ocontexts).
public enum OcontextKind: String, Hashable, Sendable, CaseIterable {
  case pirqcon, iomemcon, ioportcon, pcidevicecon, devicetreecon
}

/// One statement of a policy, with the span it covers.
public struct Statement: Hashable, Sendable {
  public var kind: Kind
  public var span: SourceSpan
  /// The line of the text the parser read (m4 output for trees) where the
  /// statement starts, 0 when unknown; with the `#line` markers it says which
  /// macro call m4 expanded the statement for. Not part of equality.
  public var outputLine: Int {
    get { Int(storedOutputLine) }
    set { storedOutputLine = Int32(clamping: newValue) }
  }
  /// 32 bits, so a statement stays 32 bytes (a policy holds hundreds of thousands).
  private var storedOutputLine: Int32

  public init(_ kind: Kind, span: SourceSpan, outputLine: Int = 0) {
    self.kind = kind
    self.span = span
    storedOutputLine = Int32(clamping: outputLine)
  }
  public static func == (a: Statement, b: Statement) -> Bool { a.kind == b.kind }
  public func hash(into hasher: inout Hasher) { hasher.combine(kind) }

  /// What the statement says.
  public indirect enum Kind: Hashable, Sendable {
    /// `class NAME` (declaration, in security_classes order).
    case classDeclaration(Name)
    /// `class NAME [inherits COMMON] [{ perms }]` (access vector).
    case accessVector(class: Name, common: Name?, permissions: [Name])
    case common(Name, permissions: [Name])
    /// `sid NAME` (declaration; order gives the SID number).
    case sidDeclaration(Name)
    /// `sid NAME CONTEXT`.
    case sidContext(Name, Context)
    case type(Name, aliases: [Name], attributes: [Name])
    case typeAlias(Name, aliases: [Name])
    case attribute(Name)
    case typeAttribute(Name, attributes: [Name])
    case permissive(Name)
    case typeBounds(Name, children: [Name])
    case role(Name, types: NameSet?)
    /// `allow ROLES ROLES;`
    case roleAllow(NameSet, NameSet)
    case user(Name, roles: NameSet, level: Level?, range: LevelRange?)
    case boolean(Name, Bool)
    case policyCapability(Name)
    case conditional(ConditionalExpression, then: [Statement], otherwise: [Statement])
    case accessRule(AccessRuleKind, source: NameSet, target: NameSet, classes: NameSet, permissions: NameSet)
    case typeRule(TypeRuleKind, source: NameSet, target: NameSet, classes: NameSet, result: Name)
    case constraint(ConstraintKind, classes: NameSet, permissions: NameSet?, ConstraintExpression)
    case sensitivity(Name, aliases: [Name])
    case dominance([Name])
    case category(Name, aliases: [Name])
    /// `level s0:c0.c255;` (which categories a sensitivity may take).
    case levelDeclaration(Level)
    /// `pirqcon 33 CTX;`, `iomemcon 0xfe000-0xfe0ff CTX;`, `devicetreecon "/path" CTX;`
    case ocontext(OcontextKind, low: UInt64, high: UInt64, path: String?, Context)
  }
}

/// A parsed policy: its statements in source order.
public struct PolicySyntax: Hashable, Sendable {
  public var statements: [Statement]
  public init(statements: [Statement]) { self.statements = statements }
}
