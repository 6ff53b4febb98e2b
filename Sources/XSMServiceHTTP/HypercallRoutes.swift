import XSMProtocol
import XSMService

// The binary hypercall endpoint (docs/service.md, "Binary hypercall
// endpoint"): the flask split ops and xsmid.identity spoken in their
// catalog payload layouts, for callers built from bindings/c/xsm_abi.h.

extension RouteBuilder {
  /// `POST /v1/hypercall/flask/{op}` and `POST /v1/hypercall/xsmid/identity`.
  mutating func addHypercallRoutes() {
    // The largest request: FLASK_LOAD's layout and a policy of Xen's maximum size.
    let limit = FlaskService.maximumPolicySize + 4096
    let errors = ErrorStatus.always.union([400, 401, 403, 404, 413, 415])
    let octets = "application/octet-stream"
    routes.append(
      Route(
        wire: .hypercallFlask,
        summary: "A flask_op command as bytes: the request layout of split op `flask.{op}` (policy/ops/layouts/flask.ops, bindings/c/xsm_abi.h) and its buffer area; answers the s32 ret and u32 reply_size preamble, the reply layout and the output buffers. Malformed payloads answer -EINVAL or -EFAULT in ret, with 200.",
        tag: "hypercall", needsCaller: true, requestBody: .binary(limit: limit), reply: .text(contentType: octets),
        successStatus: 200, errors: errors,
        handle: { service, input in
          let op = "flask." + (input.pathParameters["op"] ?? "")
          return RouteReply(
            status: 200, contentType: octets, body: try await service.hypercall(op, body: input.body, caller: input.caller))
        }))
    routes.append(
      Route(
        wire: .hypercallIdentity,
        summary: "xsmid.identity as bytes: which XSM module is in place, enforcing, policy version, allow_unknown and flags (policy/ops/layouts/xsmid.ops).",
        tag: "hypercall", needsCaller: true, requestBody: .binary(limit: 4096), reply: .text(contentType: octets),
        successStatus: 200, errors: errors,
        handle: { service, input in
          RouteReply(
            status: 200, contentType: octets,
            body: try await service.hypercall("xsmid.identity", body: input.body, caller: input.caller))
        }))
  }
}
