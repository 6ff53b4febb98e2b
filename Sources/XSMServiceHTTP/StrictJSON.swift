import XSMService

/// A request body read once, strictly (RFC 8259 with no extensions): UTF-8
/// only, no trailing commas, no duplicate keys, no comments, no nesting past
/// ``RequestDecoding/maximumNesting``. The tree it gives is checked against the
/// route's schema and decoded into the request type by ``JSONTreeDecoder``,
/// so a body is parsed exactly once.
enum StrictJSON {
  /// A parsed JSON value; numbers keep their text so integers are read exactly.
  indirect enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([Value])
    /// Members in body order (keys are unique).
    case object([(key: String, value: Value)])

    static func == (a: Value, b: Value) -> Bool {
      switch (a, b) {
      case (.null, .null): true
      case (.bool(let x), .bool(let y)): x == y
      case (.number(let x), .number(let y)): x == y
      case (.string(let x), .string(let y)): x == y
      case (.array(let x), .array(let y)): x == y
      case (.object(let x), .object(let y)): x.map(\.key) == y.map(\.key) && x.map(\.value) == y.map(\.value)
      default: false
      }
    }
  }

  /// Parses a whole body.
  ///
  /// - Throws: ``ServiceError`` 400 `request.not-utf8`, `request.duplicate-key`
  ///   or `request.malformed`, naming the byte offset.
  static func parse(_ bytes: [UInt8]) throws(ServiceError) -> Value {
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw ServiceError(400, "request.not-utf8", "the body is not UTF-8 text (JSON bodies must be UTF-8)")
    }
    var reader = Reader(bytes: bytes)
    reader.skipSpace()
    let value = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.offset == bytes.count else { throw reader.malformed("unexpected text after the JSON value") }
    return value
  }

  private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    func malformed(_ what: String) -> ServiceError {
      ServiceError(400, "request.malformed", "the body is not valid JSON: \(what) at byte \(offset)")
    }

    mutating func skipSpace() {
      while offset < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[offset]) { offset += 1 }
    }

    mutating func expect(_ literal: String, _ value: Value) throws(ServiceError) -> Value {
      let utf8 = Array(literal.utf8)
      guard bytes.count - offset >= utf8.count, Array(bytes[offset..<offset + utf8.count]) == utf8 else {
        throw malformed("unexpected character")
      }
      offset += utf8.count
      return value
    }

    mutating func value(depth: Int) throws(ServiceError) -> Value {
      guard offset < bytes.count else { throw malformed("unexpected end of the body") }
      switch bytes[offset] {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        guard depth < RequestDecoding.maximumNesting else {
          throw ServiceError(400, "request.malformed",
            "the body nests arrays and objects deeper than \(RequestDecoding.maximumNesting) levels")
        }
        return bytes[offset] == UInt8(ascii: "{") ? try object(depth: depth + 1) : try array(depth: depth + 1)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): return try expect("true", .bool(true))
      case UInt8(ascii: "f"): return try expect("false", .bool(false))
      case UInt8(ascii: "n"): return try expect("null", .null)
      default: return try number()
      }
    }

    mutating func object(depth: Int) throws(ServiceError) -> Value {
      offset += 1
      var members: [(key: String, value: Value)] = []
      var keys = Set<String>()
      skipSpace()
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
        offset += 1
        return .object([])
      }
      while true {
        skipSpace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
          throw malformed("expected a quoted key (no trailing commas)")
        }
        let keyOffset = offset
        let key = try string()
        guard keys.insert(key).inserted else {
          throw ServiceError(400, "request.duplicate-key", "the key `\(key)` appears twice in one object (at byte \(keyOffset))")
        }
        skipSpace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw malformed("expected `:`") }
        offset += 1
        skipSpace()
        members.append((key, try value(depth: depth)))
        guard try another(closing: "}") else { return .object(members) }
      }
    }

    mutating func array(depth: Int) throws(ServiceError) -> Value {
      offset += 1
      var elements: [Value] = []
      skipSpace()
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
        offset += 1
        return .array([])
      }
      while true {
        skipSpace()
        guard offset < bytes.count, bytes[offset] != UInt8(ascii: "]") else {
          throw malformed("expected a value (no trailing commas)")
        }
        elements.append(try value(depth: depth))
        guard try another(closing: "]") else { return .array(elements) }
      }
    }

    /// After a member or element: true when a `,` says another follows, false at `closing`.
    mutating func another(closing: Unicode.Scalar) throws(ServiceError) -> Bool {
      skipSpace()
      guard offset < bytes.count else { throw malformed("unexpected end of the body") }
      let byte = bytes[offset]
      offset += 1
      if byte == UInt8(ascii: ",") { return true }
      guard byte == UInt8(ascii: closing) else {
        offset -= 1
        throw malformed("expected `,` or `\(closing)`")
      }
      return false
    }

    mutating func number() throws(ServiceError) -> Value {
      let start = offset
      func digits() -> Int {
        let from = offset
        while offset < bytes.count, bytes[offset] >= 0x30, bytes[offset] <= 0x39 { offset += 1 }
        return offset - from
      }
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
      let leading = offset
      guard digits() > 0 else { throw malformed("unexpected character") }
      guard !(bytes[leading] == 0x30 && offset - leading > 1) else { throw malformed("a number with a leading zero") }
      if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
        offset += 1
        guard digits() > 0 else { throw malformed("a number without digits after `.`") }
      }
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
        offset += 1
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard digits() > 0 else { throw malformed("a number without exponent digits") }
      }
      return .number(String(decoding: bytes[start..<offset], as: UTF8.self))
    }

    mutating func string() throws(ServiceError) -> String {
      offset += 1
      var text: [UInt8] = []
      while true {
        guard offset < bytes.count else { throw malformed("a string is not closed") }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): return String(decoding: text, as: UTF8.self)
        case 0x00..<0x20: throw malformed("a control character inside a string")
        case UInt8(ascii: "\\"):
          guard offset < bytes.count else { throw malformed("a string is not closed") }
          let escape = bytes[offset]
          offset += 1
          switch escape {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
          case UInt8(ascii: "b"): text.append(0x08)
          case UInt8(ascii: "f"): text.append(0x0C)
          case UInt8(ascii: "n"): text.append(0x0A)
          case UInt8(ascii: "r"): text.append(0x0D)
          case UInt8(ascii: "t"): text.append(0x09)
          case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
              guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
              else { throw malformed("an unpaired surrogate escape") }
              offset += 2
              let low = try hex4()
              guard (0xDC00..<0xE000).contains(low) else { throw malformed("an unpaired surrogate escape") }
              scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw malformed("an unpaired surrogate escape") }
            text += Array(String(Character(unicode)).utf8)
          default: throw malformed("an unknown escape `\\\(Character(Unicode.Scalar(escape)))`")
          }
        default: text.append(byte)
        }
      }
    }

    mutating func hex4() throws(ServiceError) -> UInt32 {
      let isHex = { (b: UInt8) in (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) }
      guard bytes.count - offset >= 4, bytes[offset..<offset + 4].allSatisfy(isHex),
        let value = UInt32(String(decoding: bytes[offset..<offset + 4], as: UTF8.self), radix: 16)
      else { throw malformed("a `\\u` escape without four hex digits") }
      offset += 4
      return value
    }
  }
}
