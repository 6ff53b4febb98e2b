import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import XSMProtocol
import XSMService

#if canImport(Glibc)
  import Glibc
#endif

/// How xsmd learns which domain is calling (docs/service.md, "Who is calling").
public enum CallerAuthentication: Sendable, Equatable {
  /// Development and tests only: the `Xen-Caller` header names the caller
  /// and is believed. Anyone who reaches the server is whoever they say.
  case callerHeader
  /// Deployment: on the Unix socket the peer's uid (`SO_PEERCRED`) is mapped
  /// to a domain through `uids` (the system file's `[callers]`); on TCP, or on
  /// either with an `Authorization` header, a bearer token issued to one
  /// domain. `Xen-Caller` may then only repeat the authenticated domain.
  case credentials(uids: [UInt32: String])
}

/// xsmd's request context: Hummingbird's, plus the connection the request
/// came on, whose peer credentials identify a caller on the Unix socket.
public struct XSMRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  let channel: any Channel

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}

/// The request headers xsmd reads, found in one pass over the fields (an
/// `HTTPFields` lookup by name walks them and joins the values each time,
/// which cost a /v1/can request more than its decision). A field sent more
/// than once reads as its values joined by ", ", as `HTTPFields`' subscript reads it.
struct RequestHeaderValues {
  var caller: String?
  var authorization: String?
  var contentType: String?
  var contentLength: String?

  init(_ fields: HTTPFields) {
    for field in fields {
      switch field.name {
      case .authorization: Self.add(field.value, to: &authorization)
      case .contentType: Self.add(field.value, to: &contentType)
      case .contentLength: Self.add(field.value, to: &contentLength)
      case CallerAuthenticator.callerField: Self.add(field.value, to: &caller)
      default: continue
      }
    }
  }

  private static func add(_ value: String, to slot: inout String?) {
    if let earlier = slot { slot = earlier + ", " + value } else { slot = value }
  }
}

enum CallerAuthenticator {
  static let callerField = HTTPField.Name(RouteV1.callerHeader)!
  /// The id of every 401: no credentials, or credentials that name no domain.
  static let unauthenticated = "auth.unauthenticated"

  /// The caller of a request under `configuration`'s authentication;
  /// `Caller("")` for a route that needs none.
  static func caller(
    _ route: Route, headers: RequestHeaderValues, context: XSMRequestContext, service: FlaskService,
    configuration: ServerConfiguration
  ) async throws(ServiceError) -> Caller {
    let header = headers.caller.map { String(trimmingSpaces($0)) } ?? ""
    switch configuration.authentication {
    case .callerHeader:
      guard route.needsCaller else { return Caller("") }
      guard !header.isEmpty else {
        throw ServiceError(
          400, "request.no-caller",
          "\(route.method.rawValue) \(route.path) needs the calling domain in the `\(RouteV1.callerHeader)` header (a domain name or domN)"
        )
      }
      return Caller(header)
    case .credentials(let uids):
      guard route.path.hasPrefix("/v1/") else { return Caller("") }
      let domid = try await authenticatedDomid(
        authorization: headers.authorization, context: context, uids: uids, service: service,
        configuration: configuration)
      // `domN` of the authenticated domid names it (no other domain may be named so); anything
      // else is looked up.
      if !header.isEmpty, header != domainReference(domid), service.domid(of: header) != domid {
        throw ServiceError(
          403, "auth.caller-mismatch",
          "the request is authenticated as dom\(domid); `\(RouteV1.callerHeader): \(header)` may only name that domain")
      }
      return Caller(domainReference(domid))
    }
  }

  /// `domN` for the first domids, made once: a request's caller is named so on every request.
  static let commonReferences = (0..<256).map { "dom\($0)" }
  static func domainReference(_ domid: Int) -> String {
    commonReferences.indices.contains(domid) ? commonReferences[domid] : "dom\(domid)"
  }

  private static func authenticatedDomid(
    authorization: String?, context: XSMRequestContext, uids: [UInt32: String], service: FlaskService,
    configuration: ServerConfiguration
  ) async throws(ServiceError) -> Int {
    if let authorization {
      guard let token = bearerToken(authorization) else {
        throw ServiceError(401, unauthenticated, "the Authorization header must be `Bearer TOKEN`")
      }
      guard let domid = service.tokens.domid(forToken: token) else {
        throw ServiceError(401, unauthenticated, "the bearer token is not one xsmd issued, or it was revoked")
      }
      return domid
    }
    guard configuration.unixSocket != nil else {
      throw ServiceError(
        401, unauthenticated, "send `Authorization: Bearer TOKEN` (a token a control domain issued for the caller)")
    }
    guard let uid = await peerUID(context.channel) else {
      throw ServiceError(401, unauthenticated, "the peer's credentials (SO_PEERCRED) could not be read")
    }
    guard let reference = uids[uid] else {
      throw ServiceError(
        401, unauthenticated, "uid \(uid) is not in the system's [callers] table, and no bearer token was sent")
    }
    guard let domid = service.domid(of: reference) else {
      throw ServiceError(401, unauthenticated, "uid \(uid) calls as `\(reference)`, which is no domain on this host now")
    }
    return domid
  }

  /// The token of `Bearer TOKEN` (the scheme in any case, RFC 9110 §11.1), or nil for another form.
  /// A slice of `value`: checking it copies nothing.
  static func bearerToken(_ value: String) -> Substring? {
    let bytes = value.utf8
    let scheme = "bearer".utf8
    guard bytes.count > scheme.count + 1 else { return nil }
    var index = bytes.startIndex
    for expected in scheme {
      // ASCII letters only: setting bit 5 folds A-Z onto a-z.
      guard bytes[index] | 0x20 == expected else { return nil }
      index = bytes.index(after: index)
    }
    guard bytes[index] == UInt8(ascii: " ") else { return nil }
    let token = trimmingSpaces(value[bytes.index(after: index)...])
    return token.isEmpty ? nil : token
  }

  /// A header value without the spaces and tabs around it (HTTP's optional white space), without
  /// Foundation's Unicode-aware trimming, which took a tenth of a `/v1/can` request.
  /// Walks the UTF-8 bytes: space and tab are single bytes, and stepping by `Character` (grapheme
  /// breaking) was a visible share of the request too.
  static func trimmingSpaces(_ text: some StringProtocol) -> Substring {
    let value = Substring(text)
    let bytes = value.utf8
    let isSpace: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
    else { return "" }
    // A half-open range of UTF-8 indices: both ends fall on scalar boundaries (the byte after `last`
    // is a space, a tab or the end), where a closed range would step from inside the last scalar.
    return value[first..<bytes.index(after: last)]
  }

  /// The uid of the process at the other end of a Unix socket (`SO_PEERCRED`).
  static func peerUID(_ channel: any Channel) async -> UInt32? {
    #if os(Linux)
      guard let provider = channel as? any SocketOptionProvider else { return nil }
      // `struct ucred { pid_t pid; uid_t uid; gid_t gid; }` (Glibc shows it only under _GNU_SOURCE),
      // read as a tuple of the same layout.
      typealias Credentials = (pid: Int32, uid: UInt32, gid: UInt32)
      let credentials: Credentials? = try? await provider.unsafeGetSocketOption(
        level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
      ).get()
      return credentials?.uid
    #else
      return nil
    #endif
  }
}

/// Creates the Unix socket with exactly `mode` (0600 or 0660), never the
/// umask's: the process umask is narrowed from before the bind until
/// `restore()` (called once the server listens), then the mode is set explicitly.
public struct UnixSocketPermissions: Sendable {
  let path: String
  let mode: UInt16
  let previousUmask: UInt16

  /// Narrows the umask so the socket file is created with at most `mode`.
  public init(path: String, mode: UInt16) {
    self.path = path
    self.mode = mode
    previousUmask = UInt16(umask(mode_t(~mode & 0o777)))
  }

  /// Sets the socket's mode and restores the umask; throws when chmod fails.
  public func restore() throws {
    defer { umask(mode_t(previousUmask)) }
    guard chmod(path, mode_t(mode)) == 0 else {
      throw ServiceError(500, "server.socket-mode", "cannot set mode \(String(mode, radix: 8)) on `\(path)`: errno \(errno)")
    }
  }
}
