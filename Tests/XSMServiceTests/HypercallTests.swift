import Foundation
import Testing
import XSMCatalog
import XSMEngine
import XSMProtocol
import XSMTestSupport

@testable import XSMService

/// Builds request bodies and reads replies of the binary hypercall endpoint
/// by the catalog's layouts (docs/service.md, "Binary hypercall endpoint").
struct HypercallWire {
  static let catalog: OpCatalog = EmbeddedCatalog.load().0!

  /// The request layout of `op` with `values`, each input buffer placed in
  /// the buffer area in order, its handle and length field set.
  static func request(_ op: String, _ values: [String: UInt64] = [:], inputs: [(String, [UInt8])] = []) throws -> [UInt8] {
    let layout = try #require(catalog.layout(of: op, .request))
    var record = PayloadRecord(values.mapValues { [$0] })
    record["version"] = record["version"] ?? UInt64(layout.version)
    var area: [UInt8] = []
    for (name, bytes) in inputs {
      let handle = try #require(layout.field(named: name)?.handle)
      record[name] = UInt64(layout.size + area.count)
      record[handle.lengthField] = UInt64(bytes.count / handle.element.size)
      area += bytes
    }
    return try PayloadCodec(layout).encode(record) + area
  }

  /// A reply: ret, the reply layout's values (nil when nothing was written), each output buffer's bytes.
  struct Reply {
    var ret: Int32
    var record: PayloadRecord?
    var outputs: [String: [UInt8]]
  }

  static func reply(_ op: String, _ body: [UInt8]) throws -> Reply {
    try #require(body.count >= 8)
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(body[at + $1]) << (8 * $1) } }
    let ret = Int32(bitPattern: u32(0))
    let size = Int(u32(4))
    guard size > 0 else {
      #expect(body.count == 8, "nothing may follow an empty reply")
      return Reply(ret: ret, record: nil, outputs: [:])
    }
    let layout = try #require(catalog.layout(of: op, .reply))
    #expect(size == layout.size)
    let record = try PayloadCodec(layout).decode(Array(body[8..<(8 + size)]))
    var outputs: [String: [UInt8]] = [:]
    for field in layout.handles {
      guard let handle = field.handle, let offset = record[field.name], offset != 0,
        let count = record[handle.lengthField]
      else { continue }
      let end = Int(offset) + Int(count) * handle.element.size
      try #require(end <= body.count)
      outputs[field.name] = Array(body[Int(offset)..<end])
    }
    return Reply(ret: ret, record: record, outputs: outputs)
  }
}

extension FlaskService {
  /// Sends `body` to op `op` and reads the reply.
  func call(_ op: String, _ body: [UInt8], caller: String = "dom0") async throws -> HypercallWire.Reply {
    try HypercallWire.reply(op, try await hypercall(op, body: body, caller: Caller(caller)))
  }
}

@Suite("Binary hypercall endpoint")
struct HypercallTests {
  static let dom0Context = Array("system_u:system_r:dom0_t".utf8)

  /// FLASK_GETENFORCE, FLASK_POLICYVERS and FLASK_MLS answer their value as
  /// the hypercall result (do_flask_op) and in the reply layout.
  @Test func valuesReturnedAsResult() async throws {
    let service = try await defaultService()
    let enforce = try await service.call("flask.getenforce", HypercallWire.request("flask.getenforce"))
    #expect(enforce.ret == 1 && enforce.record?["enforcing"] == 1)
    let vers = try await service.call("flask.policyvers", HypercallWire.request("flask.policyvers"))
    #expect(vers.ret == 30 && vers.record?["policy_version"] == 30)
    let mls = try await service.call("flask.mls", HypercallWire.request("flask.mls"))
    #expect(mls.ret == 0 && mls.record?["mls_enabled"] == 0)
    let off = try await service.call("flask.setenforce", HypercallWire.request("flask.setenforce", ["enforcing": 0]))
    #expect(off.ret == 0 && off.record == nil)
    #expect(try service.getEnforce(caller: Caller("dom0")).enforcing == false)
  }

  /// context_to_sid, sid_to_context and access through the service's guards.
  @Test func contextsAndAccess() async throws {
    let service = try await defaultService()
    let toSID = try await service.call(
      "flask.context_to_sid", HypercallWire.request("flask.context_to_sid", inputs: [("context", Self.dom0Context)]))
    #expect(toSID.ret == 0)
    let sid = try #require(toSID.record?["sid"])
    let back = try await service.call(
      "flask.sid_to_context", HypercallWire.request("flask.sid_to_context", ["sid": sid, "size": 256]))
    #expect(back.ret == 0 && back.outputs["context"] == Self.dom0Context && back.record?["size"] == 24)
    // class domain (3): dom0_t holds getdomaininfo and more on itself; the vector is the JSON route's.
    let av = try await service.call(
      "flask.access", HypercallWire.request("flask.access", ["ssid": sid, "tsid": sid, "tclass": 3, "req": 2]))
    let json = try service.access(
      AccessRequestV1(ssid: UInt32(sid), tsid: UInt32(sid), tclass: .name("domain")), caller: Caller("dom0"))
    #expect(av.ret == 0 && av.record?["allowed"] == UInt64(json.allowed) && json.allowed != 0)
    #expect(av.record?["seqno"] == UInt64(json.sequence))
    // A guest holds no security permission: domain_has_security answers -EACCES (flask_security_access).
    let denied = try await service.call(
      "flask.access", HypercallWire.request("flask.access", ["ssid": sid, "tsid": sid, "tclass": 3]), caller: "web")
    #expect(denied.ret == XenErrno.eacces && denied.record == nil)
    // An unknown SID: security_compute_av answers -EINVAL.
    let unknown = try await service.call(
      "flask.access", HypercallWire.request("flask.access", ["ssid": 9999, "tsid": sid, "tclass": 3]))
    #expect(unknown.ret == XenErrno.einval)
  }

  /// flask_security_sid: a context longer than the buffer offered answers
  /// -ERANGE with the size it needs and copies nothing; capacity 0 too.
  @Test func outputCapacity() async throws {
    let service = try await defaultService()
    for capacity: UInt64 in [0, 23] {
      let r = try await service.call(
        "flask.sid_to_context", HypercallWire.request("flask.sid_to_context", ["sid": 1, "size": capacity]))
      #expect(r.ret == XenErrno.erange, "capacity \(capacity)")
      #expect(r.record?["size"] != nil && r.record?["size"] != 0 && r.record?["context"] == 0)
      #expect(r.outputs.isEmpty)
    }
    // flask_security_get_bool writes the name only when room is offered.
    let noName = try await service.call(
      "flask.getbool", HypercallWire.request("flask.getbool", ["bool_id": 0, "name_capacity": 0]))
    #expect(noName.ret == 0 && noName.outputs.isEmpty)
    let byName = try await service.call(
      "flask.getbool",
      HypercallWire.request(
        "flask.getbool", ["bool_id": 0xffff_ffff, "name_capacity": 64], inputs: [("name", Array("guest_writeconsole".utf8))]))
    #expect(byName.ret == 0 && byName.outputs["name_out"] == Array("guest_writeconsole".utf8))
    #expect(byName.record?["enforcing"] == 1)
  }

  /// Bodies that do not fit the layout answer Xen's errno in ret, never an
  /// HTTP error: copy_from_guest failing is -EFAULT, a wrong version
  /// -ENOSYS, a bad field -EINVAL (dom0 passes every guard).
  @Test(arguments: [
    ("access: empty body", [UInt8](), XenErrno.einval),
    ("access: short: 7 of 24 bytes", Array(try! HypercallWire.request("flask.access").prefix(7)), XenErrno.einval),
    ("access: long: a byte after a layout without buffers", try! HypercallWire.request("flask.access") + [0], XenErrno.einval),
    // flask_do_xsm_op: a wrong interface_version is -ENOSYS.
    ("access: bad version", try! HypercallWire.request("flask.access", ["version": 2]), XenErrno.enosys),
    ("access: reserved pad0 not zero", { var b = try! HypercallWire.request("flask.access"); b[20] = 1; return b }(), XenErrno.einval),
    ("context_to_sid: buffer past the body",
      try! HypercallWire.request("flask.context_to_sid", ["context": 16, "size": 10]), XenErrno.efault),
    ("context_to_sid: buffer inside the fixed part",
      try! HypercallWire.request("flask.context_to_sid", ["context": 0, "size": 4]) + [0, 0, 0, 0], XenErrno.efault),
    ("context_to_sid: offset near 2^64 (overflow)",
      try! HypercallWire.request("flask.context_to_sid", ["context": UInt64.max - 1, "size": 4]), XenErrno.efault),
    ("context_to_sid: bytes after the last buffer",
      try! HypercallWire.request("flask.context_to_sid", inputs: [("context", Array("a".utf8))]) + [7], XenErrno.einval),
    // safe_copy_string_from_guest (xen/lib/guest-strcpy.c): more than a page is -ENOBUFS before any copy.
    ("context_to_sid: context length 2^32-1", try! HypercallWire.request("flask.context_to_sid", ["context": 16, "size": 0xffff_ffff]),
      XenErrno.enobufs),
    // flask_security_load: over MAX_POLICY_SIZE (64 MiB) is -EINVAL.
    ("load: policy length 2^32-1", try! HypercallWire.request("flask.load", ["buffer": 16, "size": 0xffff_ffff]), XenErrno.einval),
    ("context_to_sid: text that is not UTF-8", try! HypercallWire.request("flask.context_to_sid", inputs: [("context", [0xff, 0xfe])]),
      XenErrno.einval),
    ("add_ocontext: ocon kind 9", try! HypercallWire.request("flask.add_ocontext", ["ocon": 9]), XenErrno.einval),
  ] as [(String, [UInt8], Int32)])
  func malformed(_ what: String, _ body: [UInt8], _ errno: Int32) async throws {
    let service = try await defaultService()
    // The op is the one the case's body was built for.
    let op = try #require(["flask.access", "flask.context_to_sid", "flask.load", "flask.add_ocontext"].first { op in
      what.hasPrefix(op.dropFirst(6) + ":")
    })
    let r = try await service.call(op, body)
    #expect(r.ret == errno, "\(what): \(op)")
    #expect(r.record == nil, "\(what): nothing is written back")
  }

  /// An op without layouts is an HTTP 404, not a hypercall error.
  @Test func unknownOp() async throws {
    let service = try await defaultService()
    await expectError(404, "hypercall.unknown-op") { () async throws(ServiceError) in
      _ = try await service.hypercall("flask.disable", body: [], caller: Caller("dom0"))
    }
    #expect(service.hypercallOps.count == 26)
  }

  /// xsmid.identity: module, enforcing, policy version, allow_unknown, flags.
  @Test func identity() async throws {
    let flask = try await defaultService()
    let id = try await flask.call("xsmid.identity", HypercallWire.request("xsmid.identity"))
    #expect(id.ret == 0)
    #expect(id.record?["module"] == 3 && id.record?["enforcing"] == 1 && id.record?["policy_version"] == 30)
    #expect(id.record?["allow_unknown"] == 0 && id.record?["flags"] == 1)
    let dummy = try await defaultService(module: .dummy)
    let d = try await dummy.call("xsmid.identity", HypercallWire.request("xsmid.identity"))
    #expect(d.record?["module"] == 1 && d.record?["enforcing"] == 2 && d.record?["allow_unknown"] == 2)
    #expect(d.record?["flags"] == 0 && d.record?["policy_version"] == 0)
    // Under dummy there is no flask_op: -ENOSYS, as the JSON routes' 501.
    let op = try await dummy.call("flask.getenforce", HypercallWire.request("flask.getenforce"))
    #expect(op.ret == XenErrno.enosys)
  }

  /// Random and mutated requests of every layout through the decoder
  /// (fixed seed): each is accepted or refused with -EINVAL, -ENOSYS,
  /// -EFAULT or -ENOBUFS, never a trap.
  @Test func decoderFuzz() throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    let layouts = HypercallWire.catalog.layouts.filter { $0.role == .request }
    var accepted = 0
    for i in 0..<4000 {
      let layout = layouts[i % layouts.count]
      var body = try HypercallWire.request(layout.op, inputs: layout.handles.compactMap {
        $0.handle?.direction == .in ? ($0.name, Array("ab".utf8)) : nil
      })
      switch next() % 4 {
      case 0: body = (0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
      case 1: for _ in 0..<(1 + next() % 4) where !body.isEmpty { body[Int(next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: next()) }
      case 2: body = Array(body.prefix(Int(next() % UInt64(body.count + 1))))
      default: body += (0..<Int(1 + next() % 8)).map { _ in UInt8(truncatingIfNeeded: next()) }
      }
      do {
        _ = try FlaskService.decodeHypercall(body, layout: layout)
        accepted += 1
      } catch {
        #expect([XenErrno.einval, XenErrno.enosys, XenErrno.efault, XenErrno.enobufs].contains(error.ret), "\(layout.op): \(error.ret)")
      }
    }
    #expect(accepted > 0)
  }
}
