import XSMCatalog

/// Writes `bindings/rust/xsm_abi.rs`: one `#[repr(C)]` struct per payload
/// layout, compile-time assertions of every offset and size, and
/// little-endian `decode`/`encode` that refuse short input, nonzero reserved
/// fields and a wrong request version. No crates.
struct RustLayoutWriter {
  var catalog: OpCatalog
  var source: String

  /// `FlaskAccessRequest` for the request of `flask.access`.
  static func typeName(_ layout: PayloadLayout) -> String {
    OpIdentifier.upperCamel(layout.op) + OpIdentifier.upperCamel(layout.role.rawValue)
  }

  /// The Rust type of one element; `char` travels as `u8`.
  static func rustType(_ type: PayloadType) -> String {
    switch type {
    case .u8, .char: "u8"
    case .u16, .domid: "u16"
    case .u32, .evtchnPort, .grantRef, .sid: "u32"
    case .s32: "i32"
    case .u64, .handle: "u64"
    case .s64: "i64"
    }
  }

  /// Rust's strict keywords that a field name could be (`type` is one of Xen's member names).
  static let keywords: Set<String> = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
  ]

  /// A field's Rust identifier: the name, raw (`r#type`) when it is a keyword.
  static func identifier(_ field: PayloadField) -> String {
    keywords.contains(field.name) ? "r#" + field.name : field.name
  }

  func render() -> String {
    let layouts = catalog.layoutsInOutputOrder
    var out: [String] = []
    out.append("// \(GeneratedArtefacts.doNotEditNotice(source: source))")
    out.append("//")
    out.append("// The payloads of the proposed ABI's split ops: \(layouts.count) layouts, each a")
    out.append("// #[repr(C)] struct whose memory image on a little-endian host is its wire form")
    out.append("// (natural alignment, explicit reserved padding, no unions, sizes a multiple of")
    out.append("// 8, every request starting with `version`). A handle is a u64 naming a guest")
    out.append("// buffer; its length field is named in the field's comment. `decode` reads the")
    out.append("// first SIZE bytes (the rest of a request body is its buffer area); `encode`")
    out.append("// writes SIZE bytes. Both work byte by byte, so they are right on any host.")
    out.append("// See docs/abi.md.")
    out.append("")
    out.append("#![allow(dead_code)]")
    out.append("")
    out.append("/// Why a payload was refused; every case is EINVAL to the hypercall.")
    out.append("#[derive(Clone, Copy, Debug, PartialEq, Eq)]")
    out.append("pub enum AbiError {")
    out.append("    /// Fewer bytes than the layout's size.")
    out.append("    Short,")
    out.append("    /// The named reserved field is not zero.")
    out.append("    Reserved(&'static str),")
    out.append("    /// A request's version is not the layout's.")
    out.append("    Version,")
    out.append("}")
    out.append("")
    out.append("impl AbiError {")
    out.append("    /// The hypercall result for this error (Xen's public errno.h): -ENOSYS for a")
    out.append("    /// wrong version, as Xen's flask_do_xsm_op answers a wrong interface_version;")
    out.append("    /// -EINVAL otherwise.")
    out.append("    pub const fn errno(&self) -> i32 {")
    out.append("        match self {")
    out.append("            AbiError::Version => -38,")
    out.append("            _ => -22,")
    out.append("        }")
    out.append("    }")
    out.append("}")
    for bits in [8, 16, 32, 64] {
      let bytes = (0..<(bits / 8)).map { "b[at + \($0)]" }.joined(separator: ", ")
      out.append("")
      out.append("fn get_u\(bits)(b: &[u8], at: usize) -> u\(bits) {")
      out.append("    u\(bits)::from_le_bytes([\(bytes)])")
      out.append("}")
      out.append("")
      out.append("fn put_u\(bits)(b: &mut [u8], at: usize, v: u\(bits)) {")
      out.append("    b[at..at + \(bits / 8)].copy_from_slice(&v.to_le_bytes());")
      out.append("}")
    }
    for layout in layouts {
      out.append("")
      out += declaration(of: layout)
    }
    return out.joined(separator: "\n") + "\n"
  }

  private func declaration(of layout: PayloadLayout) -> [String] {
    let name = Self.typeName(layout)
    var out: [String] = []
    out.append("/// `\(layout.op)` \(layout.role.rawValue), version \(layout.version), \(layout.size) bytes"
      + " (\(catalog.relativeName(of: layout.span.file)) line \(layout.span.line)).")
    out.append("#[repr(C)]")
    out.append("#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]")
    out.append("pub struct \(name) {")
    for field in layout.fields {
      if let comment = LayoutComment.text(field) { out.append("    /// \(comment)") }
      let type = Self.rustType(field.type)
      out.append("    pub \(Self.identifier(field)): \(field.count.map { "[\(type); \($0)]" } ?? type),")
    }
    out.append("}")
    out.append("")
    for field in layout.fields {
      out.append("const _: () = assert!(core::mem::offset_of!(\(name), \(Self.identifier(field))) == \(field.offset));")
    }
    out.append("const _: () = assert!(core::mem::size_of::<\(name)>() == \(layout.size));")
    out.append("")
    out.append("impl \(name) {")
    out.append("    /// The layout's version.")
    out.append("    pub const VERSION: u32 = \(layout.version);")
    out.append("    /// The layout's size in bytes.")
    out.append("    pub const SIZE: usize = \(layout.size);")
    for field in layout.fields {
      for value in field.values {
        out.append("    /// `\(field.name)` = `\(value.name)`.")
        out.append("    pub const \(field.name.uppercased())_\(value.name.uppercased()): \(Self.rustType(field.type))"
          + " = \(value.value);")
      }
    }
    out.append("")
    out.append("    /// Reads the first SIZE bytes of `bytes`.")
    out.append("    pub fn decode(bytes: &[u8]) -> Result<Self, AbiError> {")
    out.append("        if bytes.len() < Self::SIZE {")
    out.append("            return Err(AbiError::Short);")
    out.append("        }")
    if layout.fields.isEmpty {
      out.append("        Ok(Self {})")
    } else {
      out.append("        let v = Self {")
      for field in layout.fields {
        let bits = field.type.size * 8
        let load = { (at: String) -> String in
          let raw = "get_u\(bits)(bytes, \(at))"
          return field.type.isSigned ? "\(raw) as \(Self.rustType(field.type))" : raw
        }
        if let count = field.count {
          let type = Self.rustType(field.type)
          out.append("            \(Self.identifier(field)): {")
          out.append("                let mut a = [0 as \(type); \(count)];")
          out.append("                for (i, e) in a.iter_mut().enumerate() {")
          out.append("                    *e = \(load("\(field.offset) + \(field.type.size) * i"));")
          out.append("                }")
          out.append("                a")
          out.append("            },")
        } else {
          out.append("            \(Self.identifier(field)): \(load(String(field.offset))),")
        }
      }
      out.append("        };")
      // The version before the reserved fields, as Xen checks interface_version first.
      if layout.role == .request {
        out.append("        if v.version != Self::VERSION {")
        out.append("            return Err(AbiError::Version);")
        out.append("        }")
      }
      out += reservedChecks(layout, value: "v")
      out.append("        Ok(v)")
    }
    out.append("    }")
    out.append("")
    out.append("    /// Writes SIZE bytes to the start of `out` and returns SIZE.")
    out.append("    pub fn encode(&self, out: &mut [u8]) -> Result<usize, AbiError> {")
    out.append("        if out.len() < Self::SIZE {")
    out.append("            return Err(AbiError::Short);")
    out.append("        }")
    out += reservedChecks(layout, value: "self")
    for field in layout.fields {
      let bits = field.type.size * 8
      let wire = "u\(bits)"
      let cast = field.type.isSigned ? " as \(wire)" : ""
      if let count = field.count {
        out.append("        for i in 0..\(count) {")
        out.append("            put_\(wire)(out, \(field.offset) + \(field.type.size) * i, self.\(Self.identifier(field))[i]\(cast));")
        out.append("        }")
      } else {
        out.append("        put_\(wire)(out, \(field.offset), self.\(Self.identifier(field))\(cast));")
      }
    }
    out.append("        Ok(Self::SIZE)")
    out.append("    }")
    out.append("}")
    return out
  }

  private func reservedChecks(_ layout: PayloadLayout, value: String) -> [String] {
    var out: [String] = []
    for field in layout.fields where field.reserved {
      let test = field.count == nil ? "\(value).\(Self.identifier(field)) != 0" : "\(value).\(Self.identifier(field)).iter().any(|&e| e != 0)"
      out.append("        if \(test) {")
      out.append("            return Err(AbiError::Reserved(\"\(field.name)\"));")
      out.append("        }")
    }
    return out
  }
}

/// The comment the Rust and Go bindings give a field: reserved, handle,
/// or the catalog type when it says more than the integer type.
enum LayoutComment {
  static func text(_ field: PayloadField) -> String? {
    var parts: [String] = []
    if field.reserved { parts.append("reserved, zero") }
    if let handle = field.handle {
      parts.append("handle \(handle.direction.rawValue): \(handle.element.rawValue)[\(handle.lengthField)]")
    }
    if ![.u8, .u16, .u32, .u64, .s32, .s64, .handle].contains(field.type) { parts.append(field.type.rawValue) }
    return parts.isEmpty ? nil : parts.joined(separator: "; ")
  }
}

extension OpCatalog {
  /// The layouts in output order: ops as the other bindings order them, request before reply.
  var layoutsInOutputOrder: [PayloadLayout] {
    opsInOutputOrder.flatMap { op in PayloadRole.allCases.compactMap { layout(of: op.name, $0) } }
  }
}
