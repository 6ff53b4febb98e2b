import Foundation

// xsmd's wire contract, version 1: bearer tokens for callers over TCP (`/v1/auth/tokens`).

/// `POST /v1/auth/tokens` request: a token for a domain (its name or `domN`).
public struct IssueTokenRequestV1: Codable, Sendable {
  public var domain: String
  public init(domain: String) { self.domain = domain }
}

/// A token as issued: `token` is shown this once; xsmd keeps only its SHA-256.
public struct IssuedTokenV1: Codable, Sendable, Equatable {
  /// The id that names the token for `DELETE /v1/auth/tokens/{id}` (not a secret).
  public var id: String
  /// The secret, sent as `Authorization: Bearer TOKEN`.
  public var token: String
  public var domid: Int
  public init(id: String, token: String, domid: Int) {
    self.id = id
    self.token = token
    self.domid = domid
  }
}

/// A token as `GET /v1/auth/tokens` lists it (never the secret).
public struct TokenRecordV1: Codable, Sendable, Equatable {
  public var id: String
  public var domid: Int
  /// Seconds since 1970 when it was issued.
  public var created: Double
  public init(id: String, domid: Int, created: Double) {
    self.id = id
    self.domid = domid
    self.created = created
  }
}
