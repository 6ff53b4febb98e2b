import XSMDiagnostics

/// A fixed-width type of a payload field (docs/catalog-format.md, *Payload layouts*).
/// Every type is little-endian and aligned to its own size.
public enum PayloadType: String, Sendable, Codable, CaseIterable {
  case u8, u16, u32, u64, s32, s64
  /// A byte of text (a `char` buffer or array); never NUL-terminated on the wire.
  case char
  /// A domain id (`domid_t`, 16 bits).
  case domid
  /// An event channel port (`evtchn_port_t`, 32 bits).
  case evtchnPort = "evtchn_port"
  /// A grant reference (`grant_ref_t`, 32 bits).
  case grantRef = "grant_ref"
  /// A flask security id (32 bits).
  case sid
  /// A reference to a guest buffer (64 bits); the field names its length field.
  case handle

  /// Size in bytes, which is also the alignment.
  public var size: Int {
    switch self {
    case .u8, .char: 1
    case .u16, .domid: 2
    case .u32, .s32, .evtchnPort, .grantRef, .sid: 4
    case .u64, .s64, .handle: 8
    }
  }

  /// True for the types a `reserved` field may have: plain unsigned
  /// integers, whose zero is the only valid value.
  public var isZeroable: Bool { [.u8, .u16, .u32, .u64].contains(self) }

  /// True for signed integers.
  public var isSigned: Bool { self == .s32 || self == .s64 }
}

/// Which way a guest buffer's bytes travel.
public enum HandleDirection: String, Sendable, Codable {
  /// The caller fills the buffer; the op reads it.
  case `in`
  /// The op writes the buffer; the caller offers its capacity in the length field.
  case out
}

/// What a `handle` field refers to: a guest buffer, its direction, the
/// field holding its length and the type of its elements.
public struct PayloadHandle: Hashable, Sendable, Codable {
  public var direction: HandleDirection
  /// The `u32` field of the same layout that holds the buffer's length in elements.
  public var lengthField: String
  /// The buffer's element type (`u8` or `char` for bytes and text).
  public var element: PayloadType

  public init(direction: HandleDirection, lengthField: String, element: PayloadType = .u8) {
    self.direction = direction
    self.lengthField = lengthField
    self.element = element
  }
}

/// One field of a payload layout, at a fixed offset.
public struct PayloadField: Hashable, Sendable, Codable {
  public var name: String
  public var type: PayloadType
  /// Byte offset from the start of the layout.
  public var offset: Int
  /// Element count of a fixed array (`u8 name[16]`); nil for a single value.
  public var count: Int?
  /// Padding that must be zero (`reserved` lines).
  public var reserved: Bool
  /// Set for `handle` fields.
  public var handle: PayloadHandle?
  /// Named values of the field (`values dummy=1 silo=2`), in text order.
  public var values: [PayloadValueName]
  public var span: SourceSpan

  /// Bytes the field takes: its type's size times its count.
  public var size: Int { type.size * (count ?? 1) }
  /// The offset just past the field.
  public var end: Int { offset + size }

  public init(name: String, type: PayloadType, offset: Int, count: Int? = nil, reserved: Bool = false,
    handle: PayloadHandle? = nil, values: [PayloadValueName] = [], span: SourceSpan)
  {
    self.name = name
    self.type = type
    self.offset = offset
    self.count = count
    self.reserved = reserved
    self.handle = handle
    self.values = values
    self.span = span
  }
}

/// A named value of a payload field (`values dummy=1 silo=2`): the constant the bindings define for it.
public struct PayloadValueName: Hashable, Sendable, Codable {
  public var name: String
  public var value: UInt64

  public init(name: String, value: UInt64) {
    self.name = name
    self.value = value
  }
}

/// Whether a layout is what the caller sends or what the op answers.
public enum PayloadRole: String, Sendable, Codable, CaseIterable {
  case request, reply
}

/// The bytes of one split op's request or reply: its fields at fixed
/// offsets, its total size and its version (a `layout` block of the catalog).
/// A loaded layout obeys every rule of docs/catalog-format.md: little-endian,
/// natural alignment, no holes, no overlaps, handles with a `u32` length
/// field, reserved fields of unsigned types, size a multiple of 8, and a
/// request starting with `u32 version`.
public struct PayloadLayout: Hashable, Sendable, Codable {
  /// The split op (`flask.load`).
  public var op: String
  public var role: PayloadRole
  public var version: Int
  /// Total size in bytes (a multiple of 8; 0 for an empty reply).
  public var size: Int
  /// In offset order.
  public var fields: [PayloadField]
  /// Where the `layout` line is.
  public var span: SourceSpan

  public init(op: String, role: PayloadRole, version: Int, size: Int, fields: [PayloadField], span: SourceSpan) {
    self.op = op
    self.role = role
    self.version = version
    self.size = size
    self.fields = fields
    self.span = span
  }

  /// The field with this name.
  public func field(named name: String) -> PayloadField? { fields.first { $0.name == name } }
  /// The `handle` fields, in offset order.
  public var handles: [PayloadField] { fields.filter { $0.handle != nil } }
}
