/// Decodes a `Decodable` from a ``StrictJSON/Value`` tree, the way the
/// wire's JSONDecoder does (`convertFromSnakeCase` keys, exact integers),
/// so a request body is parsed once. Errors are `DecodingError`s with the
/// coding path, as JSONDecoder throws them.
struct JSONTreeDecoder: Decoder {
  let value: StrictJSON.Value
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(_ value: StrictJSON.Value, path: [any CodingKey] = []) {
    self.value = value
    self.codingPath = path
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let members) = value else { throw mismatch([String: Any].self, value, codingPath) }
    return KeyedDecodingContainer(Keyed<Key>(members: members, codingPath: codingPath))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else { throw mismatch([Any].self, value, codingPath) }
    return Unkeyed(elements: elements, codingPath: codingPath)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value, codingPath: codingPath) }

  /// The property name `convertFromSnakeCase` makes of a JSON key: `allowed_names` → `allowedNames`.
  static func camelCase(_ key: String) -> String {
    guard key.contains("_") else { return key }
    let leading = key.prefix { $0 == "_" }
    let trailing = key.reversed().prefix { $0 == "_" }
    guard leading.count < key.count else { return key }
    let core = key.dropFirst(leading.count).dropLast(trailing.count)
    let words = core.split(separator: "_")
    guard let first = words.first else { return key }
    let rest = words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
    return String(leading) + String(first) + rest.joined() + String(trailing)
  }

  struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
  }

  /// A value of type `T` from `value`: primitives directly, anything else through its `init(from:)`.
  static func unbox<T: Decodable>(_ type: T.Type, _ value: StrictJSON.Value, _ path: [any CodingKey]) throws -> T {
    func wrong() -> DecodingError {
      value == .null
        ? .valueNotFound(type, .init(codingPath: path, debugDescription: "Expected \(type) value but found null instead."))
        : mismatch(type, value, path)
    }
    if T.self == Bool.self {
      guard case .bool(let b) = value else { throw wrong() }
      return b as! T
    }
    if T.self == String.self {
      guard case .string(let s) = value else { throw wrong() }
      return s as! T
    }
    if T.self == Double.self || T.self == Float.self {
      guard case .number(let n) = value, let d = Double(n) else { throw wrong() }
      return T.self == Double.self ? d as! T : Float(d) as! T
    }
    if let integerType = T.self as? any FixedWidthInteger.Type {
      guard case .number(let n) = value else { throw wrong() }
      guard let exact = integer(n, integerType) else {
        throw DecodingError.dataCorrupted(.init(codingPath: path,
          debugDescription: "Parsed JSON number <\(n)> does not fit in \(type)."))
      }
      return exact as! T
    }
    return try T(from: JSONTreeDecoder(value, path: path))
  }

  private static func integer<I: FixedWidthInteger>(_ text: String, _ type: I.Type) -> I? { I(text) }
}

private func mismatch(_ type: Any.Type, _ value: StrictJSON.Value, _ path: [any CodingKey]) -> DecodingError {
  let found: String
  switch value {
  case .null: found = "null"
  case .bool: found = "bool"
  case .number: found = "number"
  case .string: found = "a string"
  case .array: found = "an array"
  case .object: found = "a dictionary"
  }
  return DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "Expected to decode \(type) but found \(found) instead."))
}

private struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let byName: [String: StrictJSON.Value]
  let codingPath: [any CodingKey]
  let allKeys: [Key]

  init(members: [(key: String, value: StrictJSON.Value)], codingPath: [any CodingKey]) {
    var byName: [String: StrictJSON.Value] = [:]
    for member in members { byName[JSONTreeDecoder.camelCase(member.key)] = member.value }
    self.byName = byName
    self.codingPath = codingPath
    allKeys = members.compactMap { Key(stringValue: JSONTreeDecoder.camelCase($0.key)) }
  }

  func contains(_ key: Key) -> Bool { byName[key.stringValue] != nil }

  func entry(_ key: Key) throws -> StrictJSON.Value {
    guard let value = byName[key.stringValue] else {
      throw DecodingError.keyNotFound(key, .init(codingPath: codingPath,
        debugDescription: "No value associated with key \(key.stringValue)."))
    }
    return value
  }

  func decodeNil(forKey key: Key) throws -> Bool { try entry(key) == .null }

  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
    try JSONTreeDecoder.unbox(type, try entry(key), codingPath + [key])
  }

  private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
    try JSONTreeDecoder.unbox(type, try entry(key), codingPath + [key])
  }
  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, key) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, key) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, key) }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type as Float.Type, key) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, key) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type as Int8.Type, key) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type as Int16.Type, key) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type as Int32.Type, key) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type as Int64.Type, key) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type as UInt.Type, key) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type as UInt8.Type, key) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type as UInt16.Type, key) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type as UInt32.Type, key) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type as UInt64.Type, key) }

  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
    guard let value = byName[key.stringValue], value != .null else { return nil }
    return try JSONTreeDecoder.unbox(type, value, codingPath + [key])
  }

  func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    try JSONTreeDecoder(try entry(key), path: codingPath + [key]).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try JSONTreeDecoder(try entry(key), path: codingPath + [key]).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder {
    JSONTreeDecoder(byName["super"] ?? .null, path: codingPath)
  }

  func superDecoder(forKey key: Key) throws -> any Decoder {
    JSONTreeDecoder(byName[key.stringValue] ?? .null, path: codingPath + [key])
  }
}

private struct Unkeyed: UnkeyedDecodingContainer {
  let elements: [StrictJSON.Value]
  let codingPath: [any CodingKey]
  var currentIndex = 0
  var count: Int? { elements.count }
  var isAtEnd: Bool { currentIndex >= elements.count }

  init(elements: [StrictJSON.Value], codingPath: [any CodingKey]) {
    self.elements = elements
    self.codingPath = codingPath
  }

  mutating func next(_ type: Any.Type) throws -> (StrictJSON.Value, [any CodingKey]) {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [JSONTreeDecoder.IndexKey(currentIndex)],
        debugDescription: "Unkeyed container is at end."))
    }
    defer { currentIndex += 1 }
    return (elements[currentIndex], codingPath + [JSONTreeDecoder.IndexKey(currentIndex)])
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd, elements[currentIndex] == .null else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeNext(type) }

  private mutating func decodeNext<T: Decodable>(_ type: T.Type) throws -> T {
    let (value, path) = try next(type)
    return try JSONTreeDecoder.unbox(type, value, path)
  }
  mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeNext(type) }
  mutating func decode(_ type: String.Type) throws -> String { try decodeNext(type) }
  mutating func decode(_ type: Double.Type) throws -> Double { try decodeNext(type) }
  mutating func decode(_ type: Float.Type) throws -> Float { try decodeNext(type) }
  mutating func decode(_ type: Int.Type) throws -> Int { try decodeNext(type) }
  mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeNext(type) }
  mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeNext(type) }
  mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeNext(type) }
  mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeNext(type) }
  mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeNext(type) }
  mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeNext(type) }
  mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeNext(type) }
  mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeNext(type) }
  mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeNext(type) }


  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    let (value, path) = try next([String: Any].self)
    return try JSONTreeDecoder(value, path: path).container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    let (value, path) = try next([Any].self)
    return try JSONTreeDecoder(value, path: path).unkeyedContainer()
  }

  mutating func superDecoder() throws -> any Decoder {
    let (value, path) = try next(Any.self)
    return JSONTreeDecoder(value, path: path)
  }
}

private struct Single: SingleValueDecodingContainer {
  let value: StrictJSON.Value
  let codingPath: [any CodingKey]

  func decodeNil() -> Bool { value == .null }

  func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Bool.Type) throws -> Bool { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: String.Type) throws -> String { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Double.Type) throws -> Double { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Float.Type) throws -> Float { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Int.Type) throws -> Int { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Int8.Type) throws -> Int8 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Int16.Type) throws -> Int16 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Int32.Type) throws -> Int32 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: Int64.Type) throws -> Int64 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: UInt.Type) throws -> UInt { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONTreeDecoder.unbox(type, value, codingPath) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONTreeDecoder.unbox(type, value, codingPath) }
}
