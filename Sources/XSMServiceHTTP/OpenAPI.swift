import Foundation
import Hummingbird
import XSMProtocol
import XSMService

/// The OpenAPI 3.0 document of every xsmd route, built from the route table
/// the router is built from (pretty-printed, keys sorted, newline-terminated).
public func openAPIDocument() -> String { OpenAPIDocument.text }

enum OpenAPIDocument {
  static let text: String = build(RouteTable.shared).prettyText

  static let errorDescriptions: [Int: String] = [
    400:
      "Bad request: `request.malformed` (invalid JSON, a missing or mistyped field, a bad path or query parameter), "
      + "`request.unknown-field` (a field the request type does not have), `request.duplicate-key`, "
      + "`request.not-utf8`, `request.bad-framing` (a body that cannot be read), `request.no-caller` (no Xen-Caller "
      + "header), or a value the service refuses (`request.invalid`, `flask.unknown-class`, `ocontext.bad-range`, "
      + "`evtchn.not-interdomain`, `domain.bad-flag`, ...).",
    401:
      "Not authenticated (`auth.unauthenticated`): no bearer token, a token xsmd did not issue or revoked, or on the "
      + "Unix socket a peer uid the system's `[callers]` table does not map.",
    403:
      "Denied by the guard Xen applies to this command for the calling domain: `guard.denied` (errno -EACCES); "
      + "`auth.caller-mismatch` (a Xen-Caller other than the authenticated domain), `auth.not-control`.",
    404:
      "Unknown: `domain.unknown` (also an unknown Xen-Caller), `flask.unknown-sid`, `boolean.unknown`, `op.unknown`, "
      + "`ocontext.not-found`, `avc.no-cpu` (errno -ENOENT or -EINVAL where Xen returns one).",
    405: "The path exists, with other methods (`request.method-not-allowed`).",
    409: "Already exists: `domain.exists`, `ocontext.exists` (errno -EEXIST).",
    413: "Too large: `request.too-large` (the body), `batch.too-large`, `context.too-long`, `policy.too-large`.",
    415: "The body is not of the route's content type (`request.unsupported-media-type`).",
    422:
      "Rejected by the policy: `context.invalid`, `policy.invalid`, `policy.read-budget`, `policy.classes` (Xen's "
      + "validate_classes would refuse it), `policy.version`, `policy.mls-mismatch`, `domain.bad-name`.",
    429: "Over the request rate (`server.rate-limited`); retry after the Retry-After header.",
    500: "An internal error (`internal`, `state.*`).",
    501: "Not available under the host's XSM module: flask_op under dummy or silo (`module.no-flask-op`, errno -ENOSYS).",
    503: "Too many requests in flight (`server.busy`), or not ready (`server.not-ready`).",
  ]

  /// The schema of every error reply.
  static let errorSchema = SchemaInferrer.componentName(ErrorBodyV1.self)

  static func build(_ table: RouteTable) -> JSONValue {
    var paths: [String: [String: JSONValue]] = [:]
    for route in table.routes {
      paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation(route)
    }
    var schemas: [String: JSONValue] = [:]
    for (name, schema) in table.components { schemas[name] = schema.json }
    let tags: [JSONValue] = [
      ["name": "flask", "description": "One route per flask_op command (`__HYPERVISOR_xsm_op`), guarded as Xen guards it."],
      ["name": "xsm", "description": "Which XSM module is in place."],
      ["name": "decisions", "description": "Who may invoke which op on whom, under dummy, silo and flask."],
      ["name": "domains", "description": "The simulated host's domain table."],
      ["name": "auth", "description": "Bearer tokens that authenticate callers over TCP."],
      ["name": "operations", "description": "Health, readiness, metrics and this document."],
    ]
    return [
      "openapi": "3.0.3",
      "info": [
        "title": "xsmd",
        "version": "1",
        "description": .string(
          "The xsmtools query service: a simulated Xen host answering flask_op commands and XSM access questions. "
            + "Callers authenticate with a bearer token (TCP) or by their uid (Unix socket); the Xen-Caller header may "
            + "only repeat the authenticated domain; JSON keys are snake_case; unknown fields "
            + "are rejected; every error is `{\"error\": {\"code\", \"message\", \"errno\"?}}`."),
      ],
      "servers": [["url": "http://127.0.0.1:8780"]],
      "tags": .array(tags),
      "paths": .object(paths.mapValues { .object($0) }),
      "components": [
        "schemas": .object(schemas),
        "responses": .object(
          Dictionary(
            uniqueKeysWithValues: errorDescriptions.map { status, description in
              (
                "Error\(status)",
                [
                  "description": .string(description),
                  "content": ["application/json": ["schema": Schema.reference(errorSchema).json]],
                ] as JSONValue
              )
            })),
        "parameters": [
          "XenCaller": [
            "name": .string(RouteV1.callerHeader), "in": "header", "required": false,
            "description": .string(
              "The calling domain, by name or `domN`; Xen's guards are applied for it. Under authentication it may "
                + "only name the authenticated domain; only `xsmd --trust-caller-header` (development) believes it."),
            "schema": ["type": "string"],
          ]
        ],
        "securitySchemes": ["bearerToken": ["type": "http", "scheme": "bearer"]],
      ],
    ]
  }

  static func operation(_ route: Route) -> JSONValue {
    var parameters: [JSONValue] = []
    if route.needsCaller { parameters.append(["$ref": "#/components/parameters/XenCaller"]) }
    for name in route.pathParameters {
      parameters.append([
        "name": .string(name), "in": "path", "required": true,
        "schema": name == "id" || name == "op" ? Schema.string.json : Schema.integer(format: "int64").json,
      ])
    }
    for q in route.query {
      parameters.append([
        "name": .string(q.name), "in": "query", "required": false, "description": .string(q.description),
        "schema": q.schema.json,
      ])
    }
    var op: [String: JSONValue] = [
      "operationId": .string(route.operationID), "summary": .string(route.summary), "tags": [.string(route.tag)],
    ]
    if !parameters.isEmpty { op["parameters"] = .array(parameters) }
    switch route.requestBody {
    case .none: break
    case .json(let schema):
      op["requestBody"] = ["required": true, "content": ["application/json": ["schema": schema.json]]]
    case .binary(let limit):
      op["requestBody"] = [
        "required": true,
        "description": .string(
          route.path.hasPrefix("/v1/hypercall/")
            ? "The op's request layout (little-endian) followed by its buffer area, at most \(limit) bytes."
            : "The binary policy, at most \(limit) bytes."),
        "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]],
      ]
    }
    var responses: [String: JSONValue] = [:]
    switch route.reply {
    case .json(let schema):
      responses[String(route.successStatus)] = [
        "description": "Success.", "content": ["application/json": ["schema": schema.json]],
      ]
    case .text(let contentType):
      responses[String(route.successStatus)] = [
        "description": "Success.", "content": [contentType: ["schema": ["type": "string"]]],
      ]
    }
    for status in route.errors.sorted() {
      responses[String(status)] = ["$ref": .string("#/components/responses/Error\(status)")]
    }
    op["responses"] = .object(responses)
    return .object(op)
  }
}
