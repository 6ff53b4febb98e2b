import CSepol

/// What the hypervisor does with classes and permissions that it knows but
/// the policy does not declare (`handle_unknown` in the binary header).
public enum HandleUnknown: String, Sendable, CaseIterable, Codable {
  /// Deny them (the Xen default; no flag in the header).
  case deny
  /// Refuse to load the policy (header flag 0x2; Xen ignores this flag).
  case reject
  /// Allow them (header flag 0x4).
  case allow

  var sepolValue: Int32 {
    switch self {
    case .deny: SEPOL_DENY_UNKNOWN
    case .reject: SEPOL_REJECT_UNKNOWN
    case .allow: SEPOL_ALLOW_UNKNOWN
    }
  }

  init(sepolValue: UInt32) {
    if sepolValue & UInt32(SEPOL_ALLOW_UNKNOWN) != 0 {
      self = .allow
    } else if sepolValue & UInt32(SEPOL_REJECT_UNKNOWN) != 0 {
      self = .reject
    } else {
      self = .deny
    }
  }
}

/// Options for building a Xen binary policy.
public struct SepolBuildOptions: Sendable, Equatable {
  /// Binary policy version: 30 (device-tree labels, 64-bit iomem) or 24.
  /// Xen rejects every other version, and so does ``CILCompiler``.
  public var policyVersion: Int = 30
  /// Build an MLS policy (sensitivities and categories become part of every
  /// context).
  public var mls = false
  /// The `handle_unknown` header setting.
  public var handleUnknown: HandleUnknown = .deny

  /// Creates options; the defaults match Xen's own policy build.
  public init(policyVersion: Int = 30, mls: Bool = false, handleUnknown: HandleUnknown = .deny) {
    self.policyVersion = policyVersion
    self.mls = mls
    self.handleUnknown = handleUnknown
  }
}

/// A binary policy produced by ``CILCompiler``.
public struct CompiledPolicy: Sendable {
  /// The binary policy, as Xen loads it (magic `0xf97cff8c`, target `XenFlask`).
  public var binary: [UInt8]
  /// Messages CIL/libsepol logged while succeeding (normally warnings).
  public var messages: [SepolMessage]

  /// Creates a compiled policy value.
  public init(binary: [UInt8], messages: [SepolMessage] = []) {
    self.binary = binary
    self.messages = messages
  }
}
