import Foundation

// xsmd's wire contract, version 1: every route, the JSON conventions, and
// the bodies every route shares (errors, empty replies). xsmd's router and
// xsmq's client both read the routes from here.

/// Every route xsmd serves: its method and path template. The raw value is
/// the route's `operationId` in the OpenAPI document.
public enum RouteV1: String, Sendable, CaseIterable {
  case flaskLoad, flaskGetEnforce, flaskSetEnforce, flaskContextToSID, flaskSIDToContext, flaskAccess, flaskCreate
  case flaskRelabel, flaskMember, flaskPolicyVersion, flaskGetBool, flaskSetBool, flaskCommitBools, flaskMLS
  case flaskGetAVCThreshold, flaskSetAVCThreshold, flaskAVCHashStats, flaskAVCCacheStats, flaskAddOcontext
  case flaskDelOcontext, flaskGetPeerSID, flaskRelabelDomain, flaskDeviceTreeLabel
  case xsmIdentity, can, canBatch, canProduct, decisions, matrix, explain, listDomains, addDomain, removeDomain, relabelDomainByContext
  case issueToken, listTokens, revokeToken
  case hypercallFlask, hypercallIdentity
  case health, ready, metrics, openAPI

  /// An HTTP method a route takes.
  public enum Method: String, Sendable {
    case get = "GET", put = "PUT", post = "POST", delete = "DELETE"
  }

  /// The header naming the calling domain (a domain name or `domN`). Under
  /// authentication it may only repeat the authenticated domain.
  public static let callerHeader = "Xen-Caller"

  /// The route's `operationId` in the OpenAPI document.
  public var operationID: String { rawValue }

  /// The HTTP method the route takes.
  public var method: Method {
    switch self {
    case .flaskGetEnforce, .flaskPolicyVersion, .flaskMLS, .flaskGetAVCThreshold, .flaskAVCHashStats,
      .flaskAVCCacheStats, .xsmIdentity, .decisions, .listDomains, .listTokens, .health, .ready, .metrics, .openAPI:
      .get
    case .flaskSetEnforce, .flaskSetAVCThreshold: .put
    case .removeDomain, .revokeToken: .delete
    case .flaskLoad, .flaskContextToSID, .flaskSIDToContext, .flaskAccess, .flaskCreate, .flaskRelabel, .flaskMember,
      .flaskGetBool, .flaskSetBool, .flaskCommitBools, .flaskAddOcontext, .flaskDelOcontext, .flaskGetPeerSID,
      .flaskRelabelDomain, .flaskDeviceTreeLabel, .can, .canBatch, .canProduct, .matrix, .explain, .addDomain, .relabelDomainByContext, .issueToken,
      .hypercallFlask, .hypercallIdentity:
      .post
    }
  }

  /// The path template; `{name}` stands for a path parameter.
  public var path: String {
    switch self {
    case .flaskLoad: "/v1/flask/load"
    case .flaskGetEnforce, .flaskSetEnforce: "/v1/flask/enforce"
    case .flaskContextToSID: "/v1/flask/context-to-sid"
    case .flaskSIDToContext: "/v1/flask/sid-to-context"
    case .flaskAccess: "/v1/flask/access"
    case .flaskCreate: "/v1/flask/create"
    case .flaskRelabel: "/v1/flask/relabel"
    case .flaskMember: "/v1/flask/member"
    case .flaskPolicyVersion: "/v1/flask/policyvers"
    case .flaskGetBool: "/v1/flask/getbool"
    case .flaskSetBool: "/v1/flask/setbool"
    case .flaskCommitBools: "/v1/flask/commitbools"
    case .flaskMLS: "/v1/flask/mls"
    case .flaskGetAVCThreshold, .flaskSetAVCThreshold: "/v1/flask/avc-threshold"
    case .flaskAVCHashStats: "/v1/flask/avc-hashstats"
    case .flaskAVCCacheStats: "/v1/flask/avc-cachestats"
    case .flaskAddOcontext: "/v1/flask/add-ocontext"
    case .flaskDelOcontext: "/v1/flask/del-ocontext"
    case .flaskGetPeerSID: "/v1/flask/get-peer-sid"
    case .flaskRelabelDomain: "/v1/flask/relabel-domain"
    case .flaskDeviceTreeLabel: "/v1/flask/devicetree-label"
    case .xsmIdentity: "/v1/xsm/identity"
    case .can: "/v1/can"
    case .canBatch: "/v1/can/batch"
    case .canProduct: "/v1/can/product"
    case .decisions: "/v1/decisions"
    case .matrix: "/v1/matrix"
    case .explain: "/v1/explain"
    case .listDomains, .addDomain: "/v1/domains"
    case .removeDomain: "/v1/domains/{domid}"
    case .relabelDomainByContext: "/v1/domains/{domid}/relabel"
    case .issueToken, .listTokens: "/v1/auth/tokens"
    case .revokeToken: "/v1/auth/tokens/{id}"
    case .health: "/healthz"
    case .ready: "/readyz"
    case .metrics: "/metrics"
    case .openAPI: "/openapi.json"
    case .hypercallFlask: "/v1/hypercall/flask/{op}"
    case .hypercallIdentity: "/v1/hypercall/xsmid/identity"
    }
  }
}

/// The wire's JSON conventions, for both ends: snake_case keys; written
/// with sorted keys and unescaped slashes, so the same value is the same bytes.
public enum WireJSON {
  /// An encoder for request and reply bodies.
  public static func makeEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return encoder
  }

  /// A decoder for request and reply bodies.
  public static func makeDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return decoder
  }
}

/// The body of every 4xx/5xx reply: `{"error": {"code", "message", "errno"?, "trace"?}}`.
public struct ErrorBodyV1: Codable, Sendable {
  /// What went wrong.
  public struct Detail: Codable, Sendable {
    /// A stable id: `request.malformed`, `guard.denied`, `flask.unknown-sid`, ...
    public var code: String
    public var message: String
    /// The errno Xen would return (`-EACCES`, `-EPERM`, `-ENOSYS`, ...), when one applies.
    public var errno: String?
    /// When Xen's guard denied a flask_op command: the guard's decision trace, as `/v1/can` gives it.
    public var trace: [TraceStepV1]?
    public init(code: String, message: String, errno: String? = nil, trace: [TraceStepV1]? = nil) {
      self.code = code
      self.message = message
      self.errno = errno
      self.trace = trace
    }
  }
  public var error: Detail
  public init(error: Detail) { self.error = error }
}

/// The reply of a command that answers nothing but success: `{}`.
public struct EmptyV1: Codable, Sendable, Equatable {
  public init() {}
}

/// `GET /healthz` and `GET /readyz` reply.
public struct StatusReplyV1: Codable, Sendable, Equatable {
  public var status: String
  public init(status: String) { self.status = status }
}
