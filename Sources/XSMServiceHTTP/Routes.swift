import Foundation
import Hummingbird
import XSMAudit
import XSMProtocol
import XSMService

/// What a route handler gets from a request.
struct RouteInput: Sendable {
  /// The `Xen-Caller` header (empty on routes that do not need one).
  var caller: Caller
  var body: [UInt8]
  var pathParameters: [String: String]
  var query: [String: String]
  var requestSchema: Schema?
  var components: [String: Schema]
  var server: ServerState

  func decode<T: Decodable>(_ type: T.Type) throws(ServiceError) -> T {
    try RequestDecoding.decode(type, from: Data(body), schema: requestSchema ?? .any, components: components)
  }

  /// An integer path parameter, or 400.
  func integer(_ name: String) throws(ServiceError) -> Int {
    guard let text = pathParameters[name], let value = Int(text) else {
      throw ServiceError(
        400, "request.malformed", "`\(pathParameters[name] ?? "")` is not a valid \(name) (a decimal integer)")
    }
    return value
  }

  /// `GET /v1/decisions`' query parameters, or 400 naming the bad one.
  func decisionQuery() throws(ServiceError) -> DecisionQueryV1 {
    var q = DecisionQueryV1()
    q.after = Int64(try integerQuery("after", default: 0))
    q.limit = try integerQuery("limit", default: DecisionQueryV1.defaultLimit)
    q.caller = query["caller"]
    q.op = query["op"]
    if let text = query["verdict"] {
      guard let verdict = VerdictV1(rawValue: text) else {
        throw ServiceError(400, "request.malformed", "query parameter `verdict` must be allowed, denied or invalid, not `\(text)`")
      }
      q.verdict = verdict
    }
    q.since = try timeQuery("since")
    q.until = try timeQuery("until")
    return q
  }

  /// A time query parameter: seconds since 1970 or an ISO 8601 date and time.
  func timeQuery(_ name: String) throws(ServiceError) -> Double? {
    guard let text = query[name] else { return nil }
    if let seconds = Double(text), seconds.isFinite { return seconds }
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
    formatter.formatOptions.insert(.withFractionalSeconds)
    if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
    throw ServiceError(400, "request.malformed",
      "query parameter `\(name)` must be seconds since 1970 or an ISO 8601 time (2026-12-06T10:00:00Z), not `\(text)`")
  }

  /// An optional integer query parameter, or 400.
  func integerQuery(_ name: String, default defaultValue: Int) throws(ServiceError) -> Int {
    guard let text = query[name] else { return defaultValue }
    guard let value = Int(text) else {
      throw ServiceError(400, "request.malformed", "query parameter `\(name)` must be a decimal integer, not `\(text)`")
    }
    return value
  }
}

/// What a route handler answers (errors are thrown as `ServiceError`).
struct RouteReply: Sendable {
  var status: Int
  var contentType: String
  var body: [UInt8]

  static func json(_ value: some Encodable, status: Int = 200) throws(ServiceError) -> RouteReply {
    do {
      return RouteReply(
        status: status, contentType: "application/json", body: Array(try WireJSON.makeEncoder().encode(value)))
    } catch {
      throw ServiceError(500, "internal", "could not encode the reply: \(error)")
    }
  }
}

/// One operation of the service: how it is reached, what it takes and
/// gives (for the router and the OpenAPI document alike) and its handler.
struct Route: Sendable {
  enum RequestBody: Sendable {
    case none
    case json(Schema)
    /// Raw bytes (`application/octet-stream`) up to a limit.
    case binary(limit: Int)
  }
  enum ReplyBody: Sendable {
    case json(Schema)
    case text(contentType: String)
  }
  struct QueryParameter: Sendable {
    var name: String
    var description: String
    var schema: Schema
  }

  /// The method, path template and operation id, as client and server share them.
  var wire: RouteV1
  var summary: String
  var tag: String
  var needsCaller: Bool
  var requestBody: RequestBody
  var reply: ReplyBody
  var successStatus: Int
  var query: [QueryParameter] = []
  /// Error statuses this route can answer (for the document).
  var errors: Set<Int>
  /// Health, readiness and metrics answer even when the server is saturated.
  var limited = true
  /// `pathParameters`, worked out once when the table is built (requests read it).
  var pathParameterNames: [String] = []
  var handle: @Sendable (FlaskService, RouteInput) async throws -> RouteReply

  var method: HTTPRequest.Method {
    switch wire.method {
    case .get: .get
    case .put: .put
    case .post: .post
    case .delete: .delete
    }
  }
  /// The path template, `{name}` for a path parameter (Hummingbird and OpenAPI both read it).
  var path: String { wire.path }
  var operationID: String { wire.operationID }

  var pathParameters: [String] {
    path.split(separator: "/").compactMap { part in
      part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : nil
    }
  }
}

/// Every route xsmd serves, and the schemas of their bodies. The router and
/// the OpenAPI document are both built from this one table.
struct RouteTable: Sendable {
  let routes: [Route]
  let components: [String: Schema]

  static let shared = RouteTable()

  init() {
    let inferrer = SchemaInferrer()
    var builder = RouteBuilder(inferrer: inferrer)
    builder.addFlaskRoutes()
    builder.addDecisionAndDomainRoutes()
    builder.addOperationalRoutes()
    builder.addHypercallRoutes()
    _ = inferrer.schema(for: ErrorBodyV1.self)
    routes = builder.routes.map { route in
      var route = route
      route.pathParameterNames = route.pathParameters
      return route
    }
    components = SchemaRefinements.apply(inferrer.components)
  }

  /// The methods other routes accept on `path` (for 405 replies).
  func methods(matching path: String) -> [HTTPRequest.Method] {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    return routes.filter { route in
      let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
      guard template.count == parts.count else { return false }
      return zip(template, parts).allSatisfy { t, p in t.hasPrefix("{") || t == p }
    }.map(\.method)
  }
}

/// Status codes a route may answer, for the document.
enum ErrorStatus {
  static let always: Set<Int> = [429, 500, 503]
  static let withCaller: Set<Int> = [400, 401, 403, 404]
  static let withJSONBody: Set<Int> = [400, 413, 415]
  static let flask: Set<Int> = [501]
}

struct RouteBuilder {
  let inferrer: SchemaInferrer
  var routes: [Route] = []

  /// A route with a JSON request body.
  mutating func add<Request: Decodable & Sendable, Reply: Codable & Sendable>(
    _ wire: RouteV1, _ summary: String, tag: String,
    request: Request.Type, reply: Reply.Type, status: Int = 200, caller: Bool = true, errors: Set<Int> = [],
    _ run: @escaping @Sendable (FlaskService, Request, RouteInput) async throws -> Reply
  ) {
    routes.append(
      Route(
        wire: wire, summary: summary, tag: tag, needsCaller: caller,
        requestBody: .json(inferrer.schema(for: request)), reply: .json(inferrer.schema(for: reply)),
        successStatus: status,
        errors: ErrorStatus.always.union(caller ? ErrorStatus.withCaller : []).union(ErrorStatus.withJSONBody).union(
          errors),
        handle: { service, input in
          let decoded = try input.decode(Request.self)
          return try RouteReply.json(try await run(service, decoded, input), status: status)
        }))
  }

  /// A route without a request body.
  mutating func add<Reply: Codable & Sendable>(
    _ wire: RouteV1, _ summary: String, tag: String,
    reply: Reply.Type, status: Int = 200, caller: Bool = true, query: [Route.QueryParameter] = [],
    errors: Set<Int> = [], _ run: @escaping @Sendable (FlaskService, RouteInput) async throws -> Reply
  ) {
    let pathErrors: Set<Int> = wire.path.contains("{") || !query.isEmpty ? [400] : []
    routes.append(
      Route(
        wire: wire, summary: summary, tag: tag, needsCaller: caller,
        requestBody: .none, reply: .json(inferrer.schema(for: reply)), successStatus: status, query: query,
        errors: ErrorStatus.always.union(caller ? ErrorStatus.withCaller : []).union(pathErrors).union(errors),
        handle: { service, input in try RouteReply.json(try await run(service, input), status: status) }))
  }

  // MARK: flask_op (xen-xsm-facts §d)

  mutating func addFlaskRoutes() {
    let tag = "flask"
    let flask = ErrorStatus.flask
    routes.append(
      Route(
        wire: .flaskLoad,
        summary: "FLASK_LOAD: load a binary policy (security:load_policy). Atomic: queries see the old or the new policy.",
        tag: tag, needsCaller: true, requestBody: .binary(limit: FlaskService.maximumPolicySize),
        reply: .json(inferrer.schema(for: EmptyV1.self)), successStatus: 200,
        errors: ErrorStatus.always.union(ErrorStatus.withCaller).union([413, 415, 422, 501]),
        handle: { service, input in
          try RouteReply.json(try await service.load(input.body, caller: input.caller))
        }))
    add(
      .flaskGetEnforce, "FLASK_GETENFORCE: whether flask enforces (no permission needed).",
      tag: tag, reply: EnforceReplyV1.self, errors: flask
    ) { s, i in try s.getEnforce(caller: i.caller) }
    add(
      .flaskSetEnforce,
      "FLASK_SETENFORCE: switch enforcing (security:setenforce, checked only when the value changes).", tag: tag,
      request: SetEnforceRequestV1.self, reply: EnforceReplyV1.self, errors: flask
    ) { s, r, i in try await s.setEnforce(r, caller: i.caller) }
    add(
      .flaskContextToSID,
      "FLASK_CONTEXT_TO_SID: the SID of a context (security:check_context).", tag: tag, request: ContextRequestV1.self,
      reply: SIDReplyV1.self, errors: flask.union([422])
    ) { s, r, i in try await s.contextToSID(r, caller: i.caller) }
    add(
      .flaskSIDToContext,
      "FLASK_SID_TO_CONTEXT: the context of a SID (security:check_context).", tag: tag, request: SIDRequestV1.self,
      reply: ContextReplyV1.self, errors: flask
    ) { s, r, i in try s.sidToContext(r, caller: i.caller) }
    add(
      .flaskAccess,
      "FLASK_ACCESS: the access vector for (ssid, tsid, class) (security:compute_av).", tag: tag,
      request: AccessRequestV1.self, reply: AccessReplyV1.self, errors: flask
    ) { s, r, i in try s.access(r, caller: i.caller) }
    add(
      .flaskCreate,
      "FLASK_CREATE: the SID of a new object by type_transition (security:compute_create).", tag: tag,
      request: ComputeRequestV1.self, reply: SIDReplyV1.self, errors: flask
    ) { s, r, i in try await s.create(r, caller: i.caller) }
    add(
      .flaskRelabel,
      "FLASK_RELABEL: the SID after relabelling by type_change (security:compute_relabel).", tag: tag,
      request: ComputeRequestV1.self, reply: SIDReplyV1.self, errors: flask
    ) { s, r, i in try await s.relabel(r, caller: i.caller) }
    add(
      .flaskMember,
      "FLASK_MEMBER: the SID of a member object by type_member (security:compute_member).", tag: tag,
      request: ComputeRequestV1.self, reply: SIDReplyV1.self, errors: flask
    ) { s, r, i in try await s.member(r, caller: i.caller) }
    add(
      .flaskPolicyVersion, "FLASK_POLICYVERS: the policy version Xen supports.",
      tag: tag, reply: PolicyVersionReplyV1.self, errors: flask
    ) { s, i in try s.policyVersion(caller: i.caller) }
    add(
      .flaskGetBool,
      "FLASK_GETBOOL: a boolean's value in force and pending, by id or name (unchecked).", tag: tag,
      request: BooleanRefV1.self, reply: BooleanReplyV1.self, errors: flask
    ) { s, r, i in try s.getBoolean(r, caller: i.caller) }
    add(
      .flaskSetBool,
      "FLASK_SETBOOL: set a boolean's pending value, optionally committing (security:setbool).", tag: tag,
      request: SetBooleanRequestV1.self, reply: BooleanReplyV1.self, errors: flask
    ) { s, r, i in try await s.setBoolean(r, caller: i.caller) }
    add(
      .flaskCommitBools,
      "FLASK_COMMITBOOLS: put pending boolean values in force (security:setbool).", tag: tag, reply: EmptyV1.self,
      errors: flask
    ) { s, i in try await s.commitBooleans(caller: i.caller) }
    add(
      .flaskMLS, "FLASK_MLS: whether the policy is MLS.", tag: tag, reply: MLSReplyV1.self,
      errors: flask
    ) { s, i in try s.mls(caller: i.caller) }
    add(
      .flaskGetAVCThreshold, "FLASK_GETAVC_THRESHOLD: the AVC cache threshold.",
      tag: tag, reply: ThresholdReplyV1.self, errors: flask
    ) { s, i in try s.avcThreshold(caller: i.caller) }
    add(
      .flaskSetAVCThreshold,
      "FLASK_SETAVC_THRESHOLD: set the AVC cache threshold (security:setsecparam, only when it changes).", tag: tag,
      request: ThresholdRequestV1.self, reply: ThresholdReplyV1.self, errors: flask
    ) { s, r, i in try await s.setAVCThreshold(r, caller: i.caller) }
    add(
      .flaskAVCHashStats, "FLASK_AVC_HASHSTATS: AVC hash table statistics.",
      tag: tag, reply: HashStatsReplyV1.self, errors: flask
    ) { s, i in try s.avcHashStats(caller: i.caller) }
    add(
      .flaskAVCCacheStats,
      "FLASK_AVC_CACHESTATS: AVC counters of one CPU (404 `-ENOENT` for an invalid CPU).", tag: tag,
      reply: CacheStatsReplyV1.self,
      query: [.init(name: "cpu", description: "The CPU (default 0).", schema: .integer(format: "int64"))],
      errors: flask
    ) { s, i in try s.avcCacheStats(cpu: try i.integerQuery("cpu", default: 0), caller: i.caller) }
    add(
      .flaskAddOcontext,
      "FLASK_ADD_OCONTEXT: label a pirq, I/O port range, I/O memory range or PCI device (security:add_ocontext).",
      tag: tag, request: OcontextRequestV1.self, reply: EmptyV1.self, errors: flask.union([409])
    ) { s, r, i in try await s.addOcontext(r, caller: i.caller) }
    add(
      .flaskDelOcontext,
      "FLASK_DEL_OCONTEXT: remove a device label (security:del_ocontext).", tag: tag, request: OcontextRequestV1.self,
      reply: EmptyV1.self, errors: flask
    ) { s, r, i in try await s.delOcontext(r, caller: i.caller) }
    add(
      .flaskGetPeerSID,
      "FLASK_GET_PEER_SID: the SID of the domain at the other end of the caller's interdomain port (unchecked).",
      tag: tag, request: PeerSIDRequestV1.self, reply: SIDReplyV1.self, errors: flask
    ) { s, r, i in try s.peerSID(r, caller: i.caller) }
    add(
      .flaskRelabelDomain,
      "FLASK_RELABEL_DOMAIN: give a domain a new SID (domain2:relabelfrom/relabelto or relabelself, domain:transition).",
      tag: tag, request: RelabelDomainRequestV1.self, reply: EmptyV1.self, errors: flask.union([422])
    ) { s, r, i in try await s.relabelDomain(r, caller: i.caller) }
    add(
      .flaskDeviceTreeLabel,
      "FLASK_DEVICETREE_LABEL: label a device-tree path, or remove its label with sid 0 (security:add_ocontext / del_ocontext).",
      tag: tag, request: DeviceTreeLabelRequestV1.self, reply: EmptyV1.self, errors: flask.union([409])
    ) { s, r, i in try await s.deviceTreeLabel(r, caller: i.caller) }
  }

  // MARK: XSM identity, decisions, domains

  mutating func addDecisionAndDomainRoutes() {
    add(
      .xsmIdentity,
      "Which XSM module is in place, with its policy version, digest, enforcing, MLS and booleans.", tag: "xsm",
      reply: IdentityV1.self, caller: false, errors: [401]
    ) { s, _ in s.identity() }
    // The single-question route is the latency path: its body is read in
    // one pass and its reply written as bytes (CanCodec), as the batch route's.
    routes.append(
      Route(
        wire: .can,
        summary: "May a domain invoke an op on another? The decision with its trace, under the host's module or all modules.",
        tag: "decisions", needsCaller: true, requestBody: .json(inferrer.schema(for: CanRequestV1.self)),
        reply: .json(inferrer.schema(for: CanReplyV1.self)), successStatus: 200,
        errors: ErrorStatus.always.union(ErrorStatus.withCaller).union(ErrorStatus.withJSONBody),
        handle: { service, input in
          // Through the snapshot's reply memo: a repeated question costs a lookup (docs/service.md, "Reply memo").
          RouteReply(
            status: 200, contentType: "application/json",
            body: try service.can(
              body: input.body, caller: input.caller, decode: CanCodec.decode, encode: { CanCodec.encode($0).body }))
        }))
    // The batch route is the throughput path: its body is read with one
    // JSONSerialization pass (checking fields as it goes) and its reply
    // written by hand, instead of the generic schema walk plus JSONDecoder.
    routes.append(
      Route(
        wire: .canBatch,
        summary: "Many (caller, op, target) questions in one request; verdicts only.", tag: "decisions",
        needsCaller: true, requestBody: .json(inferrer.schema(for: BatchRequestV1.self)),
        reply: .json(inferrer.schema(for: BatchReplyV1.self)), successStatus: 200,
        errors: ErrorStatus.always.union(ErrorStatus.withCaller).union(ErrorStatus.withJSONBody),
        handle: { service, input in
          BatchCodec.encode(try service.canBatch(try BatchCodec.decodeDistinct(input.body), caller: input.caller))
        }))
    // The compact form of a batch: three lists in, one character per question out.
    routes.append(
      Route(
        wire: .canProduct,
        summary: "Every (caller, op, target) of three lists; one verdict character each (a allowed, d denied, "
          + "i invalid), callers outermost, then ops, targets fastest.",
        tag: "decisions", needsCaller: true, requestBody: .json(inferrer.schema(for: ProductRequestV1.self)),
        reply: .json(inferrer.schema(for: ProductReplyV1.self)), successStatus: 200,
        errors: ErrorStatus.always.union(ErrorStatus.withCaller).union(ErrorStatus.withJSONBody).union([413, 422]),
        handle: { service, input in
          BatchCodec.encode(try service.canProduct(try input.decode(ProductRequestV1.self), caller: input.caller))
        }))
    add(
      .decisions,
      "The decision log, oldest first: the `/v1/can` questions answered and their verdicts. Paged by `after` "
        + "(the previous page's `next`) and `limit`; filtered by caller, op, verdict and time.",
      tag: "decisions", reply: DecisionPageV1.self,
      query: [
        .init(name: "after", description: "Entries with an id above this (the previous page's `next`; default 0).",
          schema: .integer(format: "int64")),
        .init(name: "limit", description: "At most this many entries, 1 to 1000 (default 100).",
          schema: .integer(format: "int64")),
        .init(name: "caller", description: "Only this calling domain (a name or domN).", schema: .string),
        .init(name: "op", description: "Only this op (a name or alias).", schema: .string),
        .init(name: "verdict", description: "Only this verdict.",
          schema: .stringEnumeration(VerdictV1.allCases.map(\.rawValue))),
        .init(name: "since", description: "Only entries at or after this time (seconds since 1970, or ISO 8601).",
          schema: .string),
        .init(name: "until", description: "Only entries before this time (seconds since 1970, or ISO 8601).",
          schema: .string),
      ]
    ) { s, i in try s.decisions(try i.decisionQuery(), caller: i.caller) }
    add(
      .matrix, "Who may invoke which op on whom: the access matrix.", tag: "decisions",
      request: MatrixRequestV1.self, reply: MatrixV1.self
    ) { s, r, i in try s.matrix(r, caller: i.caller) }
    add(
      .explain,
      "Xen's avc lines explained against the policy in force: the ops, why it is denied, the smallest fix "
        + "(`xsmq explain --json`'s document). At most 100000 lines; malformed lines are listed, never fatal.",
      tag: "decisions", request: ExplainRequestV1.self, reply: AVCReport.self, errors: [413]
    ) { s, r, i in try await s.explain(r, caller: i.caller) }
    add(
      .listDomains, "The domains of the simulated host.", tag: "domains",
      reply: [DomainRecordV1].self, caller: false, errors: [401]
    ) { s, _ in s.domains() }
    add(
      .addDomain, "Create a domain (the caller needs the rights Xen's domctl.create needs).",
      tag: "domains", request: AddDomainRequestV1.self, reply: DomainRecordV1.self, status: 201, errors: [409, 422]
    ) { s, r, i in try await s.addDomain(r, caller: i.caller) }
    add(
      .removeDomain, "Destroy a domain.", tag: "domains", reply: EmptyV1.self
    ) { s, i in try await s.removeDomain(domid: try i.integer("domid"), caller: i.caller) }
    add(
      .relabelDomainByContext,
      "Give a domain a new security context, as FLASK_RELABEL_DOMAIN does.", tag: "domains",
      request: RelabelRequestV1.self, reply: DomainRecordV1.self, errors: [422]
    ) { s, r, i in try await s.relabel(domid: try i.integer("domid"), r, caller: i.caller) }
    add(
      .issueToken,
      "Issue a bearer token for a domain (callers over TCP send it as `Authorization: Bearer TOKEN`). "
        + "The token is shown once; xsmd keeps its SHA-256. Only a control domain may.",
      tag: "auth", request: IssueTokenRequestV1.self, reply: IssuedTokenV1.self, status: 201
    ) { s, r, i in try await s.issueToken(r, caller: i.caller) }
    add(
      .listTokens, "The tokens issued: ids and domids, never the secrets. Only a control domain may.", tag: "auth",
      reply: [TokenRecordV1].self
    ) { s, i in try s.listTokens(caller: i.caller) }
    add(
      .revokeToken, "Revoke a token by id; it is refused from then on. Only a control domain may.", tag: "auth",
      reply: EmptyV1.self
    ) { s, i in try await s.revokeToken(id: i.pathParameters["id"] ?? "", caller: i.caller) }
  }

  // MARK: Health, readiness, metrics, this document

  mutating func addOperationalRoutes() {
    var health = Route(
      wire: .health, summary: "Liveness: always 200 while the process serves.",
      tag: "operations", needsCaller: false, requestBody: .none,
      reply: .json(inferrer.schema(for: StatusReplyV1.self)), successStatus: 200, errors: [],
      handle: { _, _ in try RouteReply.json(StatusReplyV1(status: "ok")) })
    health.limited = false
    routes.append(health)

    var ready = Route(
      wire: .ready,
      summary: "Readiness: 200 once the state is loaded and the database open, else 503 `server.not-ready`.",
      tag: "operations", needsCaller: false, requestBody: .none,
      reply: .json(inferrer.schema(for: StatusReplyV1.self)), successStatus: 200, errors: [503],
      handle: { service, _ in
        guard service.isReady else { throw ServiceError(503, "server.not-ready", "the service state is not loaded yet") }
        return try RouteReply.json(StatusReplyV1(status: "ready"))
      })
    ready.limited = false
    routes.append(ready)

    var metrics = Route(
      wire: .metrics,
      summary: "Prometheus metrics (text format 0.0.4, swift-prometheus): requests, latency, decisions by module, op family and verdict, decision cache, policy sequence, domains.",
      tag: "operations", needsCaller: false, requestBody: .none,
      reply: .text(contentType: "text/plain; version=0.0.4; charset=utf-8"), successStatus: 200, errors: [],
      handle: { service, input in
        let page = input.server.metrics.render(gauges: service.gauges, inFlight: input.server.limiter.inFlight)
        return RouteReply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: page)
      })
    metrics.limited = false
    routes.append(metrics)

    routes.append(
      Route(
        wire: .openAPI, summary: "This OpenAPI 3.0 document.",
        tag: "operations", needsCaller: false, requestBody: .none, reply: .json(.dictionary(.any)),
        successStatus: 200, errors: ErrorStatus.always,
        handle: { _, _ in
          RouteReply(status: 200, contentType: "application/json", body: Array(openAPIDocument().utf8))
        }))
  }
}

/// Fast reading and writing of the batch route's bodies.
enum BatchCodec {
  static func malformed(_ message: String) -> ServiceError { ServiceError(400, "request.malformed", message) }

  /// Reads `{"module"?: M, "queries": [{"caller", "op", "target"?, "arguments"?, "situations"?}, ...]}`
  /// in one pass over the bytes (a batch is megabytes of small objects, and
  /// a general JSON parser spends most of the route's time building them).
  static func decode(_ body: [UInt8]) throws(ServiceError) -> BatchRequestV1 {
    var reader = BatchReader(bytes: body)
    return try reader.request()
  }

  /// The same body with the repeated queries folded: a query whose bytes
  /// were seen before in this body is not read again (a batch often asks
  /// the same questions many times), so it costs a scan and a hash.
  static func decodeDistinct(_ body: [UInt8]) throws(ServiceError) -> BatchQuestions {
    var reader = BatchReader(bytes: body)
    reader.foldRepeats = true
    let request = try reader.request()
    return BatchQuestions(module: request.module, distinct: request.queries, order: reader.order)
  }

  /// `{"sequence": N, "verdicts": "..."}`, as the encoder writes it (the letters need no escape).
  static func encode(_ reply: ProductReplyV1) -> RouteReply {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(reply.verdicts.utf8.count + 48)
    bytes.append(contentsOf: "{".utf8)
    if let sequence = reply.sequence { bytes.append(contentsOf: "\"sequence\":\(sequence),".utf8) }
    bytes.append(contentsOf: "\"verdicts\":\"".utf8)
    bytes.append(contentsOf: reply.verdicts.utf8)
    bytes.append(contentsOf: "\"}".utf8)
    return RouteReply(status: 200, contentType: "application/json", body: bytes)
  }

  /// `{"sequence": N, "verdicts": [...]}`, keys sorted as every other reply.
  static func encode(_ reply: BatchReplyV1) -> RouteReply {
    let head = Array("{\"sequence\":\(reply.sequence.map(String.init) ?? "null"),\"verdicts\":".utf8)
    // Each verdict is written as `,"allowed"`; the first one's comma is then made the `[`.
    func spelled(_ v: VerdictV1) -> [UInt8] { Array(",\"\(v.rawValue)\"".utf8) }
    let allowed = spelled(.allowed), denied = spelled(.denied), invalid = spelled(.invalid)
    var size = head.count + (reply.verdicts.isEmpty ? 1 : 0) + 2
    for v in reply.verdicts {
      switch v {
      case .allowed: size += allowed.count
      case .denied: size += denied.count
      case .invalid: size += invalid.count
      }
    }
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, written in
      var at = buffer.baseAddress!
      func put(_ part: UnsafeBufferPointer<UInt8>) {
        at.update(from: part.baseAddress!, count: part.count)
        at += part.count
      }
      head.withUnsafeBufferPointer(put)
      if reply.verdicts.isEmpty { [0x5B].withUnsafeBufferPointer(put) }
      allowed.withUnsafeBufferPointer { allowed in
        denied.withUnsafeBufferPointer { denied in
          invalid.withUnsafeBufferPointer { invalid in
            for v in reply.verdicts {
              switch v {
              case .allowed: put(allowed)
              case .denied: put(denied)
              case .invalid: put(invalid)
              }
            }
          }
        }
      }
      [0x5D, 0x7D].withUnsafeBufferPointer(put)
      buffer[head.count] = 0x5B
      written = size
    }
    return RouteReply(status: 200, contentType: "application/json", body: bytes)
  }
}

/// A byte-level reader for the batch body: JSON whitespace, strings with
/// every escape, `null`, objects and arrays, in the one shape the route takes.
struct BatchReader {
  let bytes: [UInt8]
  var i = 0
  /// When set, `queries` holds each distinct query once (by its bytes) and `order` the index of each query's.
  var foldRepeats = false
  var order: [Int32] = []
  /// The strings longer than 15 bytes read so far without escapes, by their bytes.
  var strings = ByteRangeTable<String>(capacity: 64)
  /// Set once a query's first `}` was not its end (a string held one): from then on a
  /// repeat is looked for at the object's true end, found by `objectEnd`.
  var bracesInStrings = false

  init(bytes: [UInt8]) { self.bytes = bytes }

  func fail(_ message: String) -> ServiceError {
    ServiceError(400, "request.malformed", "\(message) at byte \(i)")
  }

  mutating func skipSpace() {
    while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
  }

  /// `what` is made only when the byte is not there (most of its callers interpolate).
  mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(ServiceError) {
    skipSpace()
    guard i < bytes.count, bytes[i] == byte else { throw fail("expected \(what())") }
    i += 1
  }

  /// True (and consumed) when the next byte is `byte`.
  mutating func take(_ byte: UInt8) -> Bool {
    skipSpace()
    if i < bytes.count, bytes[i] == byte {
      i += 1
      return true
    }
    return false
  }

  mutating func isNull() -> Bool {
    skipSpace()
    if i + 4 <= bytes.count, bytes[i] == 0x6E, bytes[i + 1] == 0x75, bytes[i + 2] == 0x6C, bytes[i + 3] == 0x6C {
      i += 4
      return true
    }
    return false
  }

  mutating func string() throws(ServiceError) -> String {
    try expect(0x22, "a string")
    let start = i
    // Fast path: no escapes.
    while i < bytes.count, bytes[i] != 0x22, bytes[i] != 0x5C, bytes[i] >= 0x20 { i += 1 }
    if i < bytes.count, bytes[i] == 0x22 {
      defer { i += 1 }
      // Up to 15 bytes a string is made in place, with nothing allocated; a longer one read
      // before is the same string again, with nothing decoded or allocated.
      let range = start..<i
      if range.count <= 15 { return String(decoding: bytes[range], as: UTF8.self) }
      let hash = ByteHash.of(bytes, range)
      if let known = strings.value(of: range, hash: hash, in: bytes) { return known }
      let text = String(decoding: bytes[range], as: UTF8.self)
      if strings.count < Self.maximumInterned { strings.insert(range, hash: hash, value: text) }
      return text
    }
    var out = Array(bytes[start..<i])
    while i < bytes.count {
      let b = bytes[i]
      i += 1
      switch b {
      case 0x22: return String(decoding: out, as: UTF8.self)
      case 0x5C:
        guard i < bytes.count else { throw fail("an unfinished escape") }
        let e = bytes[i]
        i += 1
        switch e {
        case 0x22, 0x5C, 0x2F: out.append(e)
        case 0x62: out.append(0x08)
        case 0x66: out.append(0x0C)
        case 0x6E: out.append(0x0A)
        case 0x72: out.append(0x0D)
        case 0x74: out.append(0x09)
        case 0x75:
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar) {
            guard i + 2 <= bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 else { throw fail("a lone surrogate") }
            i += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { throw fail("an invalid \\u escape") }
          out += Array(String(Character(u)).utf8)
        default: throw fail("an unknown escape")
        }
      default:
        guard b >= 0x20 else { throw fail("a control character in a string") }
        out.append(b)
      }
    }
    throw fail("an unterminated string")
  }

  mutating func hex4() throws(ServiceError) -> UInt32 {
    guard i + 4 <= bytes.count else { throw fail("a short \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let b = bytes[i]
      i += 1
      let digit: UInt32
      switch b {
      case 0x30...0x39: digit = UInt32(b - 0x30)
      case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
      case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
      default: throw fail("a bad hex digit")
      }
      value = value << 4 | digit
    }
    return value
  }

  /// How many distinct strings one body keeps for reuse; past that, each is decoded where it stands.
  static let maximumInterned = 4096

  /// One past the `}` that closes the object starting at `i` (a `{`),
  /// without reading it; nil when it does not end. `i` is left where it was.
  func objectEnd() -> Int? {
    Self.structural.withUnsafeBufferPointer { table in
      bytes.withUnsafeBufferPointer { p -> Int? in
        guard i < p.count, p[i] == 0x7B else { return nil }
        var j = i
        var depth = 0
        while j < p.count {
          // Most bytes are none of `"{}[]\\`: one table read passes them.
          let b = p[j]
          j += 1
          switch table[Int(b)] {
          case 0: continue
          case 1:
            // A string: to its closing quote, escapes skipped.
            while j < p.count {
              let c = p[j]
              j += 1
              if c == 0x22 { break }
              if c == 0x5C { j += 1 }
            }
          case 2: depth += 1
          default:
            depth -= 1
            if depth == 0 { return j }
          }
        }
        return nil
      }
    }
  }

  /// For `objectEnd`: 1 for `"`, 2 for `{` and `[`, 3 for `}` and `]`, 0 for any other byte.
  static let structural: [UInt8] = (0..<256).map { b in
    switch b {
    case 0x22: 1
    case 0x7B, 0x5B: 2
    case 0x7D, 0x5D: 3
    default: 0
    }
  }

  /// A string or null.
  mutating func optionalString() throws(ServiceError) -> String? {
    isNull() ? nil : try string()
  }

  /// A JSON integer from 0 to 2^32-1, or null.
  mutating func optionalUInt32(_ field: String) throws(ServiceError) -> UInt32? {
    if isNull() { return nil }
    let start = i
    var value: UInt64 = 0
    while i < bytes.count, (0x30...0x39).contains(bytes[i]), value <= UInt64(UInt32.max) {
      value = value * 10 + UInt64(bytes[i] - 0x30)
      i += 1
    }
    let leadingZero = i - start > 1 && bytes[start] == 0x30
    guard i > start, !leadingZero, value <= UInt64(UInt32.max),
      i == bytes.count || !(0x30...0x39).contains(bytes[i]) && bytes[i] != 0x2E && bytes[i] | 0x20 != 0x65
    else { throw fail("`\(field)` must be an integer from 0 to 4294967295") }
    return UInt32(value)
  }

  /// An array of strings, or null.
  mutating func optionalStrings(_ field: String) throws(ServiceError) -> [String]? {
    if isNull() { return nil }
    try expect(0x5B, "an array of strings for `\(field)`")
    var list: [String] = []
    if !take(0x5D) {
      repeat { list.append(try string()) } while take(0x2C)
      try expect(0x5D, "`]`")
    }
    return list
  }

  mutating func query(_ index: Int) throws(ServiceError) -> BatchRequestV1.Query {
    try expect(0x7B, "an object for `queries[\(index)]`")
    var caller: String?
    var op: String?
    var target: String?
    var arguments: [String]?
    var situations: [String]?
    var query = BatchRequestV1.Query(caller: "", op: "", target: nil)
    if !take(0x7D) {
      repeat {
        let key = try string()
        try expect(0x3A, "`:`")
        switch key {
        case "caller": caller = try string()
        case "op": op = try string()
        case "target": target = try optionalString()
        case "arguments": arguments = try optionalStrings("queries[\(index)].arguments")
        case "situations": situations = try optionalStrings("queries[\(index)].situations")
        case "object": query.object = try optionalString()
        case "irq": query.irq = try optionalUInt32("queries[\(index)].irq")
        case "pci": query.pci = try optionalString()
        case "iomem": query.iomem = try optionalString()
        case "ioport": query.ioport = try optionalString()
        case "dt": query.dt = try optionalString()
        default: throw ServiceError(400, "request.unknown-field", "unknown field `queries[\(index)].\(key)`")
        }
      } while take(0x2C)
      try expect(0x7D, "`}`")
    }
    guard let caller else { throw ServiceError(400, "request.malformed", "`queries[\(index)].caller` is missing") }
    guard let op else { throw ServiceError(400, "request.malformed", "`queries[\(index)].op` is missing") }
    query.caller = caller
    query.op = op
    query.target = target
    query.arguments = arguments
    query.situations = situations
    return query
  }

  mutating func request() throws(ServiceError) -> BatchRequestV1 {
    try expect(0x7B, "a JSON object")
    var module: ModuleV1?
    var queries: [BatchRequestV1.Query]?
    if !take(0x7D) {
      repeat {
        let key = try string()
        try expect(0x3A, "`:`")
        switch key {
        case "module":
          if let text = try optionalString() {
            guard let m = ModuleV1(rawValue: text) else {
              throw ServiceError(400, "request.malformed", "`module` must be \"dummy\", \"silo\" or \"flask\"")
            }
            module = m
          }
        case "queries":
          try expect(0x5B, "an array for `queries`")
          var list: [BatchRequestV1.Query] = []
          var seen = ByteRangeTable<Int32>()
          if !foldRepeats { list.reserveCapacity(bytes.count / 48) }
          if !take(0x5D) {
            repeat {
              guard foldRepeats else {
                list.append(try query(list.count))
                continue
              }
              skipSpace()
              let start = i
              // Where a repeat would end: the first `}` while no query has held one in a string
              // (a query seen before with the same bytes up to there is that query, since the
              // reader's answer for an object depends on its bytes alone, read left to right up to
              // its `}`), the object's true end after that.
              let candidate =
                bracesInStrings
                ? objectEnd().map { (end: $0, hash: ByteHash.of(bytes, start..<$0)) } : ByteHash.toFirstClose(bytes, from: start)
              if let candidate, let known = seen.value(of: start..<candidate.end, hash: candidate.hash, in: bytes) {
                i = candidate.end
                order.append(known)
                continue
              }
              // Numbered by position in the body, as without folding.
              let q = try query(order.count)
              if i != candidate?.end { bracesInStrings = true }
              seen.insert(start..<i, hash: i == candidate?.end ? candidate!.hash : ByteHash.of(bytes, start..<i), value: Int32(list.count))
              order.append(Int32(list.count))
              list.append(q)
            } while take(0x2C)
            try expect(0x5D, "`]`")
          }
          queries = list
        default:
          throw ServiceError(400, "request.unknown-field", "unknown field `\(key)`")
        }
      } while take(0x2C)
      try expect(0x7D, "`}`")
    }
    skipSpace()
    guard i == bytes.count else { throw fail("text after the JSON object") }
    guard let queries else { throw ServiceError(400, "request.malformed", "`queries` is missing") }
    return BatchRequestV1(module: module, queries: queries)
  }
}

/// A hash of a byte range, read eight bytes at a time; its length is mixed
/// in last, so the range up to a `}` can be hashed while the `}` is looked for.
enum ByteHash {
  private static let seed: UInt64 = 0x9E37_79B9_7F4A_7C15

  private static func mix(_ h: UInt64, _ word: UInt64) -> UInt64 {
    let m = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
    return m ^ (m >> 32)
  }

  /// `tail` holds the range's last `count % 8` bytes, little endian.
  private static func finish(_ h: UInt64, tail: UInt64, count: Int) -> UInt64 {
    let m = ((h ^ tail) &* 0xC4CE_B9FE_1A85_EC53) ^ (UInt64(truncatingIfNeeded: count) &* seed)
    return m ^ (m >> 29)
  }

  /// The hash of `range` of `bytes`.
  static func of(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
    bytes.withUnsafeBytes { raw -> UInt64 in
      var h = seed
      var k = range.lowerBound
      while k + 8 <= range.upperBound {
        h = mix(h, raw.loadUnaligned(fromByteOffset: k, as: UInt64.self))
        k += 8
      }
      var tail: UInt64 = 0
      var shift: UInt64 = 0
      while k < range.upperBound {
        tail |= UInt64(raw[k]) << shift
        shift += 8
        k += 1
      }
      return finish(h, tail: tail, count: range.count)
    }
  }

  /// One past the first `}` from `start`, and the hash of the bytes from `start` to there
  /// (`of(bytes, start..<end)`), in one pass; nil when no `}` follows.
  static func toFirstClose(_ bytes: [UInt8], from start: Int) -> (end: Int, hash: UInt64)? {
    bytes.withUnsafeBytes { raw -> (end: Int, hash: UInt64)? in
      var h = seed
      var k = start
      while k + 8 <= raw.count {
        let word = raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)
        // A high bit for each `}` byte; the lowest one set is exact (borrows only run upwards).
        let x = word ^ 0x7D7D_7D7D_7D7D_7D7D
        let closes = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
        if closes != 0 {
          let taken = closes.trailingZeroBitCount / 8 + 1
          if taken == 8 { return (k + 8, finish(mix(h, word), tail: 0, count: k + 8 - start)) }
          return (k + taken, finish(h, tail: word & ((1 << (8 * UInt64(taken))) - 1), count: k + taken - start))
        }
        h = mix(h, word)
        k += 8
      }
      var tail: UInt64 = 0
      var shift: UInt64 = 0
      while k < raw.count {
        let b = raw[k]
        tail |= UInt64(b) << shift
        shift += 8
        k += 1
        if b == 0x7D { return (k, finish(h, tail: tail, count: k - start)) }
      }
      return nil
    }
  }
}

/// Byte ranges of one batch body and a value for each, found again by
/// their bytes: an open-addressing table, so a range met again costs a hash,
/// a compare and no key made or counted. The batch reader keeps two: the
/// queries seen so far (the same bytes ask the same question) and the strings
/// read so far (a batch names the same few domains and ops thousands of
/// times). A probe goes at most `maximumProbe` slots; a range that finds
/// neither itself nor a free slot there is treated as new, so bytes made to
/// collide cost the folding, never quadratic time.
struct ByteRangeTable<Value> {
  private var hashes: [UInt64]
  private var starts: [Int]
  private var counts: [Int]
  /// The value of each slot; nil for a free one.
  private var values: [Value?]
  private(set) var count = 0
  static var maximumProbe: Int { 32 }

  init(capacity: Int = 1024) {
    hashes = [UInt64](repeating: 0, count: capacity)
    starts = [Int](repeating: 0, count: capacity)
    counts = [Int](repeating: 0, count: capacity)
    values = [Value?](repeating: nil, count: capacity)
  }

  /// The value kept for a range with the same bytes as `range`, if any.
  func value(of range: Range<Int>, hash: UInt64, in bytes: [UInt8]) -> Value? {
    let mask = values.count - 1
    var slot = Int(truncatingIfNeeded: hash) & mask
    for _ in 0..<Self.maximumProbe {
      guard let value = values[slot] else { return nil }
      if hashes[slot] == hash, counts[slot] == range.count, Self.same(bytes, starts[slot], range) {
        return value
      }
      slot = (slot + 1) & mask
    }
    return nil
  }

  /// Keeps `value` for `range` (unless its probe finds no free slot).
  mutating func insert(_ range: Range<Int>, hash: UInt64, value: Value) {
    if (count + 1) * 2 > values.count { grow() }
    let mask = values.count - 1
    var slot = Int(truncatingIfNeeded: hash) & mask
    for _ in 0..<Self.maximumProbe {
      if values[slot] == nil {
        hashes[slot] = hash
        starts[slot] = range.lowerBound
        counts[slot] = range.count
        values[slot] = value
        count += 1
        return
      }
      slot = (slot + 1) & mask
    }
  }

  private mutating func grow() {
    let old = self
    self = ByteRangeTable(capacity: values.count * 2)
    for slot in old.values.indices {
      guard let value = old.values[slot] else { continue }
      let start = old.starts[slot]
      insert(start..<(start + old.counts[slot]), hash: old.hashes[slot], value: value)
    }
  }

  private static func same(_ bytes: [UInt8], _ start: Int, _ range: Range<Int>) -> Bool {
    bytes.withUnsafeBufferPointer { p in memcmp(p.baseAddress! + start, p.baseAddress! + range.lowerBound, range.count) == 0 }
  }
}
