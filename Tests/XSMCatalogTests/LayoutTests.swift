import Testing
import XSMCatalog
import XSMDiagnostics

/// The tiny catalog with a request and a reply layout for its split op.
let layoutCatalog = tinyCatalog + """
    layout domrun.pause request version 1 size 24
      field     0 u32    version
      field     4 domid  domid
      reserved  6 u16    pad0
      field     8 u32    name_size
      reserved 12 u32    pad1
      field    16 handle name in name_size of char
    layout domrun.pause reply version 2 size 8
      field     0 u32    state values running=0 paused=1
      reserved  4 u32    pad0

  """

@Suite("Payload layouts")
struct LayoutTests {
  @Test func layoutsLoadWithOffsetsAndHandles() throws {
    let (catalog, diagnostics, _) = loadMarked(layoutCatalog)
    #expect(!diagnostics.hasErrors, "\(diagnostics.items.map { "\($0.span?.description ?? ""): \($0.message)" })")
    let c = try #require(catalog)
    let request = try #require(c.layout(of: "domrun.pause", .request))
    #expect(request.version == 1 && request.size == 24)
    #expect(request.fields.map(\.name) == ["version", "domid", "pad0", "name_size", "pad1", "name"])
    #expect(request.fields.map(\.offset) == [0, 4, 6, 8, 12, 16])
    #expect(request.fields.filter(\.reserved).map(\.name) == ["pad0", "pad1"])
    let name = try #require(request.field(named: "name"))
    #expect(name.handle == PayloadHandle(direction: .in, lengthField: "name_size", element: .char))
    let reply = try #require(c.layout(of: "domrun.pause", .reply))
    #expect(reply.version == 2 && reply.fields.first?.values.map(\.name) == ["running", "paused"])
  }

  /// Each case: an edit of `layoutCatalog`, the id it must raise, and (with 1️⃣) where.
  static let cases: [(name: String, id: String, original: String, replacement: String)] = [
    ("unknown type", "catalog.layout-unknown-type", "field     4 domid  domid", "field     4 1️⃣domain  domid"),
    ("misaligned", "catalog.layout-misaligned", "field     8 u32    name_size\n    reserved 12 u32    pad1",
      "field     1️⃣10 u32    name_size\n    reserved 14 u16    pad1"),
    ("hole", "catalog.layout-hole", "    reserved  6 u16    pad0\n    field     8 u32    name_size",
      "    field     1️⃣8 u32    name_size"),
    ("overlap", "catalog.layout-overlap", "reserved  6 u16    pad0", "reserved  1️⃣4 u16    pad0"),
    ("name twice", "catalog.layout-overlap", "reserved 12 u32    pad1", "reserved 12 u32    1️⃣pad0"),
    ("size", "catalog.layout-size", "reply version 2 size 8", "reply version 2 size 1️⃣16"),
    ("size not a multiple of 8", "catalog.layout-size",
      "reply version 2 size 8\n    field     0 u32    state values running=0 paused=1\n    reserved  4 u32    pad0\n",
      "reply version 2 size 1️⃣4\n    field     0 u32    state values running=0 paused=1\n"),
    ("handle without length", "catalog.layout-buffer-without-length", "name in name_size of char", "name 1️⃣of char"),
    ("length field missing", "catalog.layout-buffer-without-length", "name in name_size of char", "name in 1️⃣name_len of char"),
    ("length field not u32", "catalog.layout-buffer-without-length", "name in name_size of char", "name in 1️⃣domid of char"),
    ("reserved handle", "catalog.layout-reserved-type", "reserved 12 u32    pad1",
      "reserved 12 u32    pad1\n    reserved 16 1️⃣handle pad2"),
    ("reserved sid", "catalog.layout-reserved-type", "reserved  4 u32    pad0", "reserved  4 1️⃣sid    pad0"),
    ("request without version", "catalog.layout-version", "field     0 u32    version", "field     1️⃣0 u32    vers"),
    ("reply with version", "catalog.layout-version", "field     0 u32    state", "field     1️⃣0 u32    version"),
    ("layout of a legacy op", "catalog.layout-op", "layout domrun.pause reply", "layout 1️⃣domctl.pausedomain reply"),
    ("layout given twice", "catalog.layout-op", "  layout domrun.pause reply version 2 size 8\n",
      "  layout domrun.pause reply version 2 size 0\n  layout 1️⃣domrun.pause reply version 2 size 8\n"),
    ("bad field line", "catalog.bad-layout", "field     4 domid  domid", "field     1️⃣four domid  domid"),
    ("variable array", "catalog.bad-layout", "reserved  6 u16    pad0", "reserved  6 u8     1️⃣pad0[name_size]"),
    ("op key in a layout", "catalog.bad-layout", "    reserved  4 u32    pad0\n", "    reserved  4 u32    pad0\n    1️⃣summary x\n"),
    ("bad header", "catalog.bad-layout", "layout domrun.pause reply version 2", "layout domrun.pause 1️⃣answer version 2"),
  ]

  @Test(arguments: cases.map(\.name))
  func brokenRuleIsLocated(_ name: String) throws {
    let c = Self.cases.first { $0.name == name }!
    #expect(layoutCatalog.contains(c.original), "the case must edit the layout catalog")
    let (catalog, diagnostics, marked) = loadMarked(layoutCatalog.replacingOccurrences(of: c.original, with: c.replacement))
    #expect(catalog == nil, "a catalog with errors is not returned")
    let errors = diagnostics.items.filter { $0.severity == .error }
    let at = try #require(marked)
    let match = try #require(errors.first { $0.id.rawValue == c.id && $0.span?.line == at.line }
      ?? errors.first { $0.id.rawValue == c.id }, "expected \(c.id), got \(errors.map { "\($0.id): \($0.message)" })")
    #expect(match.span?.line == at.line && match.span?.column == at.column, "\(c.id) at \(match.span?.description ?? "-"), expected \(at)")
    #expect(match.sourceLine != nil)
  }

  @Test func missingHalfIsAnError() throws {
    let reply = "  layout domrun.pause reply version 2 size 8\n    field     0 u32    state values running=0 paused=1\n"
      + "    reserved  4 u32    pad0\n"
    #expect(layoutCatalog.contains(reply))
    let text = layoutCatalog.replacingOccurrences(of: reply, with: "")
      .replacingOccurrences(of: "layout domrun.pause request", with: "layout 1️⃣domrun.pause request")
    let (catalog, diagnostics, marked) = loadMarked(text)
    #expect(catalog == nil)
    let d = try #require(diagnostics.items.first { $0.id == .catalog.layoutOp })
    #expect(d.message.contains("no reply layout"))
    #expect(d.span?.line == marked?.line && d.span?.column == marked?.column)
  }
}

@Suite("Payload layouts of the project catalog")
struct ProjectLayoutTests {
  /// Every flask split op and xsmid.identity has a request and a reply.
  @Test func everyFlaskOpHasItsLayouts() throws {
    let catalog = try loadProjectCatalog()
    let ops = catalog.splitOps.filter { $0.family == "flask" }.map(\.name) + ["xsmid.identity"]
    #expect(ops.count == 26)
    for op in ops {
      #expect(catalog.layout(of: op, .request) != nil, "\(op) has no request layout")
      #expect(catalog.layout(of: op, .reply) != nil, "\(op) has no reply layout")
    }
  }

  @Test func codecRoundTripsARequestAndReadsItsBuffer() throws {
    let layout = try #require(try loadProjectCatalog().layout(of: "flask.context_to_sid", .request))
    let codec = PayloadCodec(layout)
    let context = Array("system_u:system_r:domU_t".utf8)
    var record = PayloadRecord()
    record["version"] = 1
    record["size"] = UInt64(context.count)
    record["context"] = UInt64(layout.size)
    let body = try codec.encode(record) + context
    #expect(Array(body.prefix(8)) == [1, 0, 0, 0, UInt8(context.count), 0, 0, 0])
    let decoded = try codec.decode(body)
    #expect(decoded == record)
    #expect(Array(try codec.inputBuffer("context", of: decoded, in: body)) == context)
    // The buffer must lie in the buffer area: not over the fixed part, not past the end.
    var inside = decoded
    inside["context"] = 4
    #expect(throws: PayloadError.badBuffer(field: "context")) { try codec.inputBuffer("context", of: inside, in: body) }
    var long = decoded
    long["size"] = UInt64(context.count + 1)
    let error = #expect(throws: PayloadError.self) { try codec.inputBuffer("context", of: long, in: body) }
    #expect(error?.errno == -14)
  }

  @Test func codecRefusesWhatXenRefuses() throws {
    let catalog = try loadProjectCatalog()
    let codec = PayloadCodec(try #require(catalog.layout(of: "flask.access", .request)))
    var bytes = try codec.encode(PayloadRecord(["version": [1], "ssid": [2], "tsid": [3], "tclass": [4], "req": [5]]))
    #expect(bytes.count == 24)
    #expect(throws: PayloadError.short(layout: 24, got: 23)) { try codec.decode(Array(bytes.dropLast())) }
    bytes[21] = 1
    let reserved = #expect(throws: PayloadError.self) { try codec.decode(bytes) }
    #expect(reserved == .reservedNotZero(field: "pad0") && reserved?.errno == -22)
    // A wrong version is -ENOSYS and is found before a reserved field, as Xen's
    // flask_do_xsm_op (xen/xsm/flask/flask_op.c) checks interface_version right after the copy-in.
    bytes[0] = 2
    let version = #expect(throws: PayloadError.self) { try codec.decode(bytes) }
    #expect(version == .wrongVersion(expected: 1, got: 2) && version?.errno == -38)
    bytes[21] = 0
    #expect(throws: PayloadError.badValue(field: "ssid")) { try codec.encode(PayloadRecord(["ssid": [1 << 32]])) }
    #expect(throws: PayloadError.badValue(field: "nope")) { try codec.encode(PayloadRecord(["nope": [1]])) }
    #expect(throws: PayloadError.reservedNotZero(field: "pad0")) { try codec.encode(PayloadRecord(["pad0": [1]])) }
  }

  @Test func identityReplyStatesItsModules() throws {
    let reply = try #require(try loadProjectCatalog().layout(of: "xsmid.identity", .reply))
    let module = try #require(reply.field(named: "module"))
    #expect(module.values.map(\.name) == ["dummy", "silo", "flask"] && module.values.map(\.value) == [1, 2, 3])
    #expect(reply.size == 24 && reply.field(named: "version") == nil)
  }
}
