/// Why bytes do not fit a payload layout, with the errno Xen's flask_op
/// would return for it.
public enum PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Fewer bytes than the layout's size.
  case short(layout: Int, got: Int)
  /// A reserved field that is not zero.
  case reservedNotZero(field: String)
  /// A request whose `version` is not the layout's.
  case wrongVersion(expected: Int, got: UInt64)
  /// A value given for a field the layout lacks, or a value that does not fit its field.
  case badValue(field: String)
  /// A handle whose buffer does not lie wholly inside the body's buffer area.
  case badBuffer(field: String)

  /// The negated errno the hypercall answers: -EFAULT (14) for a bad buffer
  /// reference, as copy_from_guest failing; -ENOSYS (38) for a wrong
  /// version, as Xen's flask_do_xsm_op answers a wrong interface_version
  /// (xen/xsm/flask/flask_op.c); -EINVAL (22) otherwise.
  public var errno: Int32 {
    switch self {
    case .badBuffer: -14
    case .wrongVersion: -38
    default: -22
    }
  }

  public var description: String {
    switch self {
    case .short(let layout, let got): "the layout takes \(layout) bytes, got \(got)"
    case .reservedNotZero(let field): "reserved field `\(field)` is not zero"
    case .wrongVersion(let expected, let got): "version \(got), expected \(expected)"
    case .badValue(let field): "no value fits field `\(field)`"
    case .badBuffer(let field): "the buffer of `\(field)` is not inside the body's buffer area"
    }
  }
}

/// The values of one payload's fields: each field's elements as raw
/// little-endian bit patterns (one element for a plain field).
public struct PayloadRecord: Sendable, Equatable {
  public var values: [String: [UInt64]]

  public init(_ values: [String: [UInt64]] = [:]) { self.values = values }

  /// The first (or only) element of a field, unsigned.
  public subscript(name: String) -> UInt64? {
    get { values[name]?.first }
    set { values[name] = newValue.map { [$0] } }
  }
}

/// Reads and writes a payload by its layout: little-endian, each field at
/// its offset. Decoding checks the size, the reserved fields and a request's
/// version; encoding checks that every value fits and reserved fields are
/// zero. Missing values encode as zero.
public struct PayloadCodec: Sendable {
  public let layout: PayloadLayout

  public init(_ layout: PayloadLayout) { self.layout = layout }

  /// The fields of the first `layout.size` bytes of `bytes`; the rest (a
  /// request body's buffer area) is left for ``inputBuffer(_:of:in:)``.
  public func decode(_ bytes: [UInt8]) throws(PayloadError) -> PayloadRecord {
    guard bytes.count >= layout.size else { throw .short(layout: layout.size, got: bytes.count) }
    var record = PayloadRecord()
    for field in layout.fields {
      var elements: [UInt64] = []
      for i in 0..<(field.count ?? 1) {
        let start = field.offset + i * field.type.size
        var v: UInt64 = 0
        for b in (0..<field.type.size).reversed() { v = v << 8 | UInt64(bytes[start + b]) }
        elements.append(v)
      }
      record.values[field.name] = elements
    }
    // The version first, as Xen checks interface_version right after copying the op in.
    if layout.role == .request, let version = record["version"], version != UInt64(layout.version) {
      throw .wrongVersion(expected: layout.version, got: version)
    }
    if let field = layout.fields.first(where: { $0.reserved && record.values[$0.name]?.contains { $0 != 0 } == true }) {
      throw .reservedNotZero(field: field.name)
    }
    return record
  }

  /// `layout.size` bytes holding `record`'s values; fields without a value are zero.
  public func encode(_ record: PayloadRecord) throws(PayloadError) -> [UInt8] {
    if let unknown = record.values.keys.sorted().first(where: { layout.field(named: $0) == nil }) {
      throw .badValue(field: unknown)
    }
    var bytes = [UInt8](repeating: 0, count: layout.size)
    for field in layout.fields {
      let elements = record.values[field.name] ?? []
      guard elements.count <= (field.count ?? 1) else { throw .badValue(field: field.name) }
      if field.reserved, elements.contains(where: { $0 != 0 }) { throw .reservedNotZero(field: field.name) }
      let bits = field.type.size * 8
      for (i, value) in elements.enumerated() {
        // A signed field takes a sign-extended pattern (Int64(bitPattern:)) that fits its width.
        let fits = bits == 64 || value >> bits == 0
          || (field.type.isSigned && Int64(bitPattern: value) >= -(Int64(1) << (bits - 1)) && Int64(bitPattern: value) < 0)
        guard fits else { throw .badValue(field: field.name) }
        let start = field.offset + i * field.type.size
        for b in 0..<field.type.size { bytes[start + b] = UInt8(truncatingIfNeeded: value >> (8 * b)) }
      }
    }
    return bytes
  }

  /// A signed field's value, sign-extended from its width.
  public func signedValue(_ name: String, in record: PayloadRecord) -> Int64? {
    guard let field = layout.field(named: name), let raw = record[name] else { return nil }
    let shift = UInt64(64 - field.type.size * 8)
    return Int64(bitPattern: raw << shift) >> shift
  }

  /// The bytes of input handle `name` in a request `body`, by the wire
  /// convention: the handle holds the buffer's offset from the start of the
  /// body, its length field the element count, and the buffer lies wholly
  /// in the buffer area after the layout (else ``PayloadError/badBuffer(field:)``).
  public func inputBuffer(_ name: String, of record: PayloadRecord, in body: [UInt8]) throws(PayloadError)
    -> ArraySlice<UInt8>
  {
    guard let field = layout.field(named: name), let handle = field.handle, let offset = record[name],
      let count = record[handle.lengthField]
    else { throw .badValue(field: name) }
    let (length, overflow) = count.multipliedReportingOverflow(by: UInt64(handle.element.size))
    let (end, overflow2) = offset.addingReportingOverflow(length)
    guard !overflow, !overflow2, offset >= UInt64(layout.size), end <= UInt64(body.count) else {
      throw .badBuffer(field: name)
    }
    return body[Int(offset)..<Int(end)]
  }
}
