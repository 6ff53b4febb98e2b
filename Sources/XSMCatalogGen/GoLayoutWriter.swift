import XSMCatalog

/// Writes package `xsmabi` (`bindings/go/xsmabi`): one struct per payload
/// layout with little-endian `Decode`/`Encode` methods that refuse short
/// input, nonzero reserved fields and a wrong request version, and a test
/// file checking every offset and size with `unsafe.Offsetof`/`Sizeof`.
struct GoLayoutWriter {
  var catalog: OpCatalog
  var source: String

  /// `FlaskAccessRequest`, as in Rust.
  static func typeName(_ layout: PayloadLayout) -> String { RustLayoutWriter.typeName(layout) }

  /// `MaxGrantFrames` for `max_grant_frames`.
  static func fieldName(_ field: PayloadField) -> String { OpIdentifier.upperCamel(field.name) }

  static func goType(_ type: PayloadType) -> String {
    switch type {
    case .u8, .char: "uint8"
    case .u16, .domid: "uint16"
    case .u32, .evtchnPort, .grantRef, .sid: "uint32"
    case .s32: "int32"
    case .u64, .handle: "uint64"
    case .s64: "int64"
    }
  }

  private var header: [String] {
    ["// \(GeneratedArtefacts.doNotEditNotice(source: source))", ""]
  }

  func render() -> String {
    let layouts = catalog.layoutsInOutputOrder
    var out = header
    out.append("// Package xsmabi holds the payloads of the proposed ABI's split ops:")
    out.append("// \(layouts.count) layouts, each a struct whose fields are the layout's, in order,")
    out.append("// at natural alignment with explicit reserved padding (no unions, sizes a")
    out.append("// multiple of 8, every request starting with Version). A handle is a uint64")
    out.append("// naming a guest buffer; the type's comment names its length field. Decode")
    out.append("// reads the first Size bytes (the rest of a request body is its buffer area);")
    out.append("// Encode writes Size bytes. Both are little-endian on any host. See docs/abi.md.")
    out.append("package xsmabi")
    out.append("")
    out.append("import (")
    out.append("\t\"encoding/binary\"")
    out.append("\t\"errors\"")
    out.append("\t\"fmt\"")
    out.append(")")
    out.append("")
    out.append("// ErrInvalid is the error every refusal but a wrong version wraps; the hypercall answers -EINVAL (22).")
    out.append("var ErrInvalid = errors.New(\"xsmabi: invalid payload\")")
    out.append("")
    out.append("// ErrVersion is the error a wrong request version wraps; the hypercall answers -ENOSYS (38),")
    out.append("// as Xen's flask_do_xsm_op answers a wrong interface_version.")
    out.append("var ErrVersion = errors.New(\"xsmabi: unsupported version\")")
    out.append("")
    out.append("func errShort(what string, got, want int) error {")
    out.append("\treturn fmt.Errorf(\"%w: %s needs %d bytes, got %d\", ErrInvalid, what, want, got)")
    out.append("}")
    out.append("")
    out.append("func errReserved(what, field string) error {")
    out.append("\treturn fmt.Errorf(\"%w: %s: reserved field %s is not zero\", ErrInvalid, what, field)")
    out.append("}")
    out.append("")
    out.append("func errVersion(what string, got, want uint32) error {")
    out.append("\treturn fmt.Errorf(\"%w: %s: version %d, expected %d\", ErrVersion, what, got, want)")
    out.append("}")
    for layout in layouts {
      out.append("")
      out += declaration(of: layout)
    }
    return out.joined(separator: "\n") + "\n"
  }

  private func declaration(of layout: PayloadLayout) -> [String] {
    let name = Self.typeName(layout)
    let what = "\(layout.op) \(layout.role.rawValue)"
    var out: [String] = []
    out.append("// \(name) is the \(what), version \(layout.version), \(layout.size) bytes"
      + " (\(catalog.relativeName(of: layout.span.file)) line \(layout.span.line)).")
    let notes = layout.fields.compactMap { field in LayoutComment.text(field).map { "\(Self.fieldName(field)): \($0)" } }
    if !notes.isEmpty {
      out.append("//")
      for note in notes { out.append("//   - \(note)") }
    }
    if layout.fields.isEmpty {
      out.append("type \(name) struct{}")
    } else {
      out.append("type \(name) struct {")
      let width = layout.fields.map { Self.fieldName($0).count }.max() ?? 0
      for field in layout.fields {
        let fieldName = Self.fieldName(field)
        let padding = String(repeating: " ", count: width - fieldName.count + 1)
        let type = Self.goType(field.type)
        out.append("\t\(fieldName)\(padding)\(field.count.map { "[\($0)]\(type)" } ?? type)")
      }
      out.append("}")
    }
    out.append("")
    out.append("// \(name)Version is the layout's version.")
    out.append("const \(name)Version = \(layout.version)")
    out.append("")
    out.append("// \(name)Size is the layout's size in bytes.")
    out.append("const \(name)Size = \(layout.size)")
    for field in layout.fields {
      for value in field.values {
        let constant = name + Self.fieldName(field) + OpIdentifier.upperCamel(value.name)
        out.append("")
        out.append("// \(constant) is the value \(value.name) of \(Self.fieldName(field)).")
        out.append("const \(constant) = \(value.value)")
      }
    }
    out.append("")
    out.append("// Decode reads the first \(name)Size bytes of b.")
    out.append("func (p *\(name)) Decode(b []byte) error {")
    out.append("\tif len(b) < \(name)Size {")
    out.append("\t\treturn errShort(\"\(what)\", len(b), \(name)Size)")
    out.append("\t}")
    for field in layout.fields {
      let target = "p.\(Self.fieldName(field))"
      if let count = field.count {
        out.append("\tfor i := 0; i < \(count); i++ {")
        out.append("\t\t\(target)[i] = \(load(field, at: "\(field.offset)+\(field.type.size)*i"))")
        out.append("\t}")
      } else {
        out.append("\t\(target) = \(load(field, at: String(field.offset)))")
      }
    }
    // The version before the reserved fields, as Xen checks interface_version first.
    if layout.role == .request {
      out.append("\tif p.Version != \(name)Version {")
      out.append("\t\treturn errVersion(\"\(what)\", p.Version, \(name)Version)")
      out.append("\t}")
    }
    out += reservedChecks(layout, what: what)
    out.append("\treturn nil")
    out.append("}")
    out.append("")
    out.append("// Encode writes \(name)Size bytes to the start of b and returns \(name)Size.")
    out.append("func (p *\(name)) Encode(b []byte) (int, error) {")
    out.append("\tif len(b) < \(name)Size {")
    out.append("\t\treturn 0, errShort(\"\(what)\", len(b), \(name)Size)")
    out.append("\t}")
    out += reservedChecks(layout, what: what, failure: "0, ")
    for field in layout.fields {
      let source = "p.\(Self.fieldName(field))"
      if let count = field.count {
        out.append("\tfor i := 0; i < \(count); i++ {")
        out.append("\t\t" + store(field, at: "\(field.offset)+\(field.type.size)*i", value: source + "[i]"))
        out.append("\t}")
      } else {
        out.append("\t" + store(field, at: String(field.offset), value: source))
      }
    }
    out.append("\treturn \(name)Size, nil")
    out.append("}")
    return out
  }

  private func load(_ field: PayloadField, at offset: String) -> String {
    let raw: String
    switch field.type.size {
    case 1: raw = "b[\(offset)]"
    default: raw = "binary.LittleEndian.Uint\(field.type.size * 8)(b[\(offset):])"
    }
    return field.type.isSigned ? "\(Self.goType(field.type))(\(raw))" : raw
  }

  private func store(_ field: PayloadField, at offset: String, value: String) -> String {
    let bits = field.type.size * 8
    let converted = field.type.isSigned ? "uint\(bits)(\(value))" : value
    if bits == 8 { return "b[\(offset)] = \(converted)" }
    return "binary.LittleEndian.PutUint\(bits)(b[\(offset):], \(converted))"
  }

  private func reservedChecks(_ layout: PayloadLayout, what: String, failure: String = "") -> [String] {
    var out: [String] = []
    for field in layout.fields where field.reserved {
      let target = "p.\(Self.fieldName(field))"
      let test = field.count.map { "\(target) != [\($0)]\(Self.goType(field.type)){}" } ?? "\(target) != 0"
      out.append("\tif \(test) {")
      out.append("\t\treturn \(failure)errReserved(\"\(what)\", \"\(field.name)\")")
      out.append("\t}")
    }
    return out
  }

  /// `xsmabi_test.go`: every offset and size checked with `unsafe`, an
  /// encode/decode round trip of each layout's zero value (version set), and
  /// refusals of a nonzero reserved field, a wrong version and short input.
  func renderTest() -> String {
    let layouts = catalog.layoutsInOutputOrder
    var out = header
    out.append("package xsmabi")
    out.append("")
    out.append("import (")
    out.append("\t\"errors\"")
    out.append("\t\"testing\"")
    out.append("\t\"unsafe\"")
    out.append(")")
    out.append("")
    out.append("func TestOffsetsAndSizes(t *testing.T) {")
    out.append("\tcases := []struct {")
    out.append("\t\tname string")
    out.append("\t\tgot  uintptr")
    out.append("\t\twant uintptr")
    out.append("\t}{")
    for layout in layouts {
      let name = Self.typeName(layout)
      let what = "\(layout.op) \(layout.role.rawValue)"
      out.append("\t\t{\"\(what) size\", unsafe.Sizeof(\(name){}), \(layout.size)},")
      for field in layout.fields {
        out.append("\t\t{\"\(what) \(field.name)\", unsafe.Offsetof(\(name){}.\(Self.fieldName(field))), \(field.offset)},")
      }
    }
    out.append("\t}")
    out.append("\tfor _, c := range cases {")
    out.append("\t\tif c.got != c.want {")
    out.append("\t\t\tt.Errorf(\"%s: %d, want %d\", c.name, c.got, c.want)")
    out.append("\t\t}")
    out.append("\t}")
    out.append("}")
    out.append("")
    out.append("func TestRoundTrips(t *testing.T) {")
    for layout in layouts {
      let name = Self.typeName(layout)
      out.append("\t{")
      out.append("\t\tvar v, w \(name)")
      if layout.role == .request { out.append("\t\tv.Version = \(name)Version") }
      out.append("\t\tb := make([]byte, \(name)Size)")
      out.append("\t\tif n, err := v.Encode(b); n != \(name)Size || err != nil {")
      out.append("\t\t\tt.Errorf(\"\(layout.op) \(layout.role.rawValue) encode: %d %v\", n, err)")
      out.append("\t\t}")
      out.append("\t\tif err := w.Decode(b); err != nil || w != v {")
      out.append("\t\t\tt.Errorf(\"\(layout.op) \(layout.role.rawValue) decode: %v\", err)")
      out.append("\t\t}")
      if let reserved = layout.fields.first(where: \.reserved) {
        out.append("\t\tb[\(reserved.offset)] = 1")
        out.append("\t\tif err := w.Decode(b); !errors.Is(err, ErrInvalid) {")
        out.append("\t\t\tt.Errorf(\"\(layout.op) \(layout.role.rawValue): nonzero \(reserved.name) decoded: %v\", err)")
        out.append("\t\t}")
        out.append("\t\tb[\(reserved.offset)] = 0")
      }
      if layout.role == .request {
        out.append("\t\tb[0] ^= 0x80")
        out.append("\t\tif err := w.Decode(b); !errors.Is(err, ErrVersion) {")
        out.append("\t\t\tt.Errorf(\"\(layout.op) \(layout.role.rawValue): wrong version decoded: %v\", err)")
        out.append("\t\t}")
      }
      if layout.size > 0 {
        out.append("\t\tif err := w.Decode(b[:\(layout.size - 1)]); !errors.Is(err, ErrInvalid) {")
        out.append("\t\t\tt.Errorf(\"\(layout.op) \(layout.role.rawValue): short input decoded: %v\", err)")
        out.append("\t\t}")
      }
      out.append("\t}")
    }
    out.append("}")
    return out.joined(separator: "\n") + "\n"
  }
}
