extension FlaskPolicy {
  /// Parses `user:role:type[:level[-level]]` (a level is
  /// `sensitivity[:category,category.category…]`, names or aliases).
  ///
  /// Like libsepol's `context_from_string`, but without its final validity
  /// check (use ``isValid(_:)``): nil for a malformed string, an unknown
  /// user, role, type, sensitivity or category, a type attribute, an MLS
  /// part in a non-MLS policy or none in an MLS policy, or a category range
  /// whose ends are not in ascending order. A missing high level equals the
  /// low one.
  public func context(_ text: String) -> SecurityContext? {
    let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
    guard parts.count >= 3 else { return nil }
    guard let user = userIndex[String(parts[0])], let role = roleIndex[String(parts[1])],
      let type = typeIndex[String(parts[2])], !isAttribute(type)
    else { return nil }
    var context = SecurityContext(user: user, role: role, type: type)
    if parts.count == 4 {
      guard isMLS, let range = parseRange(parts[3]) else { return nil }
      context.range = range
    } else if isMLS {
      return nil
    }
    return context
  }

  /// Parses `level[-level]`.
  public func parseRange(_ text: some StringProtocol) -> MLSRange? {
    let halves = text.split(separator: "-", omittingEmptySubsequences: false)
    guard halves.count == 1 || halves.count == 2, let low = parseLevel(halves[0]) else { return nil }
    guard halves.count == 2 else { return MLSRange(low) }
    guard let high = parseLevel(halves[1]) else { return nil }
    return MLSRange(low: low, high: high)
  }

  /// Parses `sensitivity[:categories]`.
  public func parseLevel(_ text: some StringProtocol) -> MLSLevel? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2, let sensitivity = sensitivityIndex[String(parts[0])] else {
      return nil
    }
    var values: [Int] = []
    if parts.count == 2 {
      for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
        let ends = item.split(separator: ".", omittingEmptySubsequences: false)
        guard ends.count == 1 || ends.count == 2, let first = categoryIndex[String(ends[0])] else { return nil }
        if ends.count == 2 {
          guard let last = categoryIndex[String(ends[1])], first < last else { return nil }
          values.append(contentsOf: first...last)
        } else {
          values.append(first)
        }
      }
    }
    return MLSLevel(sensitivity: sensitivity, categoryValues: values)
  }

  /// `user:role:type[:range]` with names; the range as libsepol prints it
  /// (runs of three or more categories as `first.last`, the high level only
  /// when it differs). Out-of-range values print as `?<value>`.
  public func contextString(_ c: SecurityContext) -> String {
    let user = c.user >= 1 && c.user <= data.users.count ? data.users[c.user - 1].name : "?\(c.user)"
    let role = c.role >= 1 && c.role <= data.roles.count ? data.roles[c.role - 1].name : "?\(c.role)"
    let type = c.type >= 1 && c.type <= typeCount ? data.types[c.type - 1].name : "?\(c.type)"
    var text = "\(user):\(role):\(type)"
    if isMLS, let range = c.range { text += ":" + rangeString(range) }
    return text
  }

  /// A range as libsepol prints it.
  public func rangeString(_ range: MLSRange) -> String {
    var text = levelString(range.low)
    if !range.low.isEqual(to: range.high) { text += "-" + levelString(range.high) }
    return text
  }

  /// A level as libsepol prints it.
  public func levelString(_ level: MLSLevel) -> String {
    let sens = data.sensitivities
    var text =
      level.sensitivity >= 1 && level.sensitivity <= sens.count
      ? sens[level.sensitivity - 1].name : "?\(level.sensitivity)"
    let values = level.categoryValues
    guard !values.isEmpty else { return text }
    func cat(_ v: Int) -> String { v >= 1 && v <= data.categories.count ? data.categories[v - 1] : "?\(v)" }
    var pieces: [String] = []
    var i = 0
    while i < values.count {
      var j = i
      while j + 1 < values.count && values[j + 1] == values[j] + 1 { j += 1 }
      switch j - i {
      case 0: pieces.append(cat(values[i]))
      case 1: pieces.append(cat(values[i]) + "," + cat(values[j]))
      default: pieces.append(cat(values[i]) + "." + cat(values[j]))
      }
      i = j + 1
    }
    text += ":" + pieces.joined(separator: ",")
    return text
  }

  /// libsepol's `context_is_valid`: the values exist; unless the role is
  /// `object_r`, the role may take the type and the user the role; in an
  /// MLS policy the range is well formed (high dominates low, each level's
  /// categories are allowed with its sensitivity) and, unless the role is
  /// `object_r`, within the user's range. A context with a range in a
  /// non-MLS policy, or without one in an MLS policy, is invalid.
  public func isValid(_ c: SecurityContext) -> Bool {
    guard c.role >= 1, c.role <= data.roles.count, c.user >= 1, c.user <= data.users.count, c.type >= 1,
      c.type <= typeCount
    else { return false }
    if c.role != 1 {
      guard Bitset.contains(roleTypeSets[c.role], c.type - 1), Bitset.contains(userRoleSets[c.user], c.role - 1)
      else { return false }
    }
    guard isMLS else { return c.range == nil }
    guard let range = c.range, range.high.dominates(range.low) else { return false }
    for level in [range.low, range.high] {
      guard level.sensitivity >= 1, level.sensitivity < sensitivityCategories.count else { return false }
      let allowed = sensitivityCategories[level.sensitivity]
      let check = MLSLevel(sensitivity: level.sensitivity, categories: level.categories)
      guard allowed.dominates(check) else { return false }
    }
    if c.role == 1 { return true }
    guard let userRange = userRanges[c.user] else { return false }
    // mls_range_contains(user, c): user low ≤ c low, c high ≤ user high.
    return range.low.dominates(userRange.low) && userRange.high.dominates(range.high)
  }
}
