import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import Prometheus
import XSMProtocol
import XSMService

/// Counters and admission control shared by every request of one server.
final class ServerState: Sendable {
  let configuration: ServerConfiguration
  let metrics: RequestMetrics
  let limiter: RequestLimiter
  let table: RouteTable
  let unlimitedPaths: Set<String>

  init(configuration: ServerConfiguration, metrics: PrometheusCollectorRegistry, table: RouteTable = .shared) {
    self.configuration = configuration
    self.metrics = RequestMetrics(registry: metrics)
    self.table = table
    limiter = RequestLimiter(
      maxConcurrent: configuration.maxConcurrentRequests, ratePerSecond: configuration.maxRequestsPerSecond)
    unlimitedPaths = Set(table.routes.filter { !$0.limited }.map(\.path))
  }
}

/// The router of xsmd: one route per operation (see `RouteTable`), behind
/// admission control, metrics and JSON error replies.
public func buildRouter(service: FlaskService, configuration: ServerConfiguration) -> Router<XSMRequestContext> {
  buildRouter(service: service, state: ServerState(configuration: configuration, metrics: service.metricsRegistry))
}

func buildRouter(service: FlaskService, state: ServerState) -> Router<XSMRequestContext> {
  let router = Router(context: XSMRequestContext.self)
  // Each route's handler does its own admission and metrics (`RouteDispatcher.respond`), so a request
  // passes through no middleware layer; the middleware, added after the routes, wraps only what no
  // route matched (Hummingbird applies a middleware to the endpoints added after it, and to the
  // not-found responder).
  for route in state.table.routes {
    let meter = RouteMeter(route: route.path, metrics: state.metrics)
    router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
      await RouteDispatcher.respond(route, meter: meter, request: request, context: context, service: service, state: state)
    }
    // HEAD wherever GET is: GET's status and headers, no body (RFC 9110 §9.3.2).
    if route.method == .get {
      router.on(RouterPath(route.path), method: .head) { request, context -> Response in
        var response = await RouteDispatcher.respond(
          route, meter: meter, request: request, context: context, service: service, state: state)
        response.body = ResponseBody()
        return response
      }
    }
  }
  router.add(middleware: ServiceMiddleware(state: state))
  return router
}

/// The xsmd application: the router bound to `configuration`'s address (a
/// Unix socket when one is set, else host and port; over TLS when a
/// certificate and key are set). `onRunning` is called with the bound address
/// once the server listens. The library prints nothing; it throws when the
/// TLS files cannot be read.
public func makeApplication(
  service: FlaskService, configuration: ServerConfiguration,
  onRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
  let address: BindAddress =
    configuration.unixSocket.map { .unixDomainSocket(path: $0) }
    ?? .hostname(configuration.host, port: configuration.port)
  var logger = Logger(label: "xsmd")
  logger.logLevel = .warning
  // Each connection's HTTP/1 channel keeps the request deadlines (slow or idle clients are dropped).
  var server = HTTPServerBuilder { responder in
    DeadlineHTTP1Channel(inner: HTTP1Channel(responder: responder), timeouts: configuration.timeouts)
  }
  var scheme = "http"
  if configuration.unixSocket == nil, let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
    let tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
    server = try .tls(server, tlsConfiguration: tls)
    scheme = "https"
  }
  return Application(
    router: buildRouter(service: service, configuration: configuration),
    server: server,
    configuration: ApplicationConfiguration(address: address, serverName: "xsmd"),
    onServerRunning: { [scheme] channel in
      await onRunning(describe(channel.localAddress, unixSocket: configuration.unixSocket, scheme: scheme))
    },
    logger: logger)
}

private func describe(_ address: SocketAddress?, unixSocket: String?, scheme: String) -> String {
  if let unixSocket { return "unix:\(unixSocket)" }
  guard let address else { return "unknown address" }
  switch address {
  case .v4: return "\(scheme)://\(address.ipAddress ?? "?"):\(address.port ?? 0)"
  case .v6: return "\(scheme)://[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
  case .unixDomainSocket: return "unix:\(address.pathname ?? "?")"
  }
}

// MARK: Replies

enum Replies {
  /// The headers of a JSON reply, made once (most replies are JSON).
  static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

  static func response(_ reply: RouteReply) -> Response {
    Response(
      status: reply.status == 200 ? .ok : HTTPResponse.Status(code: reply.status),
      headers: reply.contentType == "application/json" ? jsonHeaders : [.contentType: reply.contentType],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
  }

  /// `{"error": {"code", "message", "errno"?, "trace"?}}` with the error's status.
  static func error(_ error: ServiceError, headers extra: HTTPFields = [:]) -> Response {
    let status = (400...599).contains(error.status) ? error.status : 500
    let data = (try? WireJSON.makeEncoder().encode(error.body)) ?? Data(#"{"error":{"code":"internal","message":""}}"#.utf8)
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extra)
    if status == 429 || status == 503 { headers[.retryAfter] = "1" }
    return Response(
      status: HTTPResponse.Status(code: status), headers: headers,
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }
}

// MARK: Per-route work

enum RouteDispatcher {
  static func respond(
    _ route: Route, meter: RouteMeter, request: Request, context: XSMRequestContext, service: FlaskService,
    state: ServerState
  ) async -> Response {
    await Admission.answer(request, meter: meter, limited: route.limited, state: state) {
      await answer(route, request: request, context: context, service: service, state: state)
    }
  }

  static func answer(
    _ route: Route, request: Request, context: XSMRequestContext, service: FlaskService, state: ServerState
  ) async -> Response {
    do {
      let headers = RequestHeaderValues(request.headers)
      let caller = try await CallerAuthenticator.caller(
        route, headers: headers, context: context, service: service, configuration: state.configuration)
      let body = try await readBody(route, request: request, headers: headers, configuration: state.configuration)
      var pathParameters: [String: String] = [:]
      for name in route.pathParameterNames { pathParameters[name] = context.parameters.get(name) }
      var query: [String: String] = [:]
      if !route.query.isEmpty {
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
      }
      let requestSchema: Schema? =
        if case .json(let schema) = route.requestBody { schema } else { nil }
      let input = RouteInput(
        caller: caller, body: body, pathParameters: pathParameters, query: query, requestSchema: requestSchema,
        components: state.table.components, server: state)
      return Replies.response(try await route.handle(service, input))
    } catch let error as ServiceError {
      return Replies.error(error)
    } catch {
      return Replies.error(ServiceError(500, "internal", "\(error)"))
    }
  }

  /// The body, within the route's content type and size limit.
  static func readBody(
    _ route: Route, request: Request, headers: RequestHeaderValues, configuration: ServerConfiguration
  ) async throws -> [UInt8] {
    let limit: Int
    let expected: String
    switch route.requestBody {
    case .none: return []
    case .json:
      limit = configuration.maxJSONBody
      expected = "application/json"
    case .binary(let binaryLimit):
      limit = binaryLimit
      expected = "application/octet-stream"
    }
    if let contentType = headers.contentType, contentType != expected {
      let mediaType = contentType.split(separator: ";").first.map {
        $0.trimmingCharacters(in: .whitespaces).lowercased()
      } ?? ""
      let accepted = mediaType == expected || (expected == "application/json" && mediaType.hasSuffix("+json"))
      guard accepted else {
        throw ServiceError(
          415, "request.unsupported-media-type",
          "\(route.method.rawValue) \(route.path) takes \(expected), not `\(contentType)`")
      }
    }
    // Made only when a body is refused: the message costs a request more than reading its body.
    func tooLarge() -> ServiceError {
      ServiceError(413, "request.too-large", "\(route.method.rawValue) \(route.path) takes at most \(limit) bytes")
    }
    let length = headers.contentLength.flatMap { Int($0) }
    if let length, length > limit { throw tooLarge() }
    var bytes: [UInt8] = []
    // The stated length (within the limit) is room made once, not grown into chunk by chunk.
    if let length, length > 0 { bytes.reserveCapacity(length) }
    do {
      for try await chunk in request.body {
        guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge() }
        // Copied as one block (appending the bytes view walks it with an iterator).
        chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
      }
    } catch let error as ServiceError {
      throw error
    } catch {
      // The client's framing (a malformed chunk size, a body cut short), never the server's fault.
      throw ServiceError(400, "request.bad-framing", "the request body could not be read: \(error)")
    }
    return bytes
  }
}

// MARK: Admission, metrics, errors

/// Admission control (busy, rate limit) and request metrics around one
/// answer: every route's handler runs through it, and so does the
/// middleware that answers what no route matched.
enum Admission {
  static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .delete, .patch, .options]

  static func answer(
    _ request: Request, meter: RouteMeter, limited: Bool, state: ServerState, _ answer: () async -> Response
  ) async -> Response {
    let start = ContinuousClock.now
    let response: Response
    if !limited {
      response = await answer()
    } else {
      switch state.limiter.admit(now: start) {
      case .admitted:
        defer { state.limiter.release() }
        response = await answer()
      case .busy:
        response = Replies.error(
          ServiceError(
            503, "server.busy",
            "more than \(state.configuration.maxConcurrentRequests) requests in flight; retry shortly"))
      case .rateLimited:
        response = Replies.error(
          ServiceError(
            429, "server.rate-limited",
            "over \(state.configuration.maxRequestsPerSecond) requests per second; retry shortly"))
      }
    }
    let seconds = Double(start.duration(to: .now).nanoseconds) * 1e-9
    // Labels stay few whatever clients send: unknown paths and methods are pooled.
    let method = knownMethods.contains(request.method) ? request.method.rawValue : "other"
    meter.record(method: method, status: response.status.code, seconds: seconds)
    return response
  }
}

/// JSON replies for whatever the router itself refuses (no route, wrong
/// method), admitted and counted as a route's request is.
struct ServiceMiddleware: RouterMiddleware {
  typealias Context = XSMRequestContext
  let state: ServerState
  /// Requests no route matched, counted under the route label `unmatched`.
  let unmatched: RouteMeter

  init(state: ServerState) {
    self.state = state
    unmatched = RouteMeter(route: "unmatched", metrics: state.metrics)
  }

  func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    // Only the not-found responder is behind this middleware; a path of a route asked with
    // another method lands here too, and `/healthz`-like paths stay unlimited.
    let limited = !state.unlimitedPaths.contains(request.uri.path)
    return await Admission.answer(request, meter: unmatched, limited: limited, state: state) {
      await answer(request, context: context, next: next)
    }
  }

  private func answer(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async -> Response {
    do {
      return try await next(request, context)
    } catch let error as ServiceError {
      return Replies.error(error)
    } catch let error as any HTTPResponseError {
      if error.status == .notFound, context.endpointPath == "NotFound" { return noRoute(request) }
      if error.status == .contentTooLarge {
        return Replies.error(ServiceError(413, "request.too-large", "the body is too large"))
      }
      return Replies.error(
        ServiceError(error.status.code, "request.rejected", error.status.reasonPhrase))
    } catch {
      return Replies.error(ServiceError(500, "internal", "\(error)"))
    }
  }

  private func noRoute(_ request: Request) -> Response {
    let path = request.uri.path
    let methods = state.table.methods(matching: path)
    if methods.isEmpty {
      return Replies.error(ServiceError(404, "request.no-route", "no route \(path); GET /openapi.json lists them"))
    }
    let allowed = methods.map(\.rawValue).joined(separator: ", ")
    return Replies.error(
      ServiceError(405, "request.method-not-allowed", "\(path) takes \(allowed), not \(request.method.rawValue)"),
      headers: [.allow: allowed])
  }
}
