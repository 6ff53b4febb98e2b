import CSepol

/// Everything an access-vector engine needs from a binary policy, as libsepol
/// reads it, copied out into plain values.
///
/// **Numbering is libsepol's.** Classes, types (attributes included), roles,
/// users, booleans, sensitivities and categories are 1-based *values*; the
/// arrays below that are "by value" hold value `v` at index `v - 1`.
/// Permission bits are 0-based (`1 << bit` in a 32-bit access vector). A
/// value 0 means "none" (no bounds, no class). Lists of values are ascending.
public struct PolicyData: Sendable, Equatable {
  /// An MLS level: a sensitivity value and category values.
  public struct Level: Sendable, Hashable {
    /// Sensitivity value (its position in the dominance order, 1 = lowest).
    public var sensitivity: Int
    /// Category values, ascending.
    public var categories: [Int]

    /// Creates a level.
    public init(sensitivity: Int, categories: [Int]) {
      self.sensitivity = sensitivity
      self.categories = categories
    }
  }

  /// An MLS range.
  public struct Range: Sendable, Hashable {
    /// The low (current) level.
    public var low: Level
    /// The high (clearance) level.
    public var high: Level

    /// Creates a range.
    public init(low: Level, high: Level) {
      self.low = low
      self.high = high
    }
  }

  /// A security context in values; `range` is nil in a non-MLS policy.
  public struct Context: Sendable, Hashable {
    /// User value.
    public var user: Int
    /// Role value.
    public var role: Int
    /// Type value.
    public var type: Int
    /// MLS range (nil unless the policy is MLS).
    public var range: Range?

    /// Creates a context.
    public init(user: Int, role: Int, type: Int, range: Range?) {
      self.user = user
      self.role = role
      self.type = type
      self.range = range
    }
  }

  /// One node of a constraint expression (libsepol's `constraint_expr_t`),
  /// in postfix order.
  public struct ConstraintNode: Sendable, Hashable {
    /// `CEXPR_NOT` 1, `CEXPR_AND` 2, `CEXPR_OR` 3, `CEXPR_ATTR` 4, `CEXPR_NAMES` 5.
    public var kind: Int
    /// `CEXPR_USER` 1, `ROLE` 2, `TYPE` 4, `TARGET` 8 (flag), `XTARGET` 16,
    /// `L1L2` 32, `L1H2` 64, `H1L2` 128, `H1H2` 256, `L1H1` 512, `L2H2` 1024.
    public var attribute: Int
    /// `CEXPR_EQ` 1, `NEQ` 2, `DOM` 3, `DOMBY` 4, `INCOMP` 5.
    public var op: Int
    /// For `CEXPR_NAMES`: the user, role or type values of the set (types
    /// expanded from attributes, as the kernel policy stores them).
    public var names: [Int]

    /// Creates a node.
    public init(kind: Int, attribute: Int, op: Int, names: [Int]) {
      self.kind = kind
      self.attribute = attribute
      self.op = op
      self.names = names
    }
  }

  /// A `constrain` / `mlsconstrain` of a class.
  public struct Constraint: Sendable, Hashable {
    /// Permission bits the constraint guards.
    public var permissions: UInt32
    /// The expression in postfix order.
    public var expression: [ConstraintNode]
  }

  /// A security class.
  public struct ClassInfo: Sendable, Hashable {
    /// Class name.
    public var name: String
    /// Permission names by bit (common permissions included).
    public var permissions: [String]
    /// Constraints in policy order (libsepol applies them in this order).
    public var constraints: [Constraint]
    /// `default_user`: 0 unset, 1 source, 2 target.
    public var defaultUser: Int
    /// `default_role`: 0 unset, 1 source, 2 target.
    public var defaultRole: Int
    /// `default_type`: 0 unset, 1 source, 2 target.
    public var defaultType: Int
    /// `default_range`: 0 unset, 1 source low … 6 target low-high, 7 glblub.
    public var defaultRange: Int
  }

  /// A type or type attribute.
  public struct TypeInfo: Sendable, Hashable {
    /// Name (`p_type_val_to_name`); attributes keep theirs in the binary.
    public var name: String
    /// True for a type attribute.
    public var isAttribute: Bool
    /// The bounding type's value, 0 when unbounded.
    public var bounds: Int
    /// True when the type is declared permissive (the permissive map).
    public var isPermissive: Bool
    /// The `type_attr_map`: the attribute values of this type, the type's
    /// own value included (what libsepol's compute_av iterates).
    public var attributes: [Int]
  }

  /// A role.
  public struct RoleInfo: Sendable, Hashable {
    /// Name.
    public var name: String
    /// Types the role may take (`role->cache`, what context validity checks).
    public var types: [Int]
    /// Roles this role dominates (itself included).
    public var dominates: [Int]
    /// Bounding role, 0 when none.
    public var bounds: Int
  }

  /// A user.
  public struct UserInfo: Sendable, Hashable {
    /// Name.
    public var name: String
    /// Roles the user may take (`user->cache`).
    public var roles: [Int]
    /// The user's MLS range (`exp_range`); nil unless MLS.
    public var range: Range?
    /// The user's default level; nil unless MLS.
    public var defaultLevel: Level?
    /// Bounding user, 0 when none.
    public var bounds: Int
  }

  /// A boolean with the state the binary carries (its default).
  public struct BooleanInfo: Sendable, Hashable {
    /// Name.
    public var name: String
    /// Default state.
    public var state: Bool
  }

  /// One avtab entry: a (source, target, class, kind) key and its datum.
  public struct AVEntry: Sendable, Hashable {
    /// Source type or attribute value.
    public var source: Int
    /// Target type or attribute value.
    public var target: Int
    /// Class value.
    public var classValue: Int
    /// `AVTAB_ALLOWED` 0x1, `AUDITALLOW` 0x2, `AUDITDENY` 0x4,
    /// `TRANSITION` 0x10, `MEMBER` 0x20, `CHANGE` 0x40 (without `AVTAB_ENABLED`).
    public var kind: UInt32
    /// Permission bits, or for type rules the new type's value. For
    /// `AUDITDENY` the bits *kept* audited (dontaudit bits are clear).
    public var data: UInt32

    /// Creates an entry.
    public init(source: Int, target: Int, classValue: Int, kind: UInt32, data: UInt32) {
      self.source = source
      self.target = target
      self.classValue = classValue
      self.kind = kind
      self.data = data
    }
  }

  /// One node of a conditional expression (`cond_expr_t`), postfix order.
  public struct ConditionNode: Sendable, Hashable {
    /// `COND_BOOL` 1, `NOT` 2, `OR` 3, `AND` 4, `XOR` 5, `EQ` 6, `NEQ` 7.
    public var op: Int
    /// Boolean value for `COND_BOOL`, else 0.
    public var boolean: Int
  }

  /// A conditional block (`cond_node_t`) and its two rule lists.
  public struct Conditional: Sendable, Hashable {
    /// The expression, postfix.
    public var expression: [ConditionNode]
    /// `cur_state` as read from the binary (1, 0 or -1).
    public var storedState: Int
    /// Indices into ``PolicyData/conditionalRules`` of the true branch.
    public var trueRules: [Int]
    /// Indices into ``PolicyData/conditionalRules`` of the false branch.
    public var falseRules: [Int]
  }

  /// A rule of a conditional branch.
  public struct ConditionalRule: Sendable, Hashable {
    /// The avtab entry.
    public var entry: AVEntry
    /// Index of its conditional in ``PolicyData/conditionals``.
    public var conditional: Int
    /// True for the `if` branch, false for `else`.
    public var branch: Bool
    /// Whether libsepol has the entry enabled (`AVTAB_ENABLED`) after reading.
    public var enabled: Bool
  }

  /// `allow r1 r2;`
  public struct RoleAllow: Sendable, Hashable {
    /// Current role.
    public var role: Int
    /// New role.
    public var newRole: Int
  }

  /// `role_transition r t:c nr;`
  public struct RoleTransition: Sendable, Hashable {
    /// Current role.
    public var role: Int
    /// Target type.
    public var type: Int
    /// Class.
    public var classValue: Int
    /// New role.
    public var newRole: Int
  }

  /// `range_transition s t:c range;`
  public struct RangeTransition: Sendable, Hashable {
    /// Source type.
    public var source: Int
    /// Target type.
    public var target: Int
    /// Class.
    public var classValue: Int
    /// New range.
    public var range: Range
  }

  /// A sensitivity, by value.
  public struct Sensitivity: Sendable, Hashable {
    /// Name.
    public var name: String
    /// Categories allowed with this sensitivity (`level <sens>:<cats>`).
    public var categories: [Int]
  }

  /// An initial SID.
  public struct InitialSID: Sendable, Hashable {
    /// SID number.
    public var sid: Int
    /// Name: Xen's initial SID name for this number (binaries carry none).
    public var name: String
    /// Context.
    public var context: Context
  }

  /// A numbered label (`pirqcon`, `pcidevicecon`).
  public struct NumberLabel: Sendable, Hashable {
    /// IRQ or SBDF.
    public var number: UInt32
    /// Context.
    public var context: Context
  }

  /// A range label (`ioportcon`, `iomemcon`).
  public struct RangeLabel: Sendable, Hashable {
    /// First port or frame.
    public var low: UInt64
    /// Last port or frame (inclusive).
    public var high: UInt64
    /// Context.
    public var context: Context
  }

  /// A device-tree label (`devicetreecon`).
  public struct PathLabel: Sendable, Hashable {
    /// Full node path.
    public var path: String
    /// Context.
    public var context: Context
  }

  /// Policy version of the binary.
  public var policyVersion: Int = 0
  /// Whether the policy is MLS.
  public var isMLS = false
  /// The header's handle_unknown setting.
  public var handleUnknown: HandleUnknown = .deny
  /// True for a `XenFlask` binary.
  public var isXen = false
  /// libsepol's `process_class`: `domain` for Xen, `process` for SELinux, 0 if absent.
  public var processClass: Int = 0
  /// libsepol's `process_trans_dyntrans`: the transition permission bits of
  /// `processClass` that need a role `allow` when the role changes.
  public var processTransitionPermissions: UInt32 = 0

  /// Classes by value.
  public var classes: [ClassInfo] = []
  /// Types and attributes by value.
  public var types: [TypeInfo] = []
  /// Type aliases: alias name → primary type value.
  public var typeAliases: [String: Int] = [:]
  /// Roles by value (`object_r` is value 1).
  public var roles: [RoleInfo] = []
  /// Users by value.
  public var users: [UserInfo] = []
  /// Booleans by value.
  public var booleans: [BooleanInfo] = []

  /// Unconditional avtab entries (access vectors and type rules), in a
  /// deterministic order (source, target, class, kind).
  public var rules: [AVEntry] = []
  /// Conditional blocks in libsepol's list order.
  public var conditionals: [Conditional] = []
  /// All conditional rules, grouped by conditional then branch (true first).
  public var conditionalRules: [ConditionalRule] = []
  /// Role allow rules in list order.
  public var roleAllows: [RoleAllow] = []
  /// Role transitions in list order (the first match wins).
  public var roleTransitions: [RoleTransition] = []
  /// Range transitions, sorted by (source, target, class).
  public var rangeTransitions: [RangeTransition] = []

  /// Sensitivities by value (value order is the dominance order).
  public var sensitivities: [Sensitivity] = []
  /// Sensitivity aliases: alias → value.
  public var sensitivityAliases: [String: Int] = [:]
  /// Category names by value.
  public var categories: [String] = []
  /// Category aliases: alias → value.
  public var categoryAliases: [String: Int] = [:]

  /// Initial SIDs sorted by SID number.
  public var initialSIDs: [InitialSID] = []
  /// `pirqcon` in policy order.
  public var pirqs: [NumberLabel] = []
  /// `ioportcon` in policy order.
  public var ioports: [RangeLabel] = []
  /// `iomemcon` in policy order.
  public var iomems: [RangeLabel] = []
  /// `pcidevicecon` in policy order.
  public var pciDevices: [NumberLabel] = []
  /// `devicetreecon` in policy order.
  public var deviceTree: [PathLabel] = []

  /// An empty value (fill it in, or use ``PolicyExport/read(binary:)``).
  public init() {}
}

/// Reads binary policies into ``PolicyData`` through libsepol.
@SepolActor
public enum PolicyExport {
  /// Parses `binary` with libsepol (`PolicyDatabase.read`) and copies out
  /// every table of ``PolicyData``.
  ///
  /// - Throws: ``SepolError`` `sepol.policy-read-failed` for truncated or
  ///   invalid input, `sepol.out-of-memory`.
  public static func read(binary: [UInt8]) throws(SepolError) -> PolicyData {
    let (data, _) = try withSepolCapture { () throws(SepolError) -> PolicyData in
      let db = try PolicyDatabase.read(binary)
      defer { sepol_policydb_free(db) }
      return try export(db)
    }
    return data
  }

  static func export(_ db: UnsafeMutablePointer<sepol_policydb_t>) throws(SepolError) -> PolicyData {
    let collector = ExportCollector()
    let ctx = Unmanaged.passUnretained(collector).toOpaque()
    let sink: xsm_export_sink_fn = { ctx, kind, fields, count, text in
      guard let ctx else { return }
      let collector = Unmanaged<ExportCollector>.fromOpaque(ctx).takeUnretainedValue()
      let buffer = UnsafeBufferPointer(start: fields, count: Int(count))
      collector.record(kind: kind, fields: buffer, text: text.map { String(cString: $0) })
    }
    let rc = withExtendedLifetime(collector) {
      xsm_export_classes(db, ctx, sink) | xsm_export_symbols(db, ctx, sink)
        | xsm_export_rules(db, ctx, sink) | xsm_export_labels(db, ctx, sink)
    }
    guard rc == 0 else { throw .outOfMemory("policy export") }
    return collector.finish(sidNames: PolicyTables.xenInitialSIDs)
  }
}

/// Decodes export records (see export.h for the field layouts).
private final class ExportCollector {
  var data = PolicyData()
  var typeNames: [Int: String] = [:]
  var typeEntries: [(name: String, value: Int, flavor: Int, primary: Int, bounds: Int)] = []
  var typeAttributes: [Int: [Int]] = [:]
  var permissive: Set<Int> = []
  var permissions: [Int: [(bit: Int, name: String)]] = [:]
  var constraintNodes: [Int: [Int: [PolicyData.ConstraintNode]]] = [:]
  var constraintPermissions: [Int: [Int: UInt32]] = [:]
  var classNames: [Int: (name: String, defaults: [Int])] = [:]
  var roles: [Int: PolicyData.RoleInfo] = [:]
  var users: [Int: PolicyData.UserInfo] = [:]
  var booleans: [Int: PolicyData.BooleanInfo] = [:]
  var sensitivities: [(name: String, value: Int, alias: Bool, categories: [Int])] = []
  var categories: [(name: String, value: Int, alias: Bool)] = []
  var initialSIDs: [(sid: Int, name: String?, context: PolicyData.Context)] = []
  var counts: [Int] = []

  func record(kind: UInt32, fields f: UnsafeBufferPointer<UInt64>, text: String?) {
    var r = FieldReader(fields: f, mls: data.isMLS)
    switch Int32(truncatingIfNeeded: kind) {
    case XSM_EX_HEADER:
      data.policyVersion = r.int()
      data.isMLS = r.int() != 0
      data.handleUnknown = HandleUnknown(sepolValue: UInt32(truncatingIfNeeded: r.next()))
      data.isXen = r.int() == Int(SEPOL_TARGET_XEN)
      data.processClass = r.int()
      data.processTransitionPermissions = UInt32(truncatingIfNeeded: r.next())
      counts = (0..<7).map { _ in r.int() }
    case XSM_EX_CLASS:
      let value = r.int()
      classNames[value] = (text ?? "class\(value)", (0..<4).map { _ in r.int() })
    case XSM_EX_PERM:
      let value = r.int()
      permissions[value, default: []].append((r.int(), text ?? ""))
    case XSM_EX_CONSTRAINT:
      let value = r.int()
      let index = r.int()
      constraintPermissions[value, default: [:]][index] = UInt32(truncatingIfNeeded: r.next())
    case XSM_EX_CEXPR:
      let value = r.int()
      let index = r.int()
      let node = PolicyData.ConstraintNode(kind: r.int(), attribute: r.int(), op: r.int(), names: r.rest())
      constraintNodes[value, default: [:]][index, default: []].append(node)
    case XSM_EX_TYPE:
      let value = r.int()
      let flavor = r.int()
      let primary = r.int()
      _ = r.next()  // flags: the permissive map is authoritative in kernel policies
      typeEntries.append((text ?? "", value, flavor, primary, r.int()))
    case XSM_EX_TYPE_NAME:
      typeNames[r.int()] = text
    case XSM_EX_TYPE_ATTRS:
      let value = r.int()
      typeAttributes[value] = r.rest()
    case XSM_EX_PERMISSIVE:
      permissive.insert(r.int())
    case XSM_EX_ROLE:
      let value = r.int()
      roles[value] = .init(name: text ?? "role\(value)", types: [], dominates: [], bounds: r.int())
    case XSM_EX_ROLE_TYPES:
      let value = r.int()
      roles[value]?.types = r.rest()
    case XSM_EX_ROLE_DOMINATES:
      let value = r.int()
      roles[value]?.dominates = r.rest()
    case XSM_EX_USER:
      let value = r.int()
      users[value] = .init(name: text ?? "user\(value)", roles: [], range: nil, defaultLevel: nil, bounds: r.int())
    case XSM_EX_USER_ROLES:
      let value = r.int()
      users[value]?.roles = r.rest()
    case XSM_EX_USER_MLS:
      let value = r.int()
      users[value]?.range = r.range()
      users[value]?.defaultLevel = r.level()
    case XSM_EX_BOOL:
      let value = r.int()
      booleans[value] = .init(name: text ?? "bool\(value)", state: r.int() != 0)
    case XSM_EX_AVTAB:
      data.rules.append(r.entry())
    case XSM_EX_COND:
      _ = r.int()
      let state = Int(Int64(bitPattern: r.next()))
      let n = r.int()
      let expression = (0..<n).map { _ in PolicyData.ConditionNode(op: r.int(), boolean: r.int()) }
      data.conditionals.append(.init(expression: expression, storedState: state, trueRules: [], falseRules: []))
    case XSM_EX_COND_AV:
      let index = r.int()
      let branch = r.int() != 0
      let source = r.int()
      let target = r.int()
      let cls = r.int()
      let specified = UInt32(truncatingIfNeeded: r.next())
      let datum = UInt32(truncatingIfNeeded: r.next())
      let enabled = specified & UInt32(AVTAB_ENABLED) != 0
      let entry = PolicyData.AVEntry(
        source: source, target: target, classValue: cls, kind: specified & ~UInt32(AVTAB_ENABLED), data: datum)
      let ruleIndex = data.conditionalRules.count
      data.conditionalRules.append(.init(entry: entry, conditional: index, branch: branch, enabled: enabled))
      if data.conditionals.indices.contains(index) {
        if branch {
          data.conditionals[index].trueRules.append(ruleIndex)
        } else {
          data.conditionals[index].falseRules.append(ruleIndex)
        }
      }
    case XSM_EX_ROLE_ALLOW:
      data.roleAllows.append(.init(role: r.int(), newRole: r.int()))
    case XSM_EX_ROLE_TRANS:
      data.roleTransitions.append(.init(role: r.int(), type: r.int(), classValue: r.int(), newRole: r.int()))
    case XSM_EX_RANGE_TRANS:
      data.rangeTransitions.append(
        .init(source: r.int(), target: r.int(), classValue: r.int(), range: r.forcedRange()))
    case XSM_EX_SENS:
      sensitivities.append((text ?? "", r.int(), r.int() != 0, r.rest()))
    case XSM_EX_CAT:
      categories.append((text ?? "", r.int(), r.int() != 0))
    case XSM_EX_ISID:
      let sid = r.int()
      initialSIDs.append((sid, text, r.context()))
    case XSM_EX_PIRQ:
      data.pirqs.append(.init(number: UInt32(truncatingIfNeeded: r.next()), context: r.context()))
    case XSM_EX_IOPORT:
      data.ioports.append(.init(low: r.next(), high: r.next(), context: r.context()))
    case XSM_EX_IOMEM:
      data.iomems.append(.init(low: r.next(), high: r.next(), context: r.context()))
    case XSM_EX_PCIDEVICE:
      data.pciDevices.append(.init(number: UInt32(truncatingIfNeeded: r.next()), context: r.context()))
    case XSM_EX_DEVICETREE:
      data.deviceTree.append(.init(path: text ?? "", context: r.context()))
    default:
      break
    }
  }

  func finish(sidNames: [String]) -> PolicyData {
    let classCount = counts.count > 0 ? counts[0] : 0
    let typeCount = counts.count > 1 ? counts[1] : 0
    let roleCount = counts.count > 2 ? counts[2] : 0
    let userCount = counts.count > 3 ? counts[3] : 0
    let boolCount = counts.count > 4 ? counts[4] : 0

    data.classes = (0..<classCount).map { index in
      let value = index + 1
      let (name, defaults) = classNames[value] ?? ("class\(value)", [0, 0, 0, 0])
      let perms = permissions[value] ?? []
      var names = [String](repeating: "", count: (perms.map(\.bit).max() ?? -1) + 1)
      for (bit, name) in perms { names[bit] = name }
      for i in names.indices where names[i].isEmpty { names[i] = "bit\(i)" }
      let nodes = constraintNodes[value] ?? [:]
      let constraints = (constraintPermissions[value] ?? [:]).sorted { $0.key < $1.key }.map { index, perms in
        PolicyData.Constraint(permissions: perms, expression: nodes[index] ?? [])
      }
      return PolicyData.ClassInfo(
        name: name, permissions: names, constraints: constraints, defaultUser: defaults[0],
        defaultRole: defaults[1], defaultType: defaults[2], defaultRange: defaults[3])
    }

    var flavorByValue: [Int: Int] = [:]
    var boundsByValue: [Int: Int] = [:]
    for entry in typeEntries where typeNames[entry.value] == entry.name {
      flavorByValue[entry.value] = entry.flavor
      boundsByValue[entry.value] = entry.bounds
    }
    data.types = (0..<typeCount).map { index in
      let value = index + 1
      return PolicyData.TypeInfo(
        name: typeNames[value] ?? "type\(value)",
        isAttribute: flavorByValue[value] == Int(TYPE_ATTRIB),
        bounds: boundsByValue[value] ?? 0,
        isPermissive: permissive.contains(value),
        attributes: typeAttributes[value] ?? [value])
    }
    for entry in typeEntries where typeNames[entry.value] != entry.name && entry.value >= 1 && entry.value <= typeCount
    {
      data.typeAliases[entry.name] = entry.value
    }

    data.roles = (0..<roleCount).map {
      roles[$0 + 1] ?? .init(name: "role\($0 + 1)", types: [], dominates: [], bounds: 0)
    }
    data.users = (0..<userCount).map {
      users[$0 + 1] ?? .init(name: "user\($0 + 1)", roles: [], range: nil, defaultLevel: nil, bounds: 0)
    }
    data.booleans = (0..<boolCount).map { booleans[$0 + 1] ?? .init(name: "bool\($0 + 1)", state: false) }

    data.rules.sort { a, b in
      (a.source, a.target, a.classValue, a.kind) < (b.source, b.target, b.classValue, b.kind)
    }
    data.rangeTransitions.sort { a, b in (a.source, a.target, a.classValue) < (b.source, b.target, b.classValue) }

    let primarySens = sensitivities.filter { !$0.alias }.sorted { $0.value < $1.value }
    data.sensitivities = primarySens.map { .init(name: $0.name, categories: $0.categories) }
    for s in sensitivities where s.alias { data.sensitivityAliases[s.name] = s.value }
    let primaryCats = categories.filter { !$0.alias }.sorted { $0.value < $1.value }
    data.categories = primaryCats.map(\.name)
    for c in categories where c.alias { data.categoryAliases[c.name] = c.value }

    data.initialSIDs = initialSIDs.sorted { $0.sid < $1.sid }.map { sid in
      let index = sid.sid - 1
      let name =
        sid.name
        ?? (sidNames.indices.contains(index) ? sidNames[index] : "sid\(sid.sid)")
      return .init(sid: sid.sid, name: name, context: sid.context)
    }
    return data
  }
}

/// Reads fields in order; past the end reads 0.
private struct FieldReader {
  let fields: UnsafeBufferPointer<UInt64>
  let mls: Bool
  var at = 0

  init(fields: UnsafeBufferPointer<UInt64>, mls: Bool) {
    self.fields = fields
    self.mls = mls
  }

  mutating func next() -> UInt64 {
    guard at < fields.count else { return 0 }
    defer { at += 1 }
    return fields[at]
  }

  mutating func int() -> Int { Int(truncatingIfNeeded: next()) }

  mutating func rest() -> [Int] {
    var out: [Int] = []
    out.reserveCapacity(max(0, fields.count - at))
    while at < fields.count { out.append(int()) }
    return out
  }

  mutating func level() -> PolicyData.Level {
    let sensitivity = int()
    let n = int()
    var categories: [Int] = []
    for _ in 0..<max(0, n) { categories.append(int()) }
    return .init(sensitivity: sensitivity, categories: categories)
  }

  /// A range; nil (after consuming it) when the policy is not MLS.
  mutating func range() -> PolicyData.Range? {
    let range = forcedRange()
    return mls ? range : nil
  }

  mutating func forcedRange() -> PolicyData.Range {
    let low = level()
    return .init(low: low, high: level())
  }

  mutating func context() -> PolicyData.Context {
    let user = int()
    let role = int()
    let type = int()
    return .init(user: user, role: role, type: type, range: range())
  }

  mutating func entry() -> PolicyData.AVEntry {
    .init(
      source: int(), target: int(), classValue: int(), kind: UInt32(truncatingIfNeeded: next()),
      data: UInt32(truncatingIfNeeded: next()))
  }
}
