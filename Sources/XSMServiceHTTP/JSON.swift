import Foundation
import XSMProtocol
import XSMService

/// A JSON value, for documents built in code (the OpenAPI document).
enum JSONValue: Sendable, Equatable, Encodable, ExpressibleByDictionaryLiteral, ExpressibleByStringLiteral,
  ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral
{
  case string(String)
  case integer(Int)
  case bool(Bool)
  case array([JSONValue])
  case object([String: JSONValue])
  case null

  init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
  }
  init(stringLiteral value: String) { self = .string(value) }
  init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  init(booleanLiteral value: Bool) { self = .bool(value) }
  init(integerLiteral value: Int) { self = .integer(value) }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .string(let s): try container.encode(s)
    case .integer(let n): try container.encode(n)
    case .bool(let b): try container.encode(b)
    case .array(let a): try container.encode(a)
    case .object(let o): try container.encode(o)
    case .null: try container.encodeNil()
    }
  }

  /// Pretty-printed with sorted keys: the same bytes every time.
  var prettyText: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(self) else { return "{}" }
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}

/// The JSON keys of the wire (`WireJSON`'s snake_case), for schemas and error messages.
enum JSONKeys {
  /// The key `.convertToSnakeCase` writes for a property name (asks the
  /// encoder itself, so the answer is always Foundation's).
  static func snakeCase(_ key: String) -> String {
    struct Probe: Encodable {
      struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
      }
      var key: String
      func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(0, forKey: Key(stringValue: key))
      }
    }
    guard let data = try? WireJSON.makeEncoder().encode(Probe(key: key)),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let converted = object.keys.first
    else { return key }
    return converted
  }
}

/// Decoding a request body against its schema.
enum RequestDecoding {
  /// Decodes `data` as `T` in one parse (``StrictJSON``, then
  /// ``JSONTreeDecoder``): bad JSON is `request.malformed` (or
  /// `request.not-utf8`, `request.duplicate-key`), a wrong value
  /// `request.malformed`, a field the schema does not name
  /// `request.unknown-field`. An empty body stands for `{}`.
  static func decode<T: Decodable>(
    _ type: T.Type, from data: Data, schema: Schema, components: [String: Schema]
  ) throws(ServiceError) -> T {
    let bytes = [UInt8](data)
    let isBlank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    let parsed = isBlank ? StrictJSON.Value.object([]) : try StrictJSON.parse(bytes)
    if let unknown = firstUnknownField(parsed, schema: schema, components: components, path: "") {
      throw ServiceError(400, "request.unknown-field", "unknown field `\(unknown)`")
    }
    do {
      return try T(from: JSONTreeDecoder(parsed))
    } catch {
      throw malformed(describe(error))
    }
  }

  /// No request type nests deeper than a few levels; deeper input is refused while it is read.
  static let maximumNesting = 32

  private static func malformed(_ message: String) -> ServiceError {
    ServiceError(400, "request.malformed", message)
  }

  /// The decoder's message, with the path in the request's own spelling.
  static func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
      var text = ""
      for key in keys {
        if let index = key.intValue {
          text += "[\(index)]"
        } else {
          text += (text.isEmpty ? "" : ".") + JSONKeys.snakeCase(key.stringValue)
        }
      }
      return text
    }
    func detail(_ context: DecodingError.Context) -> String {
      var message = context.debugDescription
      if let underlying = context.underlyingError as NSError?,
        let more = underlying.userInfo[NSDebugDescriptionErrorKey] as? String, !more.isEmpty
      {
        message += " (\(more))"
      }
      return message
    }
    switch error {
    case .keyNotFound(let key, let context):
      let full = path(context.codingPath + [key])
      return "missing field `\(full)`"
    case .valueNotFound(_, let context):
      return "field `\(path(context.codingPath))`: \(detail(context))"
    case .typeMismatch(_, let context):
      let at = path(context.codingPath)
      return at.isEmpty ? detail(context) : "field `\(at)`: \(detail(context))"
    case .dataCorrupted(let context):
      let at = path(context.codingPath)
      return at.isEmpty ? detail(context) : "field `\(at)`: \(detail(context))"
    @unknown default:
      return "\(error)"
    }
  }

  /// The first key of `value` (depth first) that `schema` does not define.
  static func firstUnknownField(_ value: StrictJSON.Value, schema: Schema, components: [String: Schema], path: String, depth: Int = 0)
    -> String?
  {
    guard depth < 32 else { return nil }
    switch schema {
    case .refined(let base, _):
      return firstUnknownField(value, schema: base, components: components, path: path, depth: depth)
    case .reference(let name):
      guard let resolved = components[name] else { return nil }
      return firstUnknownField(value, schema: resolved, components: components, path: path, depth: depth + 1)
    case .object(let properties, _):
      guard case .object(let members) = value else { return nil }
      for (key, nested) in members.sorted(by: { $0.key < $1.key }) {
        let keyPath = path.isEmpty ? key : "\(path).\(key)"
        guard let property = properties.first(where: { $0.name == key }) else { return keyPath }
        if let unknown = firstUnknownField(
            nested, schema: property.schema, components: components, path: keyPath, depth: depth + 1)
        {
          return unknown
        }
      }
      return nil
    case .array(let items):
      guard case .array(let array) = value else { return nil }
      for (index, element) in array.enumerated() {
        if let unknown = firstUnknownField(
          element, schema: items, components: components, path: "\(path)[\(index)]", depth: depth + 1)
        {
          return unknown
        }
      }
      return nil
    case .dictionary(let values):
      guard case .object(let members) = value else { return nil }
      for (key, nested) in members.sorted(by: { $0.key < $1.key }) {
        if let unknown = firstUnknownField(
            nested, schema: values, components: components, path: "\(path).\(key)", depth: depth + 1)
        {
          return unknown
        }
      }
      return nil
    default:
      return nil
    }
  }
}
