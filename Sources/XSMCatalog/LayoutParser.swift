import XSMDiagnostics

/// A `layout` block as parsed, with the spans its end-of-block checks and
/// the linker point at.
struct ParsedLayout {
  var layout: PayloadLayout
  var opSpan: SourceSpan
  var sizeSpan: SourceSpan
  /// Each handle's length word, by handle name.
  var lengthSpans: [String: SourceSpan] = [:]
}

/// `layout` blocks (docs/catalog-format.md, *Payload layouts*): the header,
/// `field` and `reserved` lines, and every layout rule that one block can
/// break. Fields are checked as they come, against the end of the field
/// before, so each error points at the line that breaks the rule.
extension CatalogParser {
  static let layoutShape = "a layout is written `layout OP request|reply version N size BYTES`"
  static let fieldShape = "a field is written `field OFFSET TYPE NAME[COUNT] [in|out LENGTH [of TYPE]] [values NAME=N...]`"

  /// `layout OP request|reply version N size BYTES`
  mutating func layoutHeader(_ args: [CatalogWord], keySpan: SourceSpan, lineNumber: Int) -> ParsedLayout? {
    guard args.count == 6, args[2].text == "version", args[4].text == "size" else {
      error(.catalog.badLayout, Self.layoutShape, args.first.map { span(lineNumber, $0) } ?? keySpan,
        help: "for example `layout flask.setenforce request version 1 size 8`")
      return nil
    }
    guard Self.isOpName(args[0].text) else {
      error(.catalog.badName, "`\(args[0].text)` is not an op name", span(lineNumber, args[0]))
      return nil
    }
    guard let role = PayloadRole(rawValue: args[1].text) else {
      error(.catalog.badLayout, "a layout is a `request` or a `reply`, not `\(args[1].text)`", span(lineNumber, args[1]))
      return nil
    }
    for word in [args[3], args[5]] where Self.number(word.text) == nil {
      error(.catalog.badNumber, "`\(word.text)` is not a number", span(lineNumber, word))
      return nil
    }
    let layout = PayloadLayout(op: args[0].text, role: role, version: Self.number(args[3].text)!,
      size: Self.number(args[5].text)!, fields: [], span: span(lineNumber, args[0]).merged(with: span(lineNumber, args[1])))
    return ParsedLayout(layout: layout, opSpan: span(lineNumber, args[0]), sizeSpan: span(lineNumber, args[5]))
  }

  /// A line inside a `layout` block.
  mutating func layoutLine(_ key: String, _ args: [CatalogWord], keySpan: SourceSpan, lineNumber: Int) {
    guard var parsed = currentLayout.take() else { return }
    defer { currentLayout = parsed }
    guard key == "field" || key == "reserved" else {
      return error(.catalog.badLayout, "`\(key)` is not a key of a `layout` block", keySpan,
        help: "a layout block holds `field` and `reserved` lines; start an op with `op` or `split`")
    }
    guard args.count >= 3, let offset = Self.number(args[0].text) else {
      return error(.catalog.badLayout, key == "field" ? Self.fieldShape : "padding is written `reserved OFFSET TYPE NAME[COUNT]`",
        args.first.map { span(lineNumber, $0) } ?? keySpan, help: "for example `\(key) 4 u32 \(key == "field" ? "enforcing" : "pad0")`")
    }
    let typeWord = args[1]
    guard let type = PayloadType(rawValue: typeWord.text) else {
      let names = PayloadType.allCases.map(\.rawValue)
      let hint = Suggestion.closest(to: typeWord.text, in: names).map { "did you mean `\($0)`?" }
      return error(.catalog.layoutUnknownType, "unknown payload type `\(typeWord.text)`", span(lineNumber, typeWord),
        help: hint ?? "types: " + names.joined(separator: " "))
    }
    guard let (name, count) = fieldName(args[2], lineNumber: lineNumber) else { return }
    if key == "reserved" && !type.isZeroable {
      return error(.catalog.layoutReservedType,
        "reserved field `\(name)` is a `\(type.rawValue)`; padding is an unsigned integer that must be zero",
        span(lineNumber, typeWord), help: "use u8, u16, u32 or u64 (an array for odd sizes: `reserved 5 u8 pad[3]`)")
    }
    var field = PayloadField(name: name, type: type, offset: offset, count: count, reserved: key == "reserved",
      span: span(lineNumber, args[0]).merged(with: span(lineNumber, args[2])))
    var rest = Array(args.dropFirst(3))
    if type == .handle {
      guard count == nil else {
        return error(.catalog.badLayout, "a handle cannot be an array", span(lineNumber, args[2]),
          help: "one handle names one buffer; the buffer holds the elements")
      }
      guard key == "field", rest.count >= 2, let direction = HandleDirection(rawValue: rest[0].text) else {
        return error(.catalog.layoutBufferWithoutLength,
          "handle `\(name)` needs its direction and length field: `in|out LENGTH`",
          rest.first.map { span(lineNumber, $0) } ?? span(lineNumber, args[2]),
          help: "every reference names the u32 field holding its length, so the buffer can be audited")
      }
      var handle = PayloadHandle(direction: direction, lengthField: rest[1].text, element: .u8)
      parsed.lengthSpans[name] = span(lineNumber, rest[1])
      rest.removeFirst(2)
      if let of = rest.first, of.text == "of" {
        guard rest.count >= 2, let element = PayloadType(rawValue: rest[1].text), element != .handle else {
          return error(.catalog.layoutUnknownType, "`of` needs the buffer's element type",
            span(lineNumber, rest.count >= 2 ? rest[1] : of), help: "for example `of char` for text")
        }
        handle.element = element
        rest.removeFirst(2)
      }
      field.handle = handle
    }
    if let word = rest.first, word.text == "values", key == "field" {
      rest.removeFirst()
      while let pair = rest.first, let value = namedValue(pair.text) {
        field.values.append(value)
        rest.removeFirst()
      }
    }
    if let word = rest.first {
      return error(.catalog.badLayout, "unexpected `\(word.text)` in a `\(key)` line", span(lineNumber, word),
        help: key == "field" ? Self.fieldShape : "padding takes no direction, length or values")
    }
    checkPlacement(of: field, in: parsed.layout, offsetSpan: span(lineNumber, args[0]), nameSpan: span(lineNumber, args[2]))
    parsed.layout.fields.append(field)
  }

  /// `name` or `name[N]`.
  private mutating func fieldName(_ word: CatalogWord, lineNumber: Int) -> (String, Int?)? {
    var name = word.text
    var count: Int?
    if let open = name.firstIndex(of: "[") {
      let inside = name[name.index(after: open)...]
      guard inside.hasSuffix("]"), let n = Self.number(String(inside.dropLast())), n > 0 else {
        error(.catalog.badLayout, "`\(word.text)` is not `NAME[COUNT]` with a fixed count", span(lineNumber, word),
          help: "a layout has a fixed size: an array whose length varies goes behind a `handle` with its length field")
        return nil
      }
      count = n
      name = String(name[..<open])
    }
    guard Self.isConditionName(name), name.first?.isLetter == true else {
      error(.catalog.badLayout, "`\(name)` is not a field name", span(lineNumber, word),
        help: "field names are lower-case words: `enforcing`, `bool_id`")
      return nil
    }
    return (name, count)
  }

  /// `NAME=NUMBER`.
  private func namedValue(_ text: String) -> PayloadValueName? {
    let parts = text.split(separator: "=", omittingEmptySubsequences: false)
    guard parts.count == 2, Self.isConditionName(String(parts[0])), let n = Self.number(String(parts[1])), n >= 0
    else { return nil }
    return PayloadValueName(name: String(parts[0]), value: UInt64(n))
  }

  /// Alignment, then overlap, then hole, against the field before; a name used twice.
  private mutating func checkPlacement(
    of field: PayloadField, in layout: PayloadLayout, offsetSpan: SourceSpan, nameSpan: SourceSpan
  ) {
    let end = layout.fields.last?.end ?? 0
    if field.offset % field.type.size != 0 {
      error(.catalog.layoutMisaligned,
        "`\(field.name)` (\(field.type.rawValue)) at offset \(field.offset) is not aligned to \(field.type.size) bytes",
        offsetSpan, help: "every field sits at a multiple of its size; put a `reserved` field before it")
    } else if let previous = layout.fields.last, field.offset < end {
      error(.catalog.layoutOverlap,
        "`\(field.name)` at offset \(field.offset) overlaps `\(previous.name)` (bytes \(previous.offset)..<\(end))",
        offsetSpan, help: "no unions: fields follow one another; the next free offset is \(end)")
    } else if field.offset > end {
      error(.catalog.layoutHole, "bytes \(end)..<\(field.offset) before `\(field.name)` belong to no field", offsetSpan,
        help: "padding is explicit: add `\(Self.padding(end, field.offset))`")
    }
    if let twin = layout.fields.first(where: { $0.name == field.name }) {
      error(.catalog.layoutOverlap, "field `\(field.name)` is named twice (first at offset \(twin.offset))", nameSpan,
        help: "no unions: one name, one field")
    }
  }

  /// The `reserved` line that fills `start..<end`, for help texts.
  static func padding(_ start: Int, _ end: Int) -> String {
    let gap = end - start
    for type in [PayloadType.u64, .u32, .u16] where gap == type.size && start % type.size == 0 {
      return "reserved \(start) \(type.rawValue) pad"
    }
    return "reserved \(start) u8 pad[\(gap)]"
  }

  /// The rules that need the whole block: size, version, handle lengths.
  mutating func finishLayout(_ parsed: ParsedLayout) {
    var layout = parsed.layout
    let end = layout.fields.map(\.end).max() ?? 0
    if layout.size != end {
      error(.catalog.layoutSize, "`\(layout.op)` \(layout.role.rawValue) states size \(layout.size) but its fields end at \(end)",
        parsed.sizeSpan, help: "the size is the end of the last field; trailing padding is a `reserved` field")
    } else if layout.size % 8 != 0 {
      error(.catalog.layoutSize, "`\(layout.op)` \(layout.role.rawValue) is \(layout.size) bytes, not a multiple of 8",
        parsed.sizeSpan, help: "add `\(Self.padding(end, (end + 7) / 8 * 8))` at the end")
    }
    let first = layout.fields.first
    switch layout.role {
    case .request:
      if !(first?.name == "version" && first?.type == .u32 && first?.offset == 0 && first?.reserved == false) {
        error(.catalog.layoutVersion, "the `\(layout.op)` request does not start with `field 0 u32 version`",
          first?.span ?? layout.span, help: "every request starts with the layout's version, which the op checks")
      }
    case .reply:
      if let version = layout.field(named: "version") {
        error(.catalog.layoutVersion, "the `\(layout.op)` reply has a `version` field", version.span,
          help: "the request fixed the version; a reply carries none")
      }
    }
    for field in layout.handles {
      guard let handle = field.handle else { continue }
      let at = parsed.lengthSpans[field.name] ?? field.span
      guard let length = layout.field(named: handle.lengthField) else {
        error(.catalog.layoutBufferWithoutLength, "handle `\(field.name)` names length field `\(handle.lengthField)`, which the layout lacks",
          at, help: "declare `field OFFSET u32 \(handle.lengthField)` in the same layout")
        continue
      }
      if length.type != .u32 || length.count != nil || length.reserved {
        error(.catalog.layoutBufferWithoutLength,
          "length field `\(length.name)` of handle `\(field.name)` is not a plain u32", at,
          help: "a buffer's length is one `u32` field")
      }
    }
    layout.fields.sort { $0.offset < $1.offset }
    layouts.append(ParsedLayout(layout: layout, opSpan: parsed.opSpan, sizeSpan: parsed.sizeSpan,
      lengthSpans: parsed.lengthSpans))
  }
}
