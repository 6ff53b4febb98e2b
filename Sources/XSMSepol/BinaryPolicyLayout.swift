/// A structural check of a binary kernel policy, made before libsepol reads it.
///
/// libsepol 3.4 bounds every read by the buffer, but not the loops and
/// allocations a count drives without reading: a symbol table's `nprim`
/// sizes the value arrays and `policydb_validate`'s gap bitmaps
/// (`create_gap_ebitmap` sets one bit per missing value, quadratically), so a
/// single corrupted count byte kept it busy for minutes. This walk follows
/// `policydb_read` (libsepol/src/policydb.c) through the header, the two
/// leading bitmaps, the eight symbol tables and the access vector table's
/// count, and checks every length and count against the bytes left:
///
/// - the magic `0xf97cff8c`, a target string `XenFlask` or `SE Linux`, a
///   version in libsepol's range (15…33), and the table counts;
/// - each string length and bitmap node count fits in the rest of the file;
/// - each symbol table's `nprim` (the highest value) is at most its number of
///   entries (aliases add entries without values), except for roles and for
///   types before version 24, whose attributes are counted but not written:
///   there, one value per 12 remaining bytes;
/// - the access vector table's entry count fits (12 bytes an entry at least).
///
/// It does not check meaning (libsepol does that next); it only makes sure no
/// count asks for more work than the file's length can justify.
public enum BinaryPolicyLayout {
  /// What a policy's header says.
  public struct Header: Sendable, Equatable {
    /// `XenFlask` or `SE Linux`.
    public var target: String
    /// The binary format version.
    public var version: Int
    /// Whether the policy is MLS (config bit 0).
    public var mls: Bool
    /// Where each symbol table starts (its `nprim` word), in file order:
    /// commons, classes, roles, types, users, booleans, sensitivities, categories.
    public var symbolTableOffsets: [Int]
  }

  /// The oldest and newest kernel policy versions libsepol 3.4 reads.
  public static let versions = 15...33

  /// The target strings libsepol knows (`policydb_target_strings`).
  public static let targets = ["SE Linux", "XenFlask"]

  /// Walks `bytes` as described above and returns the header.
  ///
  /// - Throws: ``SepolError`` `sepol.policy-read-failed`, naming the field
  ///   and its byte offset.
  public static func check(_ bytes: [UInt8]) throws(SepolError) -> Header {
    var walk = Walk(bytes: bytes)
    return try walk.policy()
  }
}

/// A cursor over the policy's bytes; every read is bounds-checked.
private struct Walk {
  let bytes: [UInt8]
  var offset = 0
  var version = 0
  var tableOffsets: [Int] = []

  init(bytes: [UInt8]) { self.bytes = bytes }

  var remaining: Int { bytes.count - offset }

  func failure(_ what: String, at position: Int? = nil) -> SepolError {
    .policyReadFailed("\(what) (at byte \(position ?? offset) of \(bytes.count))")
  }

  mutating func word(_ field: String) throws(SepolError) -> UInt32 {
    guard remaining >= 4 else { throw failure("the file ends inside \(field)") }
    let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
      | UInt32(bytes[offset + 3]) << 24
    offset += 4
    return value
  }

  mutating func skip(_ count: Int, _ field: String) throws(SepolError) {
    guard count >= 0, count <= remaining else {
      throw failure("\(field) needs \(count) bytes but \(remaining) are left")
    }
    offset += count
  }

  /// A count of items each at least `size` bytes long, bounded by what is left.
  mutating func count(_ field: String, itemSize size: Int) throws(SepolError) -> Int {
    let start = offset
    let value = Int(try word(field))
    guard value <= remaining / size else {
      throw failure("\(field) is \(value), more than the \(remaining) bytes left can hold", at: start)
    }
    return value
  }

  /// A length-prefixed string's bytes (the length was read already).
  mutating func string(length: UInt32, _ field: String, allowEmpty: Bool = false) throws(SepolError) {
    guard allowEmpty || length > 0 else { throw failure("\(field) has length 0", at: offset - 4) }
    try skip(Int(length), field)
  }

  mutating func ebitmap(_ field: String) throws(SepolError) {
    let start = offset
    let mapSize = try word(field)
    guard mapSize == 64 else { throw failure("\(field) has map size \(mapSize), not 64", at: start) }
    _ = try word(field)  // high bit
    let nodes = try count("\(field)'s node count", itemSize: 12)
    try skip(nodes * 12, field)
  }

  mutating func typeSet(_ field: String) throws(SepolError) {
    try ebitmap(field)
    try ebitmap(field)
    _ = try word(field)
  }

  mutating func level(_ field: String) throws(SepolError) {
    _ = try word(field)
    try ebitmap(field)
  }

  mutating func range(_ field: String) throws(SepolError) {
    let start = offset
    let items = try word(field)
    guard items == 1 || items == 2 else { throw failure("\(field) has \(items) levels", at: start) }
    try skip(Int(items) * 4, field)
    for _ in 0..<items { try ebitmap(field) }
  }

  mutating func policy() throws(SepolError) -> BinaryPolicyLayout.Header {
    guard try word("the magic number") == 0xf97c_ff8c else {
      throw failure("the magic number is not 0xf97cff8c (a kernel binary policy)", at: 0)
    }
    let targetLength = try word("the target string's length")
    guard targetLength >= 1, targetLength <= 32 else { throw failure("the target string's length is \(targetLength)", at: 4) }
    let targetStart = offset
    try skip(Int(targetLength), "the target string")
    let target = String(decoding: bytes[targetStart..<offset], as: UTF8.self)
    guard BinaryPolicyLayout.targets.contains(target) else {
      throw failure("the target string is not `XenFlask` or `SE Linux`", at: targetStart)
    }
    let versionOffset = offset
    version = Int(try word("the version"))
    guard BinaryPolicyLayout.versions.contains(version) else {
      throw failure("version \(version) is outside libsepol's \(BinaryPolicyLayout.versions)", at: versionOffset)
    }
    let config = try word("the config word")
    let symbolTables = try word("the symbol table count")
    _ = try word("the object context table count")
    guard symbolTables <= 8 else { throw failure("the symbol table count is \(symbolTables)", at: offset - 8) }
    if version >= 22 { try ebitmap("the policy capabilities") }
    if version >= 23 { try ebitmap("the permissive types") }
    let tables = ["commons", "classes", "roles", "types", "users", "booleans", "sensitivities", "categories"]
    for table in tables.prefix(Int(symbolTables)) { try symbols(table) }
    if symbolTables == 8 {
      let size = version >= 20 ? 12 : 20
      _ = try count("the access vector table's entry count", itemSize: size)
    }
    return .init(target: target, version: version, mls: config & 1 != 0, symbolTableOffsets: tableOffsets)
  }

  /// One symbol table: `nprim`, `nel`, then `nel` entries.
  mutating func symbols(_ table: String) throws(SepolError) {
    let start = offset
    tableOffsets.append(start)
    let highest = Int(try word("the \(table) table's value count"))
    let entries = try count("the \(table) table's entry count", itemSize: 8)
    guard entries == 0 || highest > 0 else { throw failure("the \(table) table has entries but no values", at: start) }
    for _ in 0..<entries { try entry(table) }
    let unwritten = table == "roles" || (table == "types" && version < 24)
    let bound = unwritten ? entries + remaining / 12 : entries
    guard highest <= bound else {
      throw failure("the \(table) table's value count is \(highest), but it has \(entries) entries", at: start)
    }
  }

  mutating func entry(_ table: String) throws(SepolError) {
    let boundaries = version >= 24
    switch table {
    case "commons":
      let length = try word("a common's name length")
      _ = try word("a common's value")
      _ = try word("a common's permission count")
      let permissions = try count("a common's permission entries", itemSize: 9)
      try string(length: length, "a common's name")
      for _ in 0..<permissions { try permission() }
    case "classes":
      let length = try word("a class's name length")
      let commonLength = try word("a class's common name length")
      _ = try word("a class's value")
      let permissionStart = offset
      let highest = try word("a class's permission count")
      guard highest <= 32 else { throw failure("a class has \(highest) permissions (32 at most)", at: permissionStart) }
      let permissions = try count("a class's permission entries", itemSize: 9)
      let constraints = try count("a class's constraint count", itemSize: 8)
      try string(length: length, "a class's name")
      try string(length: commonLength, "a class's common name", allowEmpty: true)
      for _ in 0..<permissions { try permission() }
      try constraintList(constraints)
      if version >= 19 { try constraintList(try count("a class's validatetrans count", itemSize: 8)) }
      if version >= 27 { try skip(12, "a class's defaults") }
      if version >= 28 { try skip(4, "a class's default type") }
    case "roles":
      let length = try word("a role's name length")
      try skip(boundaries ? 8 : 4, "a role's value")
      try string(length: length, "a role's name")
      try ebitmap("a role's dominance")
      try ebitmap("a role's types")
    case "types":
      let length = try word("a type's name length")
      try skip(boundaries ? 12 : 8, "a type's value")
      try string(length: length, "a type's name")
    case "users":
      let length = try word("a user's name length")
      try skip(boundaries ? 8 : 4, "a user's value")
      try string(length: length, "a user's name")
      try ebitmap("a user's roles")
      if version >= 19 {
        try range("a user's range")
        try level("a user's default level")
      }
    case "booleans":
      try skip(8, "a boolean's value and state")
      try string(length: try word("a boolean's name length"), "a boolean's name")
    case "sensitivities":
      let length = try word("a sensitivity's name length")
      _ = try word("a sensitivity's alias flag")
      try string(length: length, "a sensitivity's name")
      try level("a sensitivity's level")
    default:
      let length = try word("a category's name length")
      try skip(8, "a category's value and alias flag")
      try string(length: length, "a category's name")
    }
  }

  mutating func permission() throws(SepolError) {
    let length = try word("a permission's name length")
    _ = try word("a permission's value")
    try string(length: length, "a permission's name")
  }

  /// `ncons` constraints: permissions, `nexpr`, then each expression (names
  /// expressions carry a bitmap, and a type set from version 29).
  mutating func constraintList(_ constraints: Int) throws(SepolError) {
    for _ in 0..<constraints {
      _ = try word("a constraint's permissions")
      let expressions = try count("a constraint's expression count", itemSize: 12)
      for _ in 0..<expressions {
        let kind = try word("a constraint expression's kind")
        try skip(8, "a constraint expression")
        if kind == 5 {  // CEXPR_NAMES
          try ebitmap("a constraint's names")
          if version >= 29 { try typeSet("a constraint's type names") }
        }
      }
    }
  }
}
