import XSMCatalog

/// Which XSM module is in place and with what policy: the answer Xen gives
/// no hypercall for today, and `xsmq identity` does.
public struct XSMIdentity: Sendable, Codable, Hashable {
  public var system: String
  public var module: XSMModule
  public var enforcing: Bool?
  public var policySource: String
  public var policyVersion: Int?
  public var policyDigest: String?
  public var policyBytes: Int?
  public var mls: Bool?
  public var handleUnknown: String?
  /// Boolean values in force, by name.
  public var booleans: [String: Bool]
  /// The security server's sequence number (moves on every load, commit and switch to enforcing).
  public var sequence: UInt64?
  public var domains: Int
}

extension XenHost {
  /// The identity of this host.
  public var identity: XSMIdentity {
    let policy = server?.policy
    var booleans: [String: Bool] = [:]
    if let server, let policy {
      for (name, value) in zip(policy.booleanNames, server.booleans) { booleans[name] = value }
    }
    return XSMIdentity(
      system: spec.name, module: module, enforcing: module == .flask ? server?.enforcing : nil,
      policySource: policySource, policyVersion: policy?.policyVersion, policyDigest: policyDigest,
      policyBytes: policy == nil ? nil : policyBytes, mls: policy?.isMLS,
      handleUnknown: policy.map { $0.handleUnknownAllow ? "allow" : "deny" }, booleans: booleans,
      sequence: server?.sequence, domains: domains.count)
  }
}
