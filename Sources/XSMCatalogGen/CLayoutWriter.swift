import XSMCatalog

/// Writes `bindings/c/xsm_abi.h`: one struct per request and reply layout
/// of the catalog, `_Static_assert`s on every offset and size, the version
/// and size constants, the named values, and little-endian encode/decode
/// helpers that refuse nonzero reserved fields (-EINVAL) and a wrong request
/// version (-ENOSYS).
struct CLayoutWriter {
  var catalog: OpCatalog
  var source: String

  /// The layouts in output order: ops as the other bindings order them, request before reply.
  var layouts: [PayloadLayout] { catalog.layoutsInOutputOrder }

  func render() -> String {
    var out: [String] = []
    let notice = GeneratedArtefacts.doNotEditNotice(source: source).replacingOccurrences(of: "*/", with: "* /")
    out.append("/* \(notice)")
    out.append(" *")
    out.append(" * The payloads of the proposed ABI's split ops: \(layouts.count) layouts. Each layout")
    out.append(" * is a struct whose memory image on a little-endian host is its wire form:")
    out.append(" * fields in order at natural alignment, no implicit padding (padding is a")
    out.append(" * reserved field that must be zero), no unions, sizes a multiple of 8, and")
    out.append(" * every request starting with `uint32_t version`. A handle is a uint64_t")
    out.append(" * naming a guest buffer; its length field is named in the comment.")
    out.append(" *")
    out.append(" * xsm_abi_<op>_<role>_decode(struct *out, bytes, length) reads the first SIZE")
    out.append(" * bytes (the rest of a request body is its buffer area) and returns 0, or")
    out.append(" * -XSM_ABI_EINVAL when they are short or a reserved field is not zero, and")
    out.append(" * -XSM_ABI_ENOSYS when a request's version is not the layout's (checked")
    out.append(" * first, as Xen's flask_do_xsm_op answers a wrong interface_version with")
    out.append(" * -ENOSYS). xsm_abi_<op>_<role>_encode(struct *in,")
    out.append(" * bytes, capacity) writes SIZE bytes and returns SIZE, or -XSM_ABI_EINVAL.")
    out.append(" * Both work byte by byte, so they are right on any host.")
    out.append(" */")
    out.append("#ifndef XSM_ABI_H")
    out.append("#define XSM_ABI_H")
    out.append("")
    out.append("#include <stddef.h>")
    out.append("#include <stdint.h>")
    out.append("")
    out.append("/* The errors the helpers return, negated: EINVAL and ENOSYS in Xen's public errno.h. */")
    out.append("#define XSM_ABI_EINVAL 22")
    out.append("#define XSM_ABI_ENOSYS 38")
    out.append("")
    out += primitives
    for layout in layouts {
      out.append("")
      out += declaration(of: layout)
    }
    out.append("")
    out.append("#endif /* XSM_ABI_H */")
    return out.joined(separator: "\n") + "\n"
  }

  /// Little-endian loads and stores of each width.
  private var primitives: [String] {
    var out: [String] = []
    for bits in [8, 16, 32, 64] {
      let type = "uint\(bits)_t"
      let bytes = bits / 8
      out.append("static inline \(type) xsm_abi_get_u\(bits)(const uint8_t *p)")
      out.append("{")
      if bytes == 1 {
        out.append("    return p[0];")
      } else {
        let terms = (0..<bytes).map { i in i == 0 ? "(\(type))p[0]" : "((\(type))p[\(i)] << \(i * 8))" }
        out.append("    return (\(type))(" + terms.joined(separator: " | ") + ");")
      }
      out.append("}")
      out.append("static inline void xsm_abi_put_u\(bits)(uint8_t *p, \(type) v)")
      out.append("{")
      for i in 0..<bytes { out.append("    p[\(i)] = (uint8_t)(v >> \(i * 8));") }
      if bytes == 1 { out[out.count - 1] = "    p[0] = v;" }
      out.append("}")
    }
    return out
  }

  static func stem(_ layout: PayloadLayout) -> String {
    "xsm_abi_" + OpIdentifier.upperSnake(layout.op).lowercased() + "_" + layout.role.rawValue
  }

  static func cType(_ type: PayloadType) -> String {
    switch type {
    case .u8: "uint8_t"
    case .char: "char"
    case .u16, .domid: "uint16_t"
    case .u32, .evtchnPort, .grantRef, .sid: "uint32_t"
    case .s32: "int32_t"
    case .u64, .handle: "uint64_t"
    case .s64: "int64_t"
    }
  }

  /// The unsigned type a field's bits travel as.
  static func wireType(_ type: PayloadType) -> String { "uint\(type.size * 8)_t" }

  private func declaration(of layout: PayloadLayout) -> [String] {
    let stem = Self.stem(layout)
    let macro = stem.uppercased()
    var out: [String] = []
    out.append("/* \(layout.op) \(layout.role.rawValue), version \(layout.version), \(layout.size) bytes"
      + " (\(catalog.relativeName(of: layout.span.file)) line \(layout.span.line)). */")
    out.append("#define \(macro)_VERSION \(layout.version)u")
    out.append("#define \(macro)_SIZE \(layout.size)u")
    for field in layout.fields {
      for value in field.values {
        out.append("#define \(macro)_\(field.name.uppercased())_\(value.name.uppercased()) \(value.value)u")
      }
    }
    // C has no empty struct: a layout without fields is its constants.
    guard !layout.fields.isEmpty else { return out }
    out.append("struct \(stem) {")
    for field in layout.fields {
      let array = field.count.map { "[\($0)]" } ?? ""
      var comment: [String] = []
      if field.reserved { comment.append("reserved, zero") }
      if let handle = field.handle {
        comment.append("handle \(handle.direction.rawValue): \(handle.element.rawValue)[\(handle.lengthField)]")
      }
      if ![.u8, .u16, .u32, .u64, .handle].contains(field.type) { comment.append(field.type.rawValue) }
      let tail = comment.isEmpty ? "" : " /* \(comment.joined(separator: "; ")) */"
      out.append("    \(Self.cType(field.type)) \(field.name)\(array);\(tail)")
    }
    out.append("};")
    for field in layout.fields {
      out.append("_Static_assert(offsetof(struct \(stem), \(field.name)) == \(field.offset), "
        + "\"\(layout.op) \(layout.role.rawValue): \(field.name) at \(field.offset)\");")
    }
    out.append("_Static_assert(sizeof(struct \(stem)) == \(layout.size), "
      + "\"\(layout.op) \(layout.role.rawValue): \(layout.size) bytes\");")
    out += decoder(of: layout, stem: stem, macro: macro)
    out += encoder(of: layout, stem: stem, macro: macro)
    return out
  }

  /// `p + offset` for element `index` of a field, as C text.
  private static func at(_ field: PayloadField, _ index: String?) -> String {
    guard let index else { return "p + \(field.offset)" }
    return "p + \(field.offset) + \(field.type.size) * \(index)"
  }

  private func decoder(of layout: PayloadLayout, stem: String, macro: String) -> [String] {
    var out: [String] = []
    out.append("static inline int \(stem)_decode(struct \(stem) *out, const void *bytes, size_t length)")
    out.append("{")
    out.append("    const uint8_t *p = (const uint8_t *)bytes;")
    if layout.fields.contains(where: { $0.count != nil }) { out.append("    size_t i;") }
    out.append("    if (length < \(macro)_SIZE)")
    out.append("        return -XSM_ABI_EINVAL;")
    for field in layout.fields {
      let bits = field.type.size * 8
      let load = { (index: String?) in
        "(\(Self.cType(field.type)))xsm_abi_get_u\(bits)(\(Self.at(field, index)))"
      }
      if field.count != nil {
        out.append("    for (i = 0; i < \(field.count!); i++) {")
        out.append("        out->\(field.name)[i] = \(load("i"));")
        if field.reserved {
          out.append("        if (out->\(field.name)[i] != 0)")
          out.append("            return -XSM_ABI_EINVAL;")
        }
        out.append("    }")
      } else {
        out.append("    out->\(field.name) = \(load(nil));")
        // The version before any reserved field, as Xen checks interface_version first (flask_do_xsm_op).
        if layout.role == .request, field.name == "version" {
          out.append("    if (out->version != \(macro)_VERSION)")
          out.append("        return -XSM_ABI_ENOSYS;")
        }
        if field.reserved {
          out.append("    if (out->\(field.name) != 0)")
          out.append("        return -XSM_ABI_EINVAL;")
        }
      }
    }
    out.append("    return 0;")
    out.append("}")
    return out
  }

  private func encoder(of layout: PayloadLayout, stem: String, macro: String) -> [String] {
    var out: [String] = []
    out.append("static inline int \(stem)_encode(const struct \(stem) *in, void *bytes, size_t capacity)")
    out.append("{")
    out.append("    uint8_t *p = (uint8_t *)bytes;")
    if layout.fields.contains(where: { $0.count != nil }) { out.append("    size_t i;") }
    out.append("    if (capacity < \(macro)_SIZE)")
    out.append("        return -XSM_ABI_EINVAL;")
    for field in layout.fields where field.reserved {
      if let count = field.count {
        out.append("    for (i = 0; i < \(count); i++)")
        out.append("        if (in->\(field.name)[i] != 0)")
        out.append("            return -XSM_ABI_EINVAL;")
      } else {
        out.append("    if (in->\(field.name) != 0)")
        out.append("        return -XSM_ABI_EINVAL;")
      }
    }
    for field in layout.fields {
      let bits = field.type.size * 8
      let store = { (index: String?, value: String) in
        "xsm_abi_put_u\(bits)(\(Self.at(field, index)), (\(Self.wireType(field.type)))\(value));"
      }
      if let count = field.count {
        out.append("    for (i = 0; i < \(count); i++)")
        out.append("        " + store("i", "in->\(field.name)[i]"))
      } else {
        out.append("    " + store(nil, "in->\(field.name)"))
      }
    }
    out.append("    return (int)\(macro)_SIZE;")
    out.append("}")
    return out
  }
}
