import Testing
import XSMProtocol

@testable import XSMService

/// The binary endpoint and the JSON routes answer as Xen's
/// xen/xsm/flask/flask_op.c does where the two once differed; each case
/// names the Xen function it follows.
@Suite("Hypercall errors as Xen's flask_op.c")
struct HypercallXenErrnoTests {
  /// flask_do_xsm_op: a wrong interface_version is -ENOSYS, checked right
  /// after the op is copied in, so before the guard and before a reserved field.
  @Test func wrongVersionIsENOSYS() async throws {
    let service = try await defaultService()
    var body = try HypercallWire.request("flask.access", ["version": 2])
    #expect(try await service.call("flask.access", body).ret == XenErrno.enosys)
    body[20] = 1  // reserved pad0 as well: the version is found first
    #expect(try await service.call("flask.access", body).ret == XenErrno.enosys)
    // A guest the guard refuses still learns of the version first.
    let guest = try await service.call("flask.load", HypercallWire.request("flask.load", ["version": 7]), caller: "web")
    #expect(guest.ret == XenErrno.enosys && guest.record == nil)
  }

  /// flask_security_load, flask_security_context, flask_security_set_bool
  /// and flask_devicetree_label check domain_has_security before they copy a
  /// buffer: a guest without the permission gets -EACCES whatever its buffers
  /// hold. flask_security_get_bool has no guard, so its bad buffer is -EFAULT.
  @Test(arguments: [
    ("flask.context_to_sid", try! HypercallWire.request("flask.context_to_sid", ["context": 16, "size": 10])),
    ("flask.context_to_sid", try! HypercallWire.request("flask.context_to_sid", ["context": 16, "size": 0xffff_ffff])),
    ("flask.context_to_sid", try! HypercallWire.request("flask.context_to_sid", inputs: [("context", [0xff, 0xfe])])),
    ("flask.context_to_sid", try! HypercallWire.request("flask.context_to_sid", inputs: [("context", [0x61])]) + [7]),
    ("flask.load", try! HypercallWire.request("flask.load", ["buffer": 16, "size": 0xffff_ffff])),
    ("flask.load", try! HypercallWire.request("flask.load", ["buffer": 0, "size": 8])),
    ("flask.setbool", try! HypercallWire.request("flask.setbool", ["bool_id": 0xffff_ffff, "name": 99, "name_size": 4])),
    ("flask.devicetree_label", try! HypercallWire.request("flask.devicetree_label", ["sid": 1, "path": 99, "length": 4])),
    ("flask.devicetree_unlabel", try! HypercallWire.request("flask.devicetree_unlabel", ["path": 99, "length": 4])),
    ("flask.add_ocontext", try! HypercallWire.request("flask.add_ocontext", ["ocon": 9])),
  ] as [(String, [UInt8])])
  func guardBeforeBuffers(_ op: String, _ body: [UInt8]) async throws {
    let service = try await defaultService()
    let guest = try await service.call(op, body, caller: "web")
    #expect(guest.ret == XenErrno.eacces && guest.record == nil, "\(op) as web: \(guest.ret)")
    // dom0 holds the permission, so its bad input is refused for what it is.
    let dom0 = try await service.call(op, body)
    #expect(dom0.ret != 0 && dom0.ret != XenErrno.eacces, "\(op) as dom0: \(dom0.ret)")
  }

  /// flask_security_get_bool checks no permission: a guest's bad name buffer is -EFAULT.
  @Test func getboolHasNoGuard() async throws {
    let service = try await defaultService()
    let body = try HypercallWire.request("flask.getbool", ["bool_id": 0xffff_ffff, "name": 99, "name_size": 4])
    #expect(try await service.call("flask.getbool", body, caller: "web").ret == XenErrno.efault)
  }

  /// flask_security_setavc_threshold takes any uint32_t, 0 included, and
  /// FLASK_GETAVC_THRESHOLD returns the unsigned threshold as flask_do_xsm_op's
  /// int result: above 2^31-1 it reads as negative.
  @Test func avcThresholdAsXen() async throws {
    let service = try await defaultService()
    let zero = try await service.call("flask.setavc_threshold", HypercallWire.request("flask.setavc_threshold", ["threshold": 0]))
    #expect(zero.ret == 0)
    #expect(try service.avcThreshold(caller: Caller("dom0")).threshold == 0)
    let get0 = try await service.call("flask.getavc_threshold", HypercallWire.request("flask.getavc_threshold"))
    #expect(get0.ret == 0 && get0.record?["threshold"] == 0)
    let big: UInt64 = 0x8000_0005
    let set = try await service.call("flask.setavc_threshold", HypercallWire.request("flask.setavc_threshold", ["threshold": big]))
    #expect(set.ret == 0)
    let get = try await service.call("flask.getavc_threshold", HypercallWire.request("flask.getavc_threshold"))
    #expect(get.ret == Int32(bitPattern: 0x8000_0005) && get.record?["threshold"] == big)
    // The JSON route takes the same range and refuses what no uint32_t holds.
    _ = try await service.setAVCThreshold(ThresholdRequestV1(threshold: 0), caller: Caller("dom0"))
    for bad in [-1, 1 << 32] {
      await expectError(400, "request.invalid") { () async throws(ServiceError) in
        _ = try await service.setAVCThreshold(ThresholdRequestV1(threshold: bad), caller: Caller("dom0"))
      }
    }
  }

  /// flask_security_set_bool: an id at or past the number of booleans is
  /// -ENOENT whether or not the value is committed (`arg->bool_id >= bool_num`
  /// in the pending branch, `>= num` in the commit one).
  @Test func setboolUnknownIdIsENOENT() async throws {
    let service = try await defaultService()
    for commit: UInt64 in [0, 1] {
      let r = try await service.call("flask.setbool",
        HypercallWire.request("flask.setbool", ["bool_id": 9999, "new_value": 1, "commit": commit]))
      #expect(r.ret == XenErrno.enoent && r.record == nil, "commit \(commit)")
      do {
        _ = try await service.setBoolean(SetBooleanRequestV1(id: 9999, value: true, commit: commit == 1), caller: Caller("dom0"))
        Issue.record("setbool 9999 commit \(commit) succeeded")
      } catch {
        #expect(error.code == "boolean.unknown" && error.errno == "-ENOENT")
      }
    }
  }

  /// flask_security_context copies the context through
  /// safe_copy_string_from_guest(…, PAGE_SIZE) (xen/lib/guest-strcpy.c),
  /// whose size counts the NUL: 4095 bytes and the NUL fit a page, a longer
  /// buffer is -ENOBUFS. The JSON route's `context.too-long` carries -ENOBUFS.
  @Test func contextOfAPage() async throws {
    let service = try await defaultService()
    let page = [UInt8](repeating: 0x61, count: 4095) + [0]
    let fits = try await service.call("flask.context_to_sid", HypercallWire.request("flask.context_to_sid", inputs: [("context", page)]))
    #expect(fits.ret == XenErrno.einval, "a page with its NUL reaches security_context_to_sid (not a context: -EINVAL)")
    let over = try await service.call("flask.context_to_sid",
      HypercallWire.request("flask.context_to_sid", inputs: [("context", page + [0x61])]))
    #expect(over.ret == XenErrno.enobufs)
    do {
      _ = try await service.contextToSID(ContextRequestV1(context: String(repeating: "a", count: 4096)), caller: Caller("dom0"))
      Issue.record("a 4096-byte context was taken")
    } catch {
      #expect(error.code == "context.too-long" && error.errno == "-ENOBUFS" && error.status == 413)
    }
    do {
      _ = try await service.contextToSID(ContextRequestV1(context: String(repeating: "a", count: 4095)), caller: Caller("dom0"))
      Issue.record("`aaa…` was taken as a context")
    } catch {
      #expect(error.code == "context.invalid" && error.errno == "-EINVAL")
    }
  }
}
