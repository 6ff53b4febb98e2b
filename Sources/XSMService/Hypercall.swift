import XSMCatalog
import XSMEngine
import XSMProtocol

/// Negated errno values of Xen's public errno.h, as the binary hypercall
/// endpoint answers them in its `s32 ret`.
public enum XenErrno {
  public static let eperm: Int32 = -1, enoent: Int32 = -2, esrch: Int32 = -3, enomem: Int32 = -12
  public static let eacces: Int32 = -13, efault: Int32 = -14, ebusy: Int32 = -16, eexist: Int32 = -17
  public static let einval: Int32 = -22, efbig: Int32 = -27, enospc: Int32 = -28, erange: Int32 = -34
  public static let enosys: Int32 = -38, enobufs: Int32 = -105

  static let byName: [String: Int32] = [
    "-EPERM": eperm, "-ENOENT": enoent, "-ESRCH": esrch, "-ENOMEM": enomem, "-EACCES": eacces,
    "-EFAULT": efault, "-EBUSY": ebusy, "-EEXIST": eexist, "-EINVAL": einval, "-EFBIG": efbig,
    "-ENOSPC": enospc, "-ERANGE": erange, "-ENOSYS": enosys, "-ENOBUFS": enobufs,
  ]

  /// The number of an errno the service names (`-EACCES`), or nil.
  public static func value(of name: String) -> Int32? { byName[name] }
}

/// One answer of the binary endpoint (docs/service.md, "Binary hypercall
/// endpoint"): the hypercall's result and, when the op writes back, its
/// reply layout's values and the bytes of its output buffers.
struct HypercallAnswer {
  var ret: Int32
  var reply: PayloadRecord?
  /// Output handle name → the bytes written to its buffer.
  var output: [String: [UInt8]] = [:]

  static func failure(_ ret: Int32) -> HypercallAnswer { HypercallAnswer(ret: ret, reply: nil) }
}

/// A hypercall that fails with `ret` before or instead of reaching the service.
struct HypercallFailure: Error {
  var ret: Int32
}

/// A decoded request of the binary endpoint: its fields and its input buffers.
struct HypercallRequest {
  let record: PayloadRecord
  let inputs: [String: ArraySlice<UInt8>]

  func u32(_ name: String) -> UInt32 { UInt32(truncatingIfNeeded: record[name] ?? 0) }
  func u64(_ name: String) -> UInt64 { record[name] ?? 0 }

  /// An input buffer as text; bytes that are not UTF-8 answer -EINVAL (no
  /// context, boolean name or path of a policy has them). One trailing NUL
  /// is dropped, as C callers count it.
  func text(_ name: String) throws(HypercallFailure) -> String {
    var bytes = inputs[name] ?? []
    if bytes.last == 0 { bytes = bytes.dropLast() }
    guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
      throw HypercallFailure(ret: XenErrno.einval)
    }
    return text
  }
}

extension FlaskService {
  /// The ops the binary endpoint answers: the flask split ops and
  /// `xsmid.identity` with a request and a reply layout in the catalog.
  public var hypercallOps: [String] {
    core.catalog.layouts.filter { $0.role == .request }.map(\.op)
      .filter { Self.isHypercallOp($0) && core.catalog.layout(of: $0, .reply) != nil }
  }

  static func isHypercallOp(_ op: String) -> Bool { op.hasPrefix("flask.") || op == "xsmid.identity" }

  /// `POST /v1/hypercall/<module>/<op>`: `body` is the op's request layout
  /// followed by the buffer area (the wire convention of docs/service.md);
  /// the answer is the `s32 ret`, `u32 reply_size` preamble, the reply
  /// layout and the output buffers. A malformed body answers -EINVAL,
  /// -ENOSYS (wrong version), -EFAULT or -ENOBUFS in `ret` (buffers only
  /// after the op's guard passed); the op's own errors are those of the flask_op command
  /// the JSON routes run, as Xen's errno. Throws only for an op without
  /// layouts (404) and for faults of the service itself (5xx).
  public func hypercall(_ op: String, body: [UInt8], caller: Caller) async throws(ServiceError) -> [UInt8] {
    guard Self.isHypercallOp(op), let request = core.catalog.layout(of: op, .request),
      let reply = core.catalog.layout(of: op, .reply)
    else {
      throw ServiceError(404, "hypercall.unknown-op", "no payload layout for op `\(op)`")
    }
    let answer: HypercallAnswer
    do {
      // The fixed part first, as Xen's flask_do_xsm_op copies the op in and checks its version
      // before the command runs; then the command's guard before any buffer (guardBeforeBuffers).
      let record = try Self.decodeFixed(body, layout: request)
      do {
        let decoded = try Self.decodeBuffers(body, record: record, layout: request)
        answer = try await runHypercall(op, decoded, caller: caller)
      } catch let failure as HypercallFailure {
        try guardBeforeBuffers(op, record, caller: caller)
        throw failure
      }
    } catch let failure as HypercallFailure {
      answer = .failure(failure.ret)
    } catch let error as ServiceError {
      guard let ret = error.errno.flatMap(XenErrno.value(of:)) else {
        if error.code == "hypercall.unknown-op" { throw error }
        if error.status >= 500 { throw error }
        return Self.encodeHypercall(.failure(XenErrno.einval), layout: reply)
      }
      answer = .failure(ret)
    } catch {
      throw ServiceError(500, "internal", "\(error)")
    }
    return Self.encodeHypercall(answer, layout: reply)
  }

  /// The request's fields and input buffers, or the errno of the first
  /// fault (``decodeFixed(_:layout:)``, then ``decodeBuffers(_:record:layout:)``).
  static func decodeHypercall(_ body: [UInt8], layout: PayloadLayout) throws(HypercallFailure) -> HypercallRequest {
    try decodeBuffers(body, record: try decodeFixed(body, layout: layout), layout: layout)
  }

  /// The request layout's fields: a short body -EINVAL, a wrong version
  /// -ENOSYS (checked first, as flask_do_xsm_op answers a wrong
  /// interface_version), a nonzero reserved field -EINVAL
  /// (``PayloadCodec/decode(_:)``).
  static func decodeFixed(_ body: [UInt8], layout: PayloadLayout) throws(HypercallFailure) -> PayloadRecord {
    do {
      return try PayloadCodec(layout).decode(body)
    } catch {
      throw HypercallFailure(ret: error.errno)
    }
  }

  /// The input buffers the fields name: a length over the op's cap (see
  /// ``inputCap(_:)``); a buffer outside the buffer area -EFAULT; bytes
  /// after the last declared buffer -EINVAL.
  static func decodeBuffers(_ body: [UInt8], record: PayloadRecord, layout: PayloadLayout) throws(HypercallFailure)
    -> HypercallRequest
  {
    let codec = PayloadCodec(layout)
    var inputs: [String: ArraySlice<UInt8>] = [:]
    var end = layout.size
    for field in layout.handles {
      guard let handle = field.handle, handle.direction == .in else { continue }
      let count = record[handle.lengthField] ?? 0
      let cap = inputCap(layout.op)
      guard count <= UInt64(cap.bytes) else { throw HypercallFailure(ret: cap.errno) }
      // An empty buffer is copied from nowhere: copy_from_guest of 0 bytes cannot fault.
      guard count > 0 else {
        inputs[field.name] = []
        continue
      }
      do {
        let bytes = try codec.inputBuffer(field.name, of: record, in: body)
        inputs[field.name] = bytes
        end = max(end, bytes.endIndex)
      } catch {
        throw HypercallFailure(ret: error.errno)
      }
    }
    guard body.count == end else { throw HypercallFailure(ret: XenErrno.einval) }
    return HypercallRequest(record: record, inputs: inputs)
  }

  /// The largest input buffer an op copies in and the errno past it:
  /// flask_security_load refuses a policy over MAX_POLICY_SIZE with -EINVAL
  /// (xen/xsm/flask/flask_op.c); strings go through
  /// safe_copy_string_from_guest with PAGE_SIZE, which refuses more than a
  /// page with -ENOBUFS (xen/lib/guest-strcpy.c).
  static func inputCap(_ op: String) -> (bytes: Int, errno: Int32) {
    op == "flask.load" ? (maximumPolicySize, XenErrno.einval) : (4096, XenErrno.enobufs)
  }

  /// Checks the op's guard when its input is bad, so that a caller the
  /// policy refuses gets -EACCES whatever its buffers hold: each
  /// flask_security_* function with a buffer checks `domain_has_security`
  /// before copying it (flask_security_load, flask_security_context,
  /// flask_security_set_bool, flask_devicetree_label; flask_ocontext_add and
  /// _del before security_ocontext_add refuses the kind). FLASK_GETBOOL has
  /// no guard (flask_security_get_bool).
  func guardBeforeBuffers(_ op: String, _ record: PayloadRecord, caller: Caller) throws(ServiceError) {
    let command: String
    var situations: Set<String> = []
    switch op {
    case "flask.load", "flask.context_to_sid", "flask.setbool", "flask.add_ocontext", "flask.del_ocontext":
      command = String(op.dropFirst("flask.".count))
    case "flask.devicetree_label", "flask.devicetree_unlabel":
      command = "devicetree_label"
      // flask_devicetree_label: SID 0 removes the label, guarded by del_ocontext.
      if op == "flask.devicetree_unlabel" || record["sid"] == 0 { situations = ["remove"] }
    default:
      return
    }
    try core.checkGuard(command, situations: situations, caller: caller)
  }

  /// The reply body: preamble, the reply layout when written back, then the
  /// output buffers in the layout's order, each handle set to its offset
  /// from the start of the reply body.
  static func encodeHypercall(_ answer: HypercallAnswer, layout: PayloadLayout) -> [UInt8] {
    var fixed: [UInt8] = []
    var tail: [UInt8] = []
    if var record = answer.reply, layout.size > 0 {
      var offset = 8 + layout.size
      for field in layout.handles {
        guard let bytes = answer.output[field.name] else {
          record[field.name] = 0
          continue
        }
        record[field.name] = UInt64(offset)
        offset += bytes.count
        tail += bytes
      }
      // The service's values fit their fields; a misfit would be a bug, answered as -EINVAL with nothing written.
      if let bytes = try? PayloadCodec(layout).encode(record) {
        fixed = bytes
      } else {
        return encodeHypercall(.failure(XenErrno.einval), layout: layout)
      }
    }
    var out: [UInt8] = []
    out.reserveCapacity(8 + fixed.count + tail.count)
    let ret = answer.ret
    for b in 0..<4 { out.append(UInt8(truncatingIfNeeded: UInt32(bitPattern: ret) >> (8 * b))) }
    for b in 0..<4 { out.append(UInt8(truncatingIfNeeded: UInt32(fixed.count) >> (8 * b))) }
    return out + fixed + tail
  }

  /// An output buffer's bytes by Xen's rule (flask_security_sid,
  /// flask_security_get_bool): longer than the capacity offered → -ERANGE
  /// with the length it needs and nothing copied; else copied with its length.
  static func copyOut(_ bytes: [UInt8], capacity: UInt32, handle: String, length: String, into answer: inout HypercallAnswer) {
    answer.reply?[length] = UInt64(bytes.count)
    if bytes.count > Int(capacity) {
      answer.ret = XenErrno.erange
    } else {
      answer.output[handle] = bytes
    }
  }

  /// Runs one op through the same service methods the JSON routes call, so
  /// the caller's guard and every decision are theirs.
  func runHypercall(_ op: String, _ r: HypercallRequest, caller: Caller) async throws -> HypercallAnswer {
    // An output handle's capacity is its length field in the request.
    let capacity = r.u32
    func ok(_ values: [String: UInt64] = [:], ret: Int32 = 0) -> HypercallAnswer {
      HypercallAnswer(ret: ret, reply: PayloadRecord(values.mapValues { [$0] }))
    }
    func flag(_ b: Bool) -> UInt64 { b ? 1 : 0 }
    let transition: ComputeRequestV1 = ComputeRequestV1(ssid: r.u32("ssid"), tsid: r.u32("tsid"),
      tclass: .number(Int(r.u32("tclass"))))
    let kinds: [UInt32: String] = [1: "pirq", 2: "ioport", 3: "iomem", 4: "pcidevice"]
    switch op {
    case "xsmid.identity":
      return ok(Self.identityValues(identity()))
    case "flask.load":
      _ = try await load(Array(r.inputs["buffer"] ?? []), caller: caller)
      return ok()
    case "flask.getenforce":
      let on = try getEnforce(caller: caller).enforcing
      return ok(["enforcing": flag(on)], ret: on ? 1 : 0)
    case "flask.setenforce":
      _ = try await setEnforce(SetEnforceRequestV1(enforcing: r.u32("enforcing") != 0), caller: caller)
      return ok()
    case "flask.context_to_sid":
      let sid = try await contextToSID(ContextRequestV1(context: try r.text("context")), caller: caller).sid
      return ok(["sid": UInt64(sid)])
    case "flask.sid_to_context":
      let context = try sidToContext(SIDRequestV1(sid: r.u32("sid")), caller: caller).context
      var answer = ok()
      Self.copyOut(Array(context.utf8), capacity: capacity("size"), handle: "context", length: "size", into: &answer)
      return answer
    case "flask.access":
      // security_compute_av answers the whole vector; `req` selects nothing (flask_security_access).
      let av = try access(AccessRequestV1(ssid: r.u32("ssid"), tsid: r.u32("tsid"),
        tclass: .number(Int(r.u32("tclass")))), caller: caller)
      return ok(["allowed": UInt64(av.allowed), "audit_allow": UInt64(av.auditAllow),
        "audit_deny": UInt64(av.auditDeny), "seqno": UInt64(UInt32(truncatingIfNeeded: av.sequence))])
    case "flask.create": return ok(["newsid": UInt64(try await create(transition, caller: caller).sid)])
    case "flask.relabel": return ok(["newsid": UInt64(try await relabel(transition, caller: caller).sid)])
    case "flask.member": return ok(["newsid": UInt64(try await member(transition, caller: caller).sid)])
    case "flask.policyvers":
      let version = try policyVersion(caller: caller).version
      return ok(["policy_version": UInt64(version)], ret: Int32(version))
    case "flask.getbool":
      let b = try getBoolean(try booleanRef(r), caller: caller)
      var answer = ok(["bool_id": UInt64(b.id), "enforcing": flag(b.enforcing), "pending": flag(b.pending)])
      // Xen writes the name back only when the caller offers room for it (flask_security_get_bool).
      if capacity("name_capacity") > 0 {
        Self.copyOut(Array(b.name.utf8), capacity: capacity("name_capacity"), handle: "name_out",
          length: "name_length", into: &answer)
      }
      return answer
    case "flask.setbool":
      let ref = try booleanRef(r)
      let b = try await setBoolean(SetBooleanRequestV1(id: ref.id, name: ref.name, value: r.u32("new_value") != 0,
        commit: r.u32("commit") != 0), caller: caller)
      return ok(["bool_id": UInt64(b.id)])
    case "flask.commitbools":
      _ = try await commitBooleans(caller: caller)
      return ok()
    case "flask.mls":
      let isMLS = try mls(caller: caller).mls
      return ok(["mls_enabled": flag(isMLS)], ret: isMLS ? 1 : 0)
    case "flask.getavc_threshold":
      let t = try avcThreshold(caller: caller).threshold
      // flask_do_xsm_op returns the unsigned threshold as its int result, so above 2^31-1 it reads
      // as negative (FLASK_GETAVC_THRESHOLD, xen/xsm/flask/flask_op.c); the reply layout holds the u32.
      return ok(["threshold": UInt64(t)], ret: Int32(truncatingIfNeeded: t))
    case "flask.setavc_threshold":
      _ = try await setAVCThreshold(ThresholdRequestV1(threshold: Int(r.u32("threshold"))), caller: caller)
      return ok()
    case "flask.avc_hashstats":
      let h = try avcHashStats(caller: caller)
      return ok(["entries": UInt64(h.entries), "buckets_used": UInt64(h.bucketsUsed),
        "buckets_total": UInt64(h.bucketsTotal), "max_chain_len": UInt64(h.maxChainLength)])
    case "flask.avc_cachestats":
      let c = try avcCacheStats(cpu: Int(r.u32("cpu")), caller: caller)
      return ok(["lookups": c.lookups, "hits": c.hits, "misses": c.misses, "allocations": c.allocations,
        "reclaims": c.reclaims, "frees": c.frees].mapValues { UInt64(UInt32(truncatingIfNeeded: $0)) })
    case "flask.add_ocontext", "flask.del_ocontext":
      guard let kind = kinds[r.u32("ocon")] else { throw HypercallFailure(ret: XenErrno.einval) }
      let add = op == "flask.add_ocontext"
      let request = OcontextRequestV1(kind: kind, sid: add ? r.u32("sid") : nil, low: r.u64("low"), high: r.u64("high"))
      _ = add ? try await addOcontext(request, caller: caller) : try await delOcontext(request, caller: caller)
      return ok()
    case "flask.get_peer_sid":
      return ok(["sid": UInt64(try peerSID(PeerSIDRequestV1(port: Int(r.u32("evtchn"))), caller: caller).sid)])
    case "flask.relabel_domain", "flask.relabel_self":
      let domid: Int? = op == "flask.relabel_self" ? nil : Int(r.u32("domid"))
      _ = try await relabelDomain(RelabelDomainRequestV1(domid: domid, sid: r.u32("sid")), caller: caller)
      return ok()
    case "flask.devicetree_label", "flask.devicetree_unlabel":
      let sid = op == "flask.devicetree_label" ? r.u32("sid") : 0
      _ = try await deviceTreeLabel(DeviceTreeLabelRequestV1(sid: sid, path: try r.text("path")), caller: caller)
      return ok()
    default:
      throw ServiceError(404, "hypercall.unknown-op", "the binary endpoint does not run `\(op)`")
    }
  }

  /// FLASK_GETBOOL / FLASK_SETBOOL's boolean: by id, or by the name buffer
  /// when bool_id is -1 (flask_security_resolve_bool).
  func booleanRef(_ r: HypercallRequest) throws(HypercallFailure) -> BooleanRefV1 {
    let id = r.u32("bool_id")
    return id == UInt32.max ? BooleanRefV1(name: try r.text("name")) : BooleanRefV1(id: Int(id))
  }

  /// The `xsmid.identity` reply's values (policy/ops/layouts/xsmid.ops).
  /// Under dummy and silo no flask policy is in force: enforcing and
  /// allow_unknown are not_applicable (2), the policy version and flags 0.
  static func identityValues(_ id: IdentityV1) -> [String: UInt64] {
    let module: UInt64 = switch id.module {
    case .dummy: 1
    case .silo: 2
    case .flask: 3
    }
    guard id.module == .flask, let version = id.policyVersion else {
      return ["module": module, "enforcing": 2, "policy_version": 0, "allow_unknown": 2, "flags": 0]
    }
    return ["module": module, "enforcing": id.enforcing == true ? 1 : 0, "policy_version": UInt64(version),
      "allow_unknown": id.handleUnknown == "allow" ? 1 : 0, "flags": 1 | (id.mls == true ? 2 : 0)]
  }
}
