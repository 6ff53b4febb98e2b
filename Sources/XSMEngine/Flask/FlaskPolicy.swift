import XSMSepol

/// An immutable loaded policy that answers compute_av and compute_sid like
/// libsepol 3.4's `services.c`, from its own tables.
///
/// Built from a ``PolicyData`` (libsepol's policydb copied out, libsepol's
/// value numbering). At init every access-vector avtab entry — written
/// against types *or attributes* — is expanded to the (source type, target
/// type, class) triples it covers through the type→attribute map, so
/// ``computeAV(source:target:classValue:booleans:)`` makes one hash probe
/// where libsepol walks every attribute pair of the two types. To keep
/// memory linear in the policy, an entry whose target attribute has more
/// than ``targetExpansionLimit`` types is expanded on the source side only,
/// keyed by (source type, target attribute, class); a query then adds one
/// probe per such attribute of its target type. Conditional entries are
/// expanded the same way and kept beside the unconditional vectors with the
/// conditional they belong to; each query evaluates those conditionals
/// against the boolean vector it is given. Nothing is cached across calls,
/// the query path does not allocate, and the object is immutable, so it can
/// be shared between threads freely.
///
/// Semantics mirrored (libsepol `context_struct_compute_av`): allowed and
/// auditallow are ORed and auditdeny ANDed (from all ones) over every
/// attribute pair plus enabled conditional entries; then each constraint of
/// the class whose permissions intersect allowed and whose expression is
/// false removes its permissions; then, for the process class (`domain` in
/// Xen) with a changing role, the transition permission needs a role `allow`;
/// then type bounds mask what the bounding type lacks. `permissive` reports
/// a permissive source type (Xen's `AVD_FLAGS_PERMISSIVE`; libsepol has no
/// such flag).
///
/// Out-of-range values (class 0, a type or role beyond the policy) never
/// crash: they simply match no rule. libsepol fails with `-EINVAL` for an
/// unknown class; here that answer is "nothing allowed, everything audited".
public final class FlaskPolicy: Sendable {
  /// The policy tables this object was built from.
  public let data: PolicyData

  /// Rows by (source type, target type, class).
  let table: AVTable
  /// Rows by (source type, large target attribute, class).
  let attributeTable: AVTable
  /// The large target attributes of each type that `attributeTable` has
  /// rows for: `largeTargets[largeTargetStart[t]..<largeTargetStart[t + 1]]`.
  let largeTargetStart: [Int32]
  let largeTargets: [Int32]
  let hasAttributeRows: Bool
  let typeCount: Int
  let classCount: Int
  /// Bounding type by value (index = value; 0 = none).
  let typeBounds: [Int32]
  /// Permissive flag by value (index = value).
  let permissiveTypes: [Bool]
  /// Constraints by class value (index = value).
  let constraints: [[CompiledConstraint]]
  /// OR of the permissions of every constraint of a class (index = value).
  let constrainedPermissions: [UInt32]
  /// Conditional expressions, flattened: nodes of conditional `i` are
  /// `conditionNodes[conditionStart[i]..<conditionStart[i + 1]]`.
  let conditionStart: [Int32]
  let conditionNodes: [PolicyData.ConditionNode]
  let booleanDefaultValues: [Bool]
  let roleAllowSet: Set<UInt64>
  /// Roles dominated by each role, as bitsets (index = value).
  let roleDominance: [[UInt64]]
  let processClass: Int
  let processTransitionMask: UInt32
  /// Unconditional type rules: packed (source, target, class, kind) → new type.
  let typeRules: [UInt64: Int]
  /// Conditional type rules: packed key → (branch, new type) in list order.
  let conditionalTypeRules: [UInt64: [ConditionalTypeRule]]
  /// Range transitions: packed (source, target, class) → range.
  let rangeTransitionTable: [UInt64: MLSRange]
  /// Indices of `data.conditionalRules` sorted by (source, target, class),
  /// list order within a key (for explanations).
  let conditionalRuleOrder: [Int32]

  // Names.
  let typeIndex: [String: Int]
  let roleIndex: [String: Int]
  let userIndex: [String: Int]
  let classIndex: [String: Int]
  let permissionIndex: [[String: Int]]
  let sensitivityIndex: [String: Int]
  let categoryIndex: [String: Int]

  // Validity.
  /// Types of each role (bitset by type value - 1; index = role value).
  let roleTypeSets: [[UInt64]]
  /// Roles of each user (bitset by role value - 1; index = user value).
  let userRoleSets: [[UInt64]]
  /// MLS range of each user (index = user value).
  let userRanges: [MLSRange?]
  /// Categories allowed with each sensitivity (index = sensitivity value).
  let sensitivityCategories: [MLSLevel]

  /// Initial SIDs sorted by SID number, with Xen's names for the numbers
  /// (a binary stores no names). A Xen policy defines SIDs 1…n without
  /// gaps, so position + 1 is the SID; ``PolicyData/initialSIDs`` has the numbers.
  public let initialSIDs: [(name: String, context: SecurityContext)]
  /// Device labels.
  public let ocontexts: Ocontexts

  /// Reads a binary policy with libsepol and builds the engine from it.
  ///
  /// Isolated to ``SepolActor`` because reading goes through libsepol; call
  /// it with `await` from elsewhere.
  ///
  /// - Throws: ``FlaskPolicyError`` `flask.policy-read-failed` for truncated
  ///   or invalid input (never a crash).
  @SepolActor
  public convenience init(binary: [UInt8]) throws(FlaskPolicyError) {
    do {
      self.init(data: try PolicyExport.read(binary: binary))
    } catch {
      var message = error.message
      if let first = error.messages.first { message += ": \(first.text)" }
      throw FlaskPolicyError(id: "flask.policy-read-failed", message: message)
    }
  }

  /// Target attributes with more types than this are not expanded to their types.
  public static let targetExpansionLimit = 128

  /// Builds the engine from policy tables.
  public convenience init(data: PolicyData) {
    self.init(data: data, targetExpansionLimit: Self.targetExpansionLimit)
  }

  /// Builds the engine, expanding target attributes of at most `limit` types.
  init(data: PolicyData, targetExpansionLimit limit: Int) {
    self.data = data
    let typeCount = data.types.count
    let classCount = data.classes.count
    self.typeCount = typeCount
    self.classCount = classCount

    // Type → attributes and its inverse, attribute → types (values).
    var typesOf = [[Int32]](repeating: [], count: typeCount + 1)
    for (index, type) in data.types.enumerated() {
      for a in type.attributes where a >= 1 && a <= typeCount { typesOf[a].append(Int32(index + 1)) }
    }

    // The targets an entry expands to: the attribute's types, or the
    // attribute itself when it has too many (then the query looks it up).
    var large = Set<Int>()
    func targets(_ b: Int) -> [Int32] {
      guard typesOf[b].count > limit else { return typesOf[b] }
      large.insert(b)
      return [Int32(b)]
    }
    func tableFor(_ b: Int) -> Bool { typesOf[b].count > limit }

    // Unconditional access vectors, expanded to type pairs.
    let table = AVTable(expectedCount: data.rules.count * 4)
    let attributeTable = AVTable()
    for rule in data.rules where rule.kind == 1 || rule.kind == 2 || rule.kind == 4 {
      guard rule.source >= 1, rule.source <= typeCount, rule.target >= 1, rule.target <= typeCount,
        rule.classValue >= 1, rule.classValue <= AVTable.maxClass
      else { continue }
      let into = tableFor(rule.target) ? attributeTable : table
      let expanded = targets(rule.target)
      for s in typesOf[rule.source] {
        for t in expanded {
          guard let key = AVTable.key(Int(s), Int(t), rule.classValue) else { continue }
          let row = into.rowForUpdate(key)
          switch rule.kind {
          case 1: row.pointee.allowed |= rule.data
          case 2: row.pointee.auditAllow |= rule.data
          default: row.pointee.auditDeny &= rule.data
          }
        }
      }
    }

    // Conditional access vectors, expanded the same way.
    var items: [(key: UInt64, item: ConditionalItem)] = []
    var attributeItems: [(key: UInt64, item: ConditionalItem)] = []
    var conditionalTypeRules: [UInt64: [ConditionalTypeRule]] = [:]
    for rule in data.conditionalRules {
      let e = rule.entry
      let branch = UInt32(rule.conditional * 2 + (rule.branch ? 0 : 1))
      if e.kind == 0x10 || e.kind == 0x20 || e.kind == 0x40 {
        if let key = Self.typeRuleKey(e.source, e.target, e.classValue, e.kind) {
          conditionalTypeRules[key, default: []].append(ConditionalTypeRule(branch: branch, type: Int(e.data)))
        }
        continue
      }
      guard e.kind == 1 || e.kind == 2 || e.kind == 4, e.source >= 1, e.source <= typeCount, e.target >= 1,
        e.target <= typeCount
      else { continue }
      let toAttribute = tableFor(e.target)
      let expanded = targets(e.target)
      for s in typesOf[e.source] {
        for t in expanded {
          guard let key = AVTable.key(Int(s), Int(t), e.classValue) else { continue }
          let item = (key, ConditionalItem(branch: branch, kind: e.kind, data: e.data))
          if toAttribute { attributeItems.append(item) } else { items.append(item) }
        }
      }
    }
    table.setConditionalItems(items)
    attributeTable.setConditionalItems(attributeItems)
    self.table = table
    self.attributeTable = attributeTable
    var starts32: [Int32] = [0, 0]
    var largeList: [Int32] = []
    for type in data.types {
      for a in type.attributes where large.contains(a) { largeList.append(Int32(a)) }
      starts32.append(Int32(largeList.count))
    }
    largeTargetStart = starts32
    largeTargets = largeList
    hasAttributeRows = attributeTable.count > 0
    self.conditionalTypeRules = conditionalTypeRules

    var typeRules: [UInt64: Int] = [:]
    for rule in data.rules where rule.kind == 0x10 || rule.kind == 0x20 || rule.kind == 0x40 {
      if let key = Self.typeRuleKey(rule.source, rule.target, rule.classValue, rule.kind), typeRules[key] == nil {
        typeRules[key] = Int(rule.data)
      }
    }
    self.typeRules = typeRules

    var starts: [Int32] = [0]
    var nodes: [PolicyData.ConditionNode] = []
    for conditional in data.conditionals {
      nodes.append(contentsOf: conditional.expression)
      starts.append(Int32(nodes.count))
    }
    conditionStart = starts
    conditionNodes = nodes
    booleanDefaultValues = data.booleans.map(\.state)

    typeBounds = [0] + data.types.map { Int32(clamping: $0.bounds) }
    permissiveTypes = [false] + data.types.map(\.isPermissive)

    let compiled = data.classes.map { cls in cls.constraints.map { CompiledConstraint($0) } }
    constraints = [[]] + compiled
    constrainedPermissions = [0] + compiled.map { $0.reduce(UInt32(0)) { $0 | $1.permissions } }

    roleAllowSet = Set(
      data.roleAllows.map {
        UInt64(UInt32(truncatingIfNeeded: $0.role)) << 32 | UInt64(UInt32(truncatingIfNeeded: $0.newRole))
      })
    roleDominance = [[]] + data.roles.map { Bitset.make($0.dominates) }
    processClass = data.processClass
    processTransitionMask = data.processTransitionPermissions

    var ranges: [UInt64: MLSRange] = [:]
    for rt in data.rangeTransitions {
      if let key = AVTable.key(rt.source, rt.target, rt.classValue), ranges[key] == nil {
        ranges[key] = MLSRange(rt.range)
      }
    }
    rangeTransitionTable = ranges
    conditionalRuleOrder = data.conditionalRules.indices.sorted { i, j in
      let a = data.conditionalRules[i].entry
      let b = data.conditionalRules[j].entry
      return (a.source, a.target, a.classValue, i) < (b.source, b.target, b.classValue, j)
    }.map { Int32($0) }

    // Names.
    var types: [String: Int] = [:]
    for (i, t) in data.types.enumerated() { types[t.name] = i + 1 }
    for (alias, value) in data.typeAliases where types[alias] == nil { types[alias] = value }
    typeIndex = types
    typeNames = data.types.map(\.name)
    booleanNames = data.booleans.map(\.name)
    roleIndex = Self.index(data.roles.map(\.name))
    userIndex = Self.index(data.users.map(\.name))
    classIndex = Self.index(data.classes.map(\.name))
    permissionIndex =
      [[:]]
      + data.classes.map { cls in
        var perms: [String: Int] = [:]
        for (bit, name) in cls.permissions.enumerated() where perms[name] == nil { perms[name] = bit }
        return perms
      }
    var sensitivities = Self.index(data.sensitivities.map(\.name))
    for (alias, value) in data.sensitivityAliases where sensitivities[alias] == nil { sensitivities[alias] = value }
    sensitivityIndex = sensitivities
    var categories = Self.index(data.categories)
    for (alias, value) in data.categoryAliases where categories[alias] == nil { categories[alias] = value }
    categoryIndex = categories

    roleTypeSets = [[]] + data.roles.map { Bitset.make($0.types) }
    userRoleSets = [[]] + data.users.map { Bitset.make($0.roles) }
    userRanges = [nil] + data.users.map { $0.range.map(MLSRange.init) }
    sensitivityCategories =
      [MLSLevel.none]
      + data.sensitivities.enumerated().map { i, s in
        MLSLevel(sensitivity: i + 1, categoryValues: s.categories)
      }

    initialSIDs = data.initialSIDs.map { ($0.name, SecurityContext($0.context)) }
    var oc = Ocontexts()
    for p in data.pirqs where oc.pirq[p.number] == nil { oc.pirq[p.number] = SecurityContext(p.context) }
    for p in data.pciDevices where oc.pciDevice[p.number] == nil { oc.pciDevice[p.number] = SecurityContext(p.context) }
    for d in data.deviceTree where oc.deviceTree[d.path] == nil { oc.deviceTree[d.path] = SecurityContext(d.context) }
    oc.ioport = data.ioports.map {
      .init(
        low: UInt32(truncatingIfNeeded: $0.low), high: UInt32(truncatingIfNeeded: $0.high),
        context: SecurityContext($0.context))
    }.sorted { ($0.low, $0.high) < ($1.low, $1.high) }
    oc.iomem = data.iomems.map { .init(low: $0.low, high: $0.high, context: SecurityContext($0.context)) }
      .sorted { ($0.low, $0.high) < ($1.low, $1.high) }
    ocontexts = oc
  }

  private static func index(_ names: [String]) -> [String: Int] {
    var out: [String: Int] = [:]
    for (i, name) in names.enumerated() where out[name] == nil { out[name] = i + 1 }
    return out
  }

  static func typeRuleKey(_ source: Int, _ target: Int, _ cls: Int, _ kind: UInt32) -> UInt64? {
    guard source >= 0, source <= 0xFFFF, target >= 0, target <= 0xFFFF, cls >= 0, cls <= 0xFFFF else { return nil }
    return UInt64(source) << 48 | UInt64(target) << 32 | UInt64(cls) << 16 | UInt64(kind & 0xFFFF)
  }

  // MARK: - Names

  /// Type and attribute names (index = value - 1).
  public let typeNames: [String]

  /// The value of a type, attribute or type alias.
  public func typeValue(_ name: String) -> Int? { typeIndex[name] }

  /// Whether a type value is an attribute.
  public func isAttribute(_ value: Int) -> Bool {
    value >= 1 && value <= typeCount && data.types[value - 1].isAttribute
  }

  /// The value of a role.
  public func roleValue(_ name: String) -> Int? { roleIndex[name] }

  /// The value of a user.
  public func userValue(_ name: String) -> Int? { userIndex[name] }

  /// The value of a class (1-based like libsepol).
  public func classValue(_ name: String) -> Int? { classIndex[name] }

  /// Permission names of a class by bit; empty for an unknown class.
  public func permissionNames(ofClass value: Int) -> [String] {
    value >= 1 && value <= classCount ? data.classes[value - 1].permissions : []
  }

  /// The bit (0-based) of a permission of a class.
  public func permissionBit(classValue: Int, permission: String) -> Int? {
    classValue >= 1 && classValue <= classCount ? permissionIndex[classValue][permission] : nil
  }

  /// Boolean names by value - 1.
  public let booleanNames: [String]

  /// Boolean defaults (the states the binary carries), by value - 1.
  public var booleanDefaults: [Bool] { booleanDefaultValues }

  /// Whether unknown classes and permissions are allowed (`handle_unknown allow`).
  public var handleUnknownAllow: Bool { data.handleUnknown == .allow }

  /// Whether the policy is MLS.
  public var isMLS: Bool { data.isMLS }

  /// The binary's policy version.
  public var policyVersion: Int { data.policyVersion }

  /// Sizes of the precomputed decision tables.
  public struct Statistics: Sendable, Hashable {
    /// (source type, target type, class) triples with a row.
    public var expandedTriples: Int
    /// (source type, large target attribute, class) triples with a row.
    public var attributeTriples: Int
    /// Conditional entries expanded to those triples.
    public var conditionalItems: Int
    /// Bytes held by the tables.
    public var bytes: Int
  }

  /// Sizes of the precomputed decision tables.
  public var statistics: Statistics {
    Statistics(
      expandedTriples: table.count, attributeTriples: attributeTable.count,
      conditionalItems: table.conditionalItems.count + attributeTable.conditionalItems.count,
      bytes: table.memoryFootprint + attributeTable.memoryFootprint)
  }

  // MARK: - compute_av

  /// libsepol's `context_struct_compute_av` for (source, target, class)
  /// with the given boolean values (index = boolean value - 1; missing
  /// entries take the default).
  public func computeAV(source: SecurityContext, target: SecurityContext, classValue: Int, booleans: [Bool])
    -> AccessDecision
  {
    let permissive = source.type >= 1 && source.type <= typeCount && permissiveTypes[source.type]
    guard classValue >= 1, classValue <= classCount else {
      return AccessDecision(allowed: 0, auditAllow: 0, auditDeny: ~0, permissive: permissive)
    }
    let v = vectors(source, source.type, target, target.type, classValue, booleans, depth: 0)
    return AccessDecision(allowed: v.allowed, auditAllow: v.auditAllow, auditDeny: v.auditDeny, permissive: permissive)
  }

  /// The three vectors for contexts `s` and `t` with their types replaced by
  /// `sType` and `tType` (type bounds evaluate the bounding types this way).
  @inline(__always)
  func vectors(
    _ s: SecurityContext, _ sType: Int, _ t: SecurityContext, _ tType: Int, _ cls: Int, _ booleans: [Bool],
    depth: Int
  ) -> (allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32) {
    var allowed: UInt32 = 0
    var auditAllow: UInt32 = 0
    var auditDeny: UInt32 = ~0
    if let key = AVTable.key(sType, tType, cls), let row = table.row(key) {
      add(row, table, booleans, &allowed, &auditAllow, &auditDeny)
    }
    if hasAttributeRows, tType >= 1, tType <= typeCount {
      let start = Int(largeTargetStart[tType])
      let end = Int(largeTargetStart[tType + 1])
      for i in start..<end {
        if let key = AVTable.key(sType, Int(largeTargets[i]), cls), let row = attributeTable.row(key) {
          add(row, attributeTable, booleans, &allowed, &auditAllow, &auditDeny)
        }
      }
    }

    if constrainedPermissions[cls] & allowed != 0 {
      for constraint in constraints[cls]
      where constraint.permissions & allowed != 0 && !constraint.evaluate(self, s, sType, t, tType) {
        allowed &= ~constraint.permissions
      }
    }

    if cls == processClass, allowed & processTransitionMask != 0, s.role != t.role,
      !roleAllowSet.contains(
        UInt64(UInt32(truncatingIfNeeded: s.role)) << 32 | UInt64(UInt32(truncatingIfNeeded: t.role)))
    {
      allowed &= ~processTransitionMask
    }

    if sType >= 1, sType <= typeCount, depth < 64 {
      let bound = Int(typeBounds[sType])
      if bound != 0 {
        let targetBound = tType >= 1 && tType <= typeCount ? Int(typeBounds[tType]) : 0
        let lo = vectors(s, bound, t, targetBound != 0 ? targetBound : tType, cls, booleans, depth: depth + 1)
        allowed &= lo.allowed
      }
    }
    return (allowed, auditAllow, auditDeny)
  }

  /// Adds a row (and its enabled conditional items) to the vectors.
  @inline(__always)
  private func add(
    _ row: UnsafePointer<AVRow>, _ from: AVTable, _ booleans: [Bool], _ allowed: inout UInt32,
    _ auditAllow: inout UInt32, _ auditDeny: inout UInt32
  ) {
    allowed |= row.pointee.allowed
    auditAllow |= row.pointee.auditAllow
    auditDeny &= row.pointee.auditDeny
    let count = Int(row.pointee.conditionalCount)
    guard count > 0 else { return }
    let start = Int(row.pointee.conditionalStart)
    from.conditionalItems.withUnsafeBufferPointer { items in
      for i in start..<(start + count) {
        let item = items[i]
        guard branchEnabled(item.branch, booleans) else { continue }
        switch item.kind {
        case 1: allowed |= item.data
        case 2: auditAllow |= item.data
        default: auditDeny &= item.data
        }
      }
    }
  }

  /// Whether a conditional branch (conditional × 2 + else) is enabled:
  /// libsepol's `evaluate_cond_node` enables the true list when the
  /// expression is 1 and the false list when it is 0 (an undefined
  /// expression, -1, disables both).
  @inline(__always)
  func branchEnabled(_ branch: UInt32, _ booleans: [Bool]) -> Bool {
    let state = conditionState(Int(branch >> 1), booleans)
    return branch & 1 == 0 ? state > 0 : state == 0
  }

  /// libsepol's `cond_evaluate_expr`: 1, 0, or -1 when undefined.
  func conditionState(_ index: Int, _ booleans: [Bool]) -> Int {
    guard index >= 0, index + 1 < conditionStart.count else { return -1 }
    let start = Int(conditionStart[index])
    let end = Int(conditionStart[index + 1])
    return withUnsafeTemporaryAllocation(of: Int.self, capacity: 10) { stack -> Int in
      var sp = -1
      stack[0] = -1
      for i in start..<end {
        let node = conditionNodes[i]
        switch node.op {
        case 1:
          if sp == 9 { return -1 }
          sp += 1
          stack[sp] = booleanValue(node.boolean, booleans)
        case 2:
          if sp < 0 { return -1 }
          stack[sp] = stack[sp] == 0 ? 1 : 0
        case 3, 4, 5, 6, 7:
          if sp < 1 { return -1 }
          sp -= 1
          let a = stack[sp]
          let b = stack[sp + 1]
          switch node.op {
          case 3: stack[sp] = a | b
          case 4: stack[sp] = a & b
          case 5: stack[sp] = a ^ b
          case 6: stack[sp] = a == b ? 1 : 0
          default: stack[sp] = a != b ? 1 : 0
          }
        default:
          return -1
        }
      }
      return stack[0]
    }
  }

  @inline(__always)
  func booleanValue(_ value: Int, _ booleans: [Bool]) -> Int {
    let index = value - 1
    if index >= 0 && index < booleans.count { return booleans[index] ? 1 : 0 }
    if index >= 0 && index < booleanDefaultValues.count { return booleanDefaultValues[index] ? 1 : 0 }
    return 0
  }

  // MARK: - compute_sid

  /// libsepol's `sepol_compute_sid`: the context of a new object (or
  /// member, or relabel target). User, role and type defaults follow the
  /// class's `default_*` settings, else libsepol's rules (the process class —
  /// `domain` in Xen — keeps the source role and type; other classes get
  /// `object_r` and the target type); a type rule (unconditional first,
  /// then an enabled conditional one) replaces the type; for `.transition`
  /// a `role_transition` replaces the role; MLS ranges follow
  /// `mls_compute_sid`. The result is not checked for validity (libsepol
  /// fails with `-EACCES` in enforcing mode when it is invalid): check it
  /// with ``isValid(_:)``. When `default_range glblub` finds no common
  /// sensitivity (libsepol fails), the range is the invalid level 0.
  public func computeSID(
    source s: SecurityContext, target t: SecurityContext, classValue cls: Int, kind: TransitionKind, booleans: [Bool]
  ) -> SecurityContext {
    let info = cls >= 1 && cls <= classCount ? data.classes[cls - 1] : nil
    var result = SecurityContext(user: s.user, role: 1, type: t.type)

    switch kind {
    case .transition, .change: result.user = info?.defaultUser == 2 ? t.user : s.user
    case .member: result.user = t.user
    }

    if info?.defaultRole == 1 {
      result.role = s.role
    } else if info?.defaultRole == 2 {
      result.role = t.role
    } else {
      result.role = cls == processClass ? s.role : 1
    }

    if info?.defaultType == 1 {
      result.type = s.type
    } else if info?.defaultType == 2 {
      result.type = t.type
    } else {
      result.type = cls == processClass ? s.type : t.type
    }

    if let key = Self.typeRuleKey(s.type, t.type, cls, kind.avtabKind) {
      if let type = typeRules[key] {
        result.type = type
      } else if let candidates = conditionalTypeRules[key] {
        for rule in candidates where branchEnabled(rule.branch, booleans) {
          result.type = rule.type
          break
        }
      }
    }

    if kind == .transition {
      for rt in data.roleTransitions where rt.role == s.role && rt.type == t.type && rt.classValue == cls {
        result.role = rt.newRole
        break
      }
    }

    if isMLS { result.range = mlsRange(s, t, cls, kind) }
    return result
  }

  /// libsepol's `mls_compute_sid`.
  private func mlsRange(_ s: SecurityContext, _ t: SecurityContext, _ cls: Int, _ kind: TransitionKind) -> MLSRange {
    let sr = s.range ?? MLSRange(.none)
    let tr = t.range ?? MLSRange(.none)
    if kind == .transition {
      if let key = AVTable.key(s.type, t.type, cls), let range = rangeTransitionTable[key] { return range }
      let defaultRange = cls >= 1 && cls <= classCount ? data.classes[cls - 1].defaultRange : 0
      switch defaultRange {
      case 1: return MLSRange(sr.low)
      case 2: return MLSRange(sr.high)
      case 3: return sr
      case 4: return MLSRange(tr.low)
      case 5: return MLSRange(tr.high)
      case 6: return tr
      case 7: return Self.glblub(sr, tr) ?? MLSRange(.none)
      default: break
      }
    }
    switch kind {
    case .transition, .change: return cls == processClass ? sr : MLSRange(sr.low)
    case .member: return MLSRange(sr.low)
    }
  }

  /// `mls_range_glblub`: the greatest lower bound of the highs and the least
  /// upper bound of the lows; nil when the ranges share no sensitivity.
  static func glblub(_ r1: MLSRange, _ r2: MLSRange) -> MLSRange? {
    if r1.high.sensitivity < r2.low.sensitivity || r2.high.sensitivity < r1.low.sensitivity { return nil }
    func and(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b).map { $0 & $1 } }
    return MLSRange(
      low: MLSLevel(
        sensitivity: max(r1.low.sensitivity, r2.low.sensitivity),
        categories: and(r1.low.categories, r2.low.categories)),
      high: MLSLevel(
        sensitivity: min(r1.high.sensitivity, r2.high.sensitivity),
        categories: and(r1.high.categories, r2.high.categories)))
  }

  /// Whether role `r1` dominates role `r2` (`r1 dom r2` in constraints).
  func roleDominates(_ r1: Int, _ r2: Int) -> Bool {
    guard r1 >= 1, r1 < roleDominance.count else { return false }
    return Bitset.contains(roleDominance[r1], r2 - 1)
  }
}

/// A conditional `type_transition` / `type_member` / `type_change`.
struct ConditionalTypeRule: Sendable {
  var branch: UInt32
  var type: Int
}

extension SecurityContext {
  init(_ c: PolicyData.Context) {
    self.init(user: c.user, role: c.role, type: c.type, range: c.range.map(MLSRange.init))
  }
}

extension MLSRange {
  init(_ r: PolicyData.Range) {
    self.init(low: MLSLevel(r.low), high: MLSLevel(r.high))
  }
}

extension MLSLevel {
  init(_ l: PolicyData.Level) {
    self.init(sensitivity: l.sensitivity, categoryValues: l.categories)
  }
}

/// Bitsets over 0-based indices.
enum Bitset {
  static func make(_ values: [Int]) -> [UInt64] {
    var words: [UInt64] = []
    for value in values where value >= 1 {
      let bit = value - 1
      while words.count <= bit / 64 { words.append(0) }
      words[bit / 64] |= 1 << UInt64(bit % 64)
    }
    return words
  }

  @inline(__always)
  static func contains(_ words: [UInt64], _ bit: Int) -> Bool {
    guard bit >= 0 else { return false }
    let w = bit >> 6
    return w < words.count && words[w] & (1 << UInt64(bit & 63)) != 0
  }
}
