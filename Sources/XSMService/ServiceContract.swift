import Foundation
import XSMProtocol

// What FlaskService gives its HTTP layer besides the wire types: who is
// asking, how a request failed, and the numbers behind `/metrics`.

/// A refusal or failure the HTTP layer turns into a 4xx/5xx with an `ErrorBodyV1`.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
  /// HTTP status: 400 malformed, 403 denied by Xen's guard, 404 unknown name/SID,
  /// 409 conflict (EEXIST), 413 too large, 422 rejected by the policy, 501 not under this module, 500 internal.
  public var status: Int
  /// A stable id: `request.malformed`, `guard.denied`, `flask.unknown-sid`, ...
  public var code: String
  /// The errno Xen would return (`-EACCES`, `-EPERM`, `-ENOSYS`, `-EINVAL`, `-ENOENT`, `-EEXIST`), when one applies.
  public var errno: String?
  public var message: String
  /// For a flask_op command Xen's guard denied: the decision's trace, in the
  /// shape `/v1/can` gives it (the guard is the decision of the command's
  /// `xsm.flask_op.*` op).
  public var trace: [TraceStepV1]?

  public init(_ status: Int, _ code: String, _ message: String, errno: String? = nil, trace: [TraceStepV1]? = nil) {
    self.status = status
    self.code = code
    self.message = message
    self.errno = errno
    self.trace = trace
  }
  public var description: String { "\(code): \(message)" }

  /// The error's reply body.
  public var body: ErrorBodyV1 {
    ErrorBodyV1(error: .init(code: code, message: message, errno: errno, trace: trace))
  }
}

/// Who is asking: the calling domain, by `domN` or name.
public struct Caller: Sendable, Hashable {
  public var domain: String
  public init(_ domain: String) { self.domain = domain }
}

/// What `/metrics` reports beyond per-route counters (kept by the HTTP layer).
public struct ServiceGauges: Sendable {
  public var sequence: UInt64
  /// Access vector cache hits and misses since start.
  public var cacheHits: Int
  public var cacheMisses: Int
  public var cacheEntries: Int
  public var domains: Int
  public var decisionsLogged: Int
  /// `/v1/can` replies the current snapshot keeps.
  public var replyMemoEntries: Int
  public init(sequence: UInt64, cacheHits: Int, cacheMisses: Int, cacheEntries: Int, domains: Int, decisionsLogged: Int,
    replyMemoEntries: Int = 0)
  {
    self.sequence = sequence
    self.cacheHits = cacheHits
    self.cacheMisses = cacheMisses
    self.cacheEntries = cacheEntries
    self.domains = domains
    self.decisionsLogged = decisionsLogged
    self.replyMemoEntries = replyMemoEntries
  }
}

/// A batch of questions with the repeated ones folded: each distinct
/// question once, and for each query in order the index of its question.
/// The batch route reads its body into this shape (a query whose bytes were
/// seen before is not read again); `order` may hold at most 100 000 queries.
public struct BatchQuestions: Sendable {
  public var module: ModuleV1?
  public var distinct: [BatchRequestV1.Query]
  public var order: [Int32]
  public init(module: ModuleV1?, distinct: [BatchRequestV1.Query], order: [Int32]) {
    self.module = module
    self.distinct = distinct
    self.order = order
  }
}
