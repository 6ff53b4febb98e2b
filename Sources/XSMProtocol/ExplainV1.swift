import Foundation

/// `POST /v1/explain`: logs holding Xen's avc lines (`xl dmesg`, a serial
/// log), explained against the policy xsmd has loaded. The reply is the
/// document `xsmq explain --json` prints (XSMAudit's `AVCReport`), so a
/// log reads the same explained locally or by the service.
public struct ExplainRequestV1: Codable, Sendable, Equatable {
  /// One log as the client read it: a name for line references (a file
  /// name, `stdin`) and its text.
  public struct Input: Codable, Sendable, Equatable {
    public var name: String
    public var text: String
    public init(name: String, text: String) {
      self.name = name
      self.text = text
    }
  }
  /// The logs, in order; lines are numbered within each.
  public var inputs: [Input]
  public init(inputs: [Input]) { self.inputs = inputs }

  /// The most lines one request may hold (all inputs together); more get 413 `explain.too-large`.
  public static let maximumLines = 100_000
}
