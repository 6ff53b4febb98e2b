import ArgumentParser
import Foundation
import XSMAudit
import XSMCommandLine
import XSMProtocol

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

// An HTTP client for xsmd's /v1 routes (SPEC §9), in the terms of
// XSMProtocol: its routes, bodies, error body and JSON conventions. Each call
// waits for its answer and either returns the decoded reply or prints one
// clear line on stderr and throws the exit status the project uses: 2 when
// xsmd cannot be reached or refuses a request, 1 when Xen's guard denies the
// caller (the answer is "no").

/// Where xsmd is and who is calling: one instance per command.
struct ServiceClient: Sendable {
  /// The server's base URL, without a trailing slash.
  let base: URL
  /// The calling domain, sent as `Xen-Caller` (routes other than identity and GET domains need it).
  let caller: String?
  /// The bearer token xsmd issued for the caller: $XSMQ_TOKEN, or the first line of the file $XSMQ_TOKEN_FILE names.
  let token: String?
  let session: URLSession

  /// `server` is `http://host:port` (a bare `host:port` means http); a malformed URL is a usage error.
  init(server: String, caller: String?) throws {
    var text = server.trimmingCharacters(in: .whitespaces)
    if !text.contains("://") { text = "http://" + text }
    while text.hasSuffix("/") { text.removeLast() }
    guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil
    else { throw usageError("`\(server)` is not an xsmd URL (http://HOST:PORT)") }
    base = url
    self.caller = caller
    token = try Self.token(ProcessInfo.processInfo.environment)
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 120
    configuration.httpMaximumConnectionsPerHost = 1
    session = URLSession(configuration: configuration)
  }

  // MARK: Requests

  /// A route without a body (its path has no parameters).
  func get<Reply: Decodable>(_ route: RouteV1, query: [URLQueryItem] = [], as: Reply.Type = Reply.self)
    async throws -> Reply
  {
    try decode(Reply.self, try await send(route, query: query, body: nil, contentType: nil), path: route.path)
  }

  /// A route with a JSON body (its path has no parameters).
  func send<Body: Encodable, Reply: Decodable>(_ route: RouteV1, _ body: Body, as: Reply.Type = Reply.self)
    async throws -> Reply
  {
    let data = try WireJSON.makeEncoder().encode(body)
    return try decode(Reply.self, try await send(route, body: data, contentType: "application/json"), path: route.path)
  }

  /// Sends a raw body (a binary policy) and decodes the reply.
  func upload<Reply: Decodable>(_ route: RouteV1, _ bytes: Data, as: Reply.Type = Reply.self) async throws -> Reply {
    try decode(
      Reply.self, try await send(route, body: bytes, contentType: "application/octet-stream"), path: route.path)
  }

  /// One request; transport failures and error statuses are reported and become exit statuses.
  func send(_ route: RouteV1, query: [URLQueryItem] = [], body: Data?, contentType: String?) async throws -> Data {
    let path = route.path
    var components = URLComponents(url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)
    if !query.isEmpty { components?.queryItems = query }
    guard let url = components?.url else { throw usageError("cannot form a URL for `\(path)` on \(base)") }
    var request = URLRequest(url: url)
    request.httpMethod = route.method.rawValue
    request.setValue("application/json", forHTTPHeaderField: "Accept")
    if let caller { request.setValue(caller, forHTTPHeaderField: RouteV1.callerHeader) }
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    request.httpBody = body

    let (data, response): (Data, URLResponse)
    do {
      (data, response) = try await Self.perform(session, request)
    } catch {
      fail("xsmq: error: cannot reach xsmd at \(base.absoluteString): \(Self.describe(error))")
      throw ExitCode(2)
    }
    guard let http = response as? HTTPURLResponse else {
      fail("xsmq: error: xsmd at \(base.absoluteString) sent no HTTP response")
      throw ExitCode(2)
    }
    guard (200..<300).contains(http.statusCode) else { throw Self.report(status: http.statusCode, body: data) }
    return data
  }

  /// The token from the environment; an unreadable or empty $XSMQ_TOKEN_FILE is a usage error.
  static func token(_ environment: [String: String]) throws -> String? {
    if let token = environment["XSMQ_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty {
      return token
    }
    guard let file = environment["XSMQ_TOKEN_FILE"], !file.isEmpty else { return nil }
    guard let text = try? String(contentsOfFile: file, encoding: .utf8),
      let line = text.split(whereSeparator: \.isNewline).first.map({ $0.trimmingCharacters(in: .whitespaces) }),
      !line.isEmpty
    else { throw usageError("XSMQ_TOKEN_FILE `\(file)` cannot be read or holds no token") }
    return line
  }

  /// `URLSession.dataTask` as one awaited call.
  static func perform(_ session: URLSession, _ request: URLRequest) async throws -> (Data, URLResponse) {
    try await withCheckedThrowingContinuation { continuation in
      let task = session.dataTask(with: request) { data, response, error in
        if let error {
          continuation.resume(throwing: error)
        } else if let response {
          continuation.resume(returning: (data ?? Data(), response))
        } else {
          continuation.resume(throwing: URLError(.badServerResponse))
        }
      }
      task.resume()
    }
  }

  /// Prints the server's error and returns the exit status: 1 when Xen's
  /// guard denied the caller (403), else 2.
  static func report(status: Int, body: Data) -> ExitCode {
    if let e = try? WireJSON.makeDecoder().decode(ErrorBodyV1.self, from: body) {
      let errno = e.error.errno.map { " (\($0))" } ?? ""
      fail("xsmq: \(status == 403 ? "denied" : "error"): \(e.error.code): \(e.error.message)\(errno)")
      // The checks that refused, as `xsmq can --why` shows them.
      for step in e.error.trace ?? [] where step.outcome == .fail {
        let contexts = step.subject.map { subject in " (\(subject) -> \(step.object ?? "?"))" } ?? ""
        fail("  \(step.layer): \(step.text)\(contexts)")
      }
    } else {
      let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      fail("xsmq: error: xsmd answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")")
    }
    return ExitCode(status == 403 ? 1 : 2)
  }

  static func describe(_ error: any Error) -> String {
    if let url = error as? URLError {
      switch url.code {
      case .cannotConnectToHost: return "connection refused (is xsmd running?)"
      case .timedOut: return "no answer (timed out)"
      case .cannotFindHost: return "unknown host"
      case .networkConnectionLost: return "the connection was closed"
      default: break
      }
    }
    return error.localizedDescription
  }

  func decode<Reply: Decodable>(_ type: Reply.Type, _ data: Data, path: String) throws -> Reply {
    if Reply.self == EmptyV1.self, data.isEmpty, let empty = EmptyV1() as? Reply { return empty }
    do {
      return try WireJSON.makeDecoder().decode(Reply.self, from: data)
    } catch {
      fail("xsmq: error: xsmd sent a reply to `\(path)` that xsmq cannot read: \(error)")
      throw ExitCode(2)
    }
  }

  // MARK: Routes

  func identity() async throws -> IdentityV1 { try await get(.xsmIdentity) }
  func can(_ r: CanRequestV1) async throws -> CanReplyV1 { try await send(.can, r) }
  func matrix(_ r: MatrixRequestV1) async throws -> MatrixV1 { try await send(.matrix, r) }
  func explain(_ r: ExplainRequestV1) async throws -> AVCReport { try await send(.explain, r) }
}

extension ClassRefV1 {
  /// A class number when `text` is one, else a class name.
  init(_ text: String) { self = Int(text).map { .number($0) } ?? .name(text) }
}
