import Foundation
import XSMProtocol
import XSMService

/// `/v1/can` is the route a client asks most: its body is read in one pass
/// over the bytes and its reply written straight into bytes, instead of the
/// generic schema walk plus JSONDecoder and a JSONEncoder, which cost more
/// than the decision itself. The request is held to the same rules as every
/// other (UTF-8 only, unknown fields refused by name, no duplicate field, no
/// trailing comma, the types of `CanRequestV1`); the reply is the bytes
/// `WireJSON`'s encoder writes (sorted snake_case keys, unescaped slashes),
/// which a test checks on every op.
enum CanCodec {
  static func decode(_ body: [UInt8]) throws(ServiceError) -> CanRequestV1 {
    guard String(validating: body, as: UTF8.self) != nil else {
      throw ServiceError(400, "request.malformed", "the body is not UTF-8")
    }
    var reader = BatchReader(bytes: body)
    reader.skipSpace()
    // An empty body counts as `{}` (as on every JSON route).
    if reader.i == body.count { throw ServiceError(400, "request.malformed", "missing field `op`") }
    try reader.expect(0x7B, "a JSON object")
    var r = CanRequestV1(op: "")
    var op: String?
    var seen: UInt32 = 0
    if !reader.take(0x7D) {
      repeat {
        let key = try reader.string()
        try reader.expect(0x3A, "`:`")
        if let bit = Self.fields.firstIndex(of: key) {
          guard seen & (1 << UInt32(bit)) == 0 else {
            throw ServiceError(400, "request.malformed", "the field `\(key)` is given twice")
          }
          seen |= 1 << UInt32(bit)
        }
        switch key {
        case "caller": r.caller = try reader.optionalString()
        case "op":
          guard !reader.isNull() else { throw ServiceError(400, "request.malformed", "`op` must be a string, not null") }
          op = try reader.string()
        case "target": r.target = try reader.optionalString()
        case "module":
          if let text = try reader.optionalString() {
            guard let module = ModuleV1(rawValue: text) else {
              throw ServiceError(400, "request.malformed", "`module` must be \"dummy\", \"silo\" or \"flask\"")
            }
            r.module = module
          }
        case "all_modules": r.allModules = try reader.optionalBool("all_modules")
        case "why": r.why = try reader.optionalBool("why")
        case "arguments": r.arguments = try reader.optionalStrings("arguments")
        case "situations": r.situations = try reader.optionalStrings("situations")
        case "object": r.object = try reader.optionalString()
        case "irq": r.irq = try reader.optionalUInt32("irq")
        case "pci": r.pci = try reader.optionalString()
        case "iomem": r.iomem = try reader.optionalString()
        case "ioport": r.ioport = try reader.optionalString()
        case "dt": r.dt = try reader.optionalString()
        default: throw ServiceError(400, "request.unknown-field", "unknown field `\(key)`")
        }
      } while reader.take(0x2C)
      try reader.expect(0x7D, "`}`")
    }
    reader.skipSpace()
    guard reader.i == body.count else { throw reader.fail("text after the JSON object") }
    guard let op else { throw ServiceError(400, "request.malformed", "missing field `op`") }
    r.op = op
    return r
  }

  /// The fields of `CanRequestV1` as the wire spells them.
  static let fields = [
    "caller", "op", "target", "module", "all_modules", "why", "arguments", "situations", "object", "irq", "pci",
    "iomem", "ioport", "dt",
  ]

  /// The reply's bytes, as `WireJSON.makeEncoder()` writes them.
  static func encode(_ reply: CanReplyV1) -> RouteReply {
    var w = JSONBytes()
    w.bytes.reserveCapacity(256)
    w.open()
    if let arguments = reply.arguments { w.key("arguments"); w.strings(arguments) }
    w.key("caller"); w.string(reply.caller)
    w.key("decisions")
    w.array(reply.decisions) { w, d in w.decision(d) }
    w.key("op"); w.string(reply.op)
    if let sequence = reply.sequence { w.key("sequence"); w.number(sequence) }
    w.key("target"); w.string(reply.target)
    w.key("verdict"); w.string(reply.verdict.rawValue)
    w.close()
    return RouteReply(status: 200, contentType: "application/json", body: w.bytes)
  }
}

extension BatchReader {
  /// `true`, `false` or null.
  mutating func optionalBool(_ field: String) throws(ServiceError) -> Bool? {
    if isNull() { return nil }
    func word(_ text: StaticString) -> Bool {
      let n = text.utf8CodeUnitCount
      guard i + n <= bytes.count else { return false }
      for k in 0..<n where bytes[i + k] != text.utf8Start[k] { return false }
      i += n
      return true
    }
    if word("true") { return true }
    if word("false") { return false }
    throw fail("`\(field)` must be true or false")
  }
}

/// JSON written into bytes with the keys given in sorted order, strings
/// escaped as Foundation's JSONEncoder escapes them with `.withoutEscapingSlashes`.
struct JSONBytes {
  var bytes: [UInt8] = []
  /// Whether the next member or element needs a comma first.
  private var needsComma = false

  mutating func open() {
    bytes.append(0x7B)
    needsComma = false
  }

  mutating func close() {
    bytes.append(0x7D)
    needsComma = true
  }

  mutating func key(_ name: StaticString) {
    if needsComma { bytes.append(0x2C) }
    bytes.append(0x22)
    bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    bytes.append(contentsOf: [0x22, 0x3A])
    needsComma = false
  }

  mutating func element() {
    if needsComma { bytes.append(0x2C) }
  }

  mutating func string(_ text: String) {
    bytes.append(0x22)
    for b in text.utf8 {
      switch b {
      case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
      case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
      case 0x08: bytes.append(contentsOf: [0x5C, 0x62])
      case 0x0C: bytes.append(contentsOf: [0x5C, 0x66])
      case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
      case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
      case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
      case 0..<0x20:
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
      default: bytes.append(b)
      }
    }
    bytes.append(0x22)
    needsComma = true
  }

  mutating func number(_ value: some BinaryInteger) {
    bytes.append(contentsOf: String(value).utf8)
    needsComma = true
  }

  mutating func array<T>(_ items: [T], _ write: (inout JSONBytes, T) -> Void) {
    bytes.append(0x5B)
    needsComma = false
    for item in items {
      element()
      write(&self, item)
      needsComma = true
    }
    bytes.append(0x5D)
    needsComma = true
  }

  mutating func strings(_ items: [String]) { array(items) { w, s in w.string(s) } }

  mutating func decision(_ d: DecisionV1) {
    open()
    if let delivery = d.delivery { key("delivery"); string(delivery.rawValue) }
    if let error = d.error { key("error"); string(error) }
    key("module"); string(d.module.rawValue)
    if let returned = d.returned { key("returned"); string(returned) }
    key("trace"); array(d.trace) { w, step in w.step(step) }
    key("verdict"); string(d.verdict.rawValue)
    key("would_deny"); strings(d.wouldDeny)
    close()
  }

  mutating func step(_ s: TraceStepV1) {
    open()
    if let closest = s.closest { key("closest"); citations(closest) }
    if let forbiddenBy = s.forbiddenBy { key("forbidden_by"); citations(forbiddenBy) }
    key("layer"); string(s.layer)
    if let object = s.object { key("object"); string(object) }
    if let note = s.originNote { key("origin_note"); string(note) }
    if let origins = s.origins { key("origins"); citations(origins) }
    key("outcome"); string(s.outcome.rawValue)
    key("rules"); strings(s.rules)
    if let source = s.source { key("source"); string(source) }
    if let subject = s.subject { key("subject"); string(subject) }
    if let switchedOff = s.switchedOff { key("switched_off"); citations(switchedOff) }
    key("text"); string(s.text)
    close()
  }

  mutating func citations(_ rules: [RuleCitationV1]) {
    array(rules) { w, r in
      w.open()
      w.key("column"); w.number(r.column)
      if let condition = r.condition { w.key("condition"); w.string(condition) }
      w.key("file"); w.string(r.file)
      w.key("kind"); w.string(r.kind)
      w.key("line"); w.number(r.line)
      w.key("macro_calls")
      w.array(r.macroCalls) { w, m in
        w.open()
        w.key("call"); w.string(m.call)
        w.key("file"); w.string(m.file)
        w.key("line"); w.number(m.line)
        w.key("name"); w.string(m.name)
        w.close()
      }
      w.key("rule"); w.string(r.rule)
      w.close()
    }
  }
}
