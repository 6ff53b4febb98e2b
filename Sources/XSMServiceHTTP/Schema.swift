import Foundation
import XSMProtocol
import XSMService

/// A JSON Schema (the OpenAPI 3.0 subset the service needs), inferred from
/// the `Decodable` conformances of the request and reply types, so the
/// document and the unknown-field check follow the types.
indirect enum Schema: Sendable, Equatable {
  case string
  case integer(format: String?)
  case number
  case boolean
  case array(Schema)
  /// A map from strings to values of one schema.
  case dictionary(Schema)
  /// Properties in declaration order (snake_case), and the required ones.
  case object(properties: [Property], required: [String])
  case stringEnumeration([String])
  case integerEnumeration([Int])
  case oneOf([Schema])
  /// A named schema in `components/schemas`.
  case reference(String)
  /// Anything (a type the inference could not read).
  case any
  /// `schema` with more keywords: the ranges, lengths and enumerations the
  /// service checks (``SchemaRefinements``).
  case refined(Schema, [String: JSONValue])

  struct Property: Sendable, Equatable {
    var name: String
    var schema: Schema
  }

  var json: JSONValue {
    switch self {
    case .string: return ["type": "string"]
    case .integer(let format):
      var o: [String: JSONValue] = ["type": "integer"]
      if let format { o["format"] = .string(format) }
      // The range of the Swift type behind each format.
      switch format {
      case "int32": (o["minimum"], o["maximum"]) = (.integer(Int(Int32.min)), .integer(Int(Int32.max)))
      case "uint32": (o["minimum"], o["maximum"]) = (0, .integer(Int(UInt32.max)))
      case "int64": (o["minimum"], o["maximum"]) = (.integer(Int.min), .integer(Int.max))
      case "uint64": o["minimum"] = 0
      default: break
      }
      return .object(o)
    case .number: return ["type": "number"]
    case .boolean: return ["type": "boolean"]
    case .array(let items): return ["type": "array", "items": items.json]
    case .dictionary(let values): return ["type": "object", "additionalProperties": values.json]
    case .object(let properties, let required):
      var o: [String: JSONValue] = [
        "type": "object", "additionalProperties": false,
        "properties": .object(Dictionary(uniqueKeysWithValues: properties.map { ($0.name, $0.schema.json) })),
      ]
      if !required.isEmpty { o["required"] = .array(required.map { .string($0) }) }
      return .object(o)
    case .stringEnumeration(let values): return ["type": "string", "enum": .array(values.map { .string($0) })]
    case .integerEnumeration(let values): return ["type": "integer", "enum": .array(values.map { .integer($0) })]
    case .oneOf(let options): return ["oneOf": .array(options.map(\.json))]
    case .reference(let name): return ["$ref": .string("#/components/schemas/\(name)")]
    case .any: return [:]
    case .refined(let base, let extra):
      guard case .object(var o) = base.json else { return base.json }
      o.merge(extra) { _, new in new }
      return .object(o)
    }
  }
}

/// What the service checks of request fields beyond their Swift types, said
/// in the schema so that the document and the server agree: a value inside
/// these bounds is not refused for its shape, one outside is.
enum SchemaRefinements {
  static let byComponent: [String: [String: [String: JSONValue]]] = [
    SchemaInferrer.componentName(AddDomainRequestV1.self): [
      "domid": ["minimum": 0, "maximum": 32751],
      // Not `domN` for another domid either (422 `domain.bad-name`), which a pattern cannot say.
      "name": ["minLength": 1, "maxLength": 255, "pattern": #"^\S+$"#],
      "flags": ["items": ["type": "string", "enum": ["control", "hardware", "xenstore"]]],
      "iommu": ["enum": ["intremap", "nointremap", "none"]],
      "kind": ["enum": ["pv", "hvm", "pvh"]],
    ],
    SchemaInferrer.componentName(ThresholdRequestV1.self): ["threshold": ["minimum": 1]],
    SchemaInferrer.componentName(OcontextRequestV1.self): ["kind": ["enum": ["pirq", "ioport", "iomem", "pcidevice"]]],
    SchemaInferrer.componentName(DeviceTreeLabelRequestV1.self): ["path": ["minLength": 1, "maxLength": 4095]],
    // An empty list is 422 `product.empty`; more than 1,000,000 questions in all is 413 `product.too-large`.
    SchemaInferrer.componentName(ProductRequestV1.self): [
      "callers": ["minItems": 1], "ops": ["minItems": 1], "targets": ["minItems": 1],
    ],
    SchemaInferrer.componentName(ProductReplyV1.self): ["verdicts": ["pattern": "^[adi]*$"]],
  ]

  /// `components` with the refinements applied to their properties.
  static func apply(_ components: [String: Schema]) -> [String: Schema] {
    var result = components
    for (component, fields) in byComponent {
      guard case .object(var properties, let required) = result[component] else { continue }
      for index in properties.indices {
        if let extra = fields[properties[index].name] { properties[index].schema = .refined(properties[index].schema, extra) }
      }
      result[component] = .object(properties: properties, required: required)
    }
    return result
  }
}

/// A type that describes its own schema (enums without `CaseIterable`, and
/// values that are not plain structs) and can give a sample of itself.
protocol SchemaDescribing {
  static var schema: Schema { get }
  static var schemaSample: Self { get }
}

extension ClassRefV1: SchemaDescribing {
  static var schema: Schema { .oneOf([.integer(format: nil), .string]) }
  static var schemaSample: ClassRefV1 { .number(0) }
}

/// Collections whose element schema the inference cannot see by decoding
/// (an empty collection decodes without touching its element type).
protocol SchemaSequence { static var elementType: any Decodable.Type { get } }
extension Array: SchemaSequence where Element: Decodable {
  static var elementType: any Decodable.Type { Element.self }
}
extension Set: SchemaSequence where Element: Decodable {
  static var elementType: any Decodable.Type { Element.self }
}
protocol SchemaDictionary { static var valueType: any Decodable.Type { get } }
extension Dictionary: SchemaDictionary where Key == String, Value: Decodable {
  static var valueType: any Decodable.Type { Value.self }
}

/// Infers schemas by running types' `init(from:)` against a recording
/// decoder. Named structs become `components/schemas` entries.
final class SchemaInferrer {
  private(set) var components: [String: Schema] = [:]
  private var inProgress: Set<String> = []
  private var snakeCache: [String: String] = [:]

  func schema(for type: any Decodable.Type) -> Schema {
    if let described = type as? any SchemaDescribing.Type { return described.schema }
    if let primitive = Self.primitiveSchema(type) { return primitive }
    if let sequence = type as? any SchemaSequence.Type { return .array(schema(for: sequence.elementType)) }
    if let dictionary = type as? any SchemaDictionary.Type { return .dictionary(schema(for: dictionary.valueType)) }
    if let enumeration = type as? any (CaseIterable & RawRepresentable).Type,
      let values = Self.enumerationSchema(enumeration)
    {
      return values
    }
    let name = Self.componentName(type)
    if components[name] != nil || inProgress.contains(name) { return .reference(name) }
    inProgress.insert(name)
    let recorder = ContainerRecorder()
    do {
      _ = try type.init(from: RecordingDecoder(inferrer: self, recorder: recorder))
    } catch {
      // Keep what was recorded before the failure.
    }
    inProgress.remove(name)
    switch recorder.kind {
    case .keyed, nil:
      // A struct without stored properties asks for no container at all.
      components[name] = .object(properties: recorder.properties, required: recorder.required)
      return .reference(name)
    case .single(let schema): return schema
    case .unkeyed: return .array(.any)
    }
  }

  /// A value of `type` for a decoder that must return one.
  func sample<T: Decodable>(_ type: T.Type) throws -> T {
    if let described = type as? any SchemaDescribing.Type, let value = described.schemaSample as? T { return value }
    if let enumeration = type as? any (CaseIterable & RawRepresentable).Type,
      let value = Self.firstCase(enumeration) as? T
    {
      return value
    }
    return try T(from: RecordingDecoder(inferrer: self, recorder: ContainerRecorder()))
  }

  /// The JSON key JSONEncoder's `.convertToSnakeCase` writes for a property.
  func snakeCase(_ key: String) -> String {
    if let cached = snakeCache[key] { return cached }
    let converted = JSONKeys.snakeCase(key)
    snakeCache[key] = converted
    return converted
  }

  /// A type's schema name: its name without the module and the wire
  /// version (`BatchRequestV1.Query` is `BatchRequestQuery`), or the name
  /// the document gave it before the V1 types.
  static func componentName(_ type: any Any.Type) -> String {
    if let kept = namesBeforeV1[ObjectIdentifier(type)] { return kept }
    var parts = String(reflecting: type).split(separator: ".").map(String.init)
    if parts.count > 1 { parts.removeFirst() }  // the module
    return parts.map { $0.hasSuffix("V1") ? String($0.dropLast(2)) : $0 }.joined()
  }

  /// Schemas that were the engine's types on the wire keep the names they
  /// had, so clients generated from the document keep theirs.
  static let namesBeforeV1: [ObjectIdentifier: String] = [
    ObjectIdentifier(MatrixV1.self): "AccessMatrix",
    ObjectIdentifier(MatrixV1.Domain.self): "HostDomain",
    ObjectIdentifier(MatrixV1.DomainClass.self): "AccessMatrixDomainClass",
    ObjectIdentifier(MatrixV1.Cell.self): "AccessMatrixCell",
    ObjectIdentifier(MatrixV1.OpRow.self): "AccessMatrixOpRow",
    ObjectIdentifier(IdentityV1.self): "XSMIdentity",
    ObjectIdentifier(ErrorBodyV1.self): "ErrorReply",
    ObjectIdentifier(ErrorBodyV1.Detail.self): "ErrorReplyDetail",
  ]

  static func primitiveSchema(_ type: any Any.Type) -> Schema? {
    switch type {
    case is String.Type: .string
    case is Bool.Type: .boolean
    case is Double.Type, is Float.Type: .number
    case is Int.Type, is Int64.Type: .integer(format: "int64")
    case is Int32.Type, is Int16.Type, is Int8.Type: .integer(format: "int32")
    case is UInt32.Type, is UInt16.Type, is UInt8.Type: .integer(format: "uint32")
    case is UInt.Type, is UInt64.Type: .integer(format: "uint64")
    default: nil
    }
  }

  private static func enumerationSchema<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> Schema? {
    let raw = type.allCases.map(\.rawValue)
    if let strings = raw as? [String] { return .stringEnumeration(strings) }
    if let ints = raw as? [Int] { return .integerEnumeration(ints) }
    return nil
  }

  private static func firstCase<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> Any? { type.allCases.first }
}

/// What one `init(from:)` asked of its decoder.
final class ContainerRecorder {
  enum Kind { case keyed, unkeyed, single(Schema) }
  var kind: Kind?
  var properties: [Schema.Property] = []
  var required: [String] = []

  func record(_ name: String, _ schema: Schema, required isRequired: Bool) {
    guard !properties.contains(where: { $0.name == name }) else { return }
    properties.append(.init(name: name, schema: schema))
    if isRequired { required.append(name) }
  }
}

struct RecordingDecoder: Decoder {
  let inferrer: SchemaInferrer
  let recorder: ContainerRecorder
  var codingPath: [any CodingKey] = []
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    recorder.kind = .keyed
    return KeyedDecodingContainer(RecordingKeyedContainer<Key>(inferrer: inferrer, recorder: recorder))
  }
  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    if recorder.kind == nil { recorder.kind = .unkeyed }
    return EmptyUnkeyedContainer()
  }
  func singleValueContainer() throws -> any SingleValueDecodingContainer {
    RecordingSingleValueContainer(inferrer: inferrer, recorder: recorder)
  }
}

struct EmptyUnkeyedContainer: UnkeyedDecodingContainer {
  var codingPath: [any CodingKey] { [] }
  var count: Int? { 0 }
  var isAtEnd: Bool { true }
  var currentIndex: Int { 0 }
  private func end() -> DecodingError {
    .valueNotFound(Any.self, .init(codingPath: [], debugDescription: "schema inference"))
  }
  mutating func decodeNil() throws -> Bool { true }
  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw end() }
  mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> { throw end() }
  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw end() }
  mutating func superDecoder() throws -> any Decoder { throw end() }
}

struct RecordingSingleValueContainer: SingleValueDecodingContainer {
  let inferrer: SchemaInferrer
  let recorder: ContainerRecorder
  var codingPath: [any CodingKey] { [] }

  private func note(_ schema: Schema) {
    if recorder.kind == nil { recorder.kind = .single(schema) }
  }
  func decodeNil() -> Bool { false }
  func decode(_ type: Bool.Type) throws -> Bool { note(.boolean); return false }
  func decode(_ type: String.Type) throws -> String { note(.string); return "" }
  func decode(_ type: Double.Type) throws -> Double { note(.number); return 0 }
  func decode(_ type: Float.Type) throws -> Float { note(.number); return 0 }
  func decode(_ type: Int.Type) throws -> Int { note(.integer(format: "int64")); return 0 }
  func decode(_ type: Int8.Type) throws -> Int8 { note(.integer(format: "int32")); return 0 }
  func decode(_ type: Int16.Type) throws -> Int16 { note(.integer(format: "int32")); return 0 }
  func decode(_ type: Int32.Type) throws -> Int32 { note(.integer(format: "int32")); return 0 }
  func decode(_ type: Int64.Type) throws -> Int64 { note(.integer(format: "int64")); return 0 }
  func decode(_ type: UInt.Type) throws -> UInt { note(.integer(format: "uint64")); return 0 }
  func decode(_ type: UInt8.Type) throws -> UInt8 { note(.integer(format: "uint32")); return 0 }
  func decode(_ type: UInt16.Type) throws -> UInt16 { note(.integer(format: "uint32")); return 0 }
  func decode(_ type: UInt32.Type) throws -> UInt32 { note(.integer(format: "uint32")); return 0 }
  func decode(_ type: UInt64.Type) throws -> UInt64 { note(.integer(format: "uint64")); return 0 }
  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    note(inferrer.schema(for: type))
    return try inferrer.sample(type)
  }
}

struct RecordingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let inferrer: SchemaInferrer
  let recorder: ContainerRecorder
  var codingPath: [any CodingKey] { [] }
  var allKeys: [Key] { [] }

  func contains(_ key: Key) -> Bool { true }
  func decodeNil(forKey key: Key) throws -> Bool { false }

  private func note(_ key: Key, _ type: any Decodable.Type, required: Bool) {
    recorder.record(inferrer.snakeCase(key.stringValue), inferrer.schema(for: type), required: required)
  }
  private func value<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
    note(key, type, required: true)
    return try inferrer.sample(type)
  }
  private func optional<T: Decodable>(_ type: T.Type, _ key: Key) -> T? {
    note(key, type, required: false)
    return nil
  }

  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { note(key, type, required: true); return false }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { note(key, type, required: true); return "" }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { note(key, type, required: true); return 0 }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { note(key, type, required: true); return 0 }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { note(key, type, required: true); return 0 }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { note(key, type, required: true); return 0 }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { note(key, type, required: true); return 0 }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { note(key, type, required: true); return 0 }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { note(key, type, required: true); return 0 }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { note(key, type, required: true); return 0 }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { note(key, type, required: true); return 0 }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { note(key, type, required: true); return 0 }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { note(key, type, required: true); return 0 }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { note(key, type, required: true); return 0 }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(type, key) }

  func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { optional(type, key) }
  func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { optional(type, key) }
  func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { optional(type, key) }
  func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { optional(type, key) }
  func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { optional(type, key) }
  func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { optional(type, key) }
  func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { optional(type, key) }
  func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { optional(type, key) }
  func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { optional(type, key) }
  func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { optional(type, key) }
  func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { optional(type, key) }
  func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { optional(type, key) }
  func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { optional(type, key) }
  func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { optional(type, key) }
  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { optional(type, key) }

  func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
    let nested = ContainerRecorder()
    defer {
      recorder.record(
        inferrer.snakeCase(key.stringValue), .object(properties: nested.properties, required: nested.required),
        required: true)
    }
    nested.kind = .keyed
    return KeyedDecodingContainer(RecordingKeyedContainer<N>(inferrer: inferrer, recorder: nested))
  }
  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    recorder.record(inferrer.snakeCase(key.stringValue), .array(.any), required: true)
    return EmptyUnkeyedContainer()
  }
  func superDecoder() throws -> any Decoder { RecordingDecoder(inferrer: inferrer, recorder: recorder) }
  func superDecoder(forKey key: Key) throws -> any Decoder {
    RecordingDecoder(inferrer: inferrer, recorder: recorder)
  }
}
