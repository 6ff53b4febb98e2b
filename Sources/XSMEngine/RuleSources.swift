import XSMDiagnostics

/// Where the engine finds the source rules behind a policy's binary rules,
/// for the citations of a `--why` trace: a lookup built from the policy's
/// tree or policy.conf (by the compiler, which the executables hand in), or
/// a note saying why there is none.
public struct RuleSources: Sendable {
  /// The source rules behind (source type, target type, class, permission) under the named booleans.
  public typealias Lookup = @Sendable (
    _ source: String, _ target: String, _ className: String, _ permission: String, _ booleans: [String: Bool]
  ) -> RuleCitations

  /// Nil when there is no map (see `note`).
  public let lookup: Lookup?
  /// Why there is no map, or what to know about the one there is.
  public let note: String?

  public init(lookup: Lookup?, note: String? = nil) {
    self.lookup = lookup
    self.note = note
  }

  /// No map, for `reason`.
  public static func none(_ reason: String) -> RuleSources { RuleSources(lookup: nil, note: reason) }

  /// What a host whose policy is a binary without a source map says (the
  /// embedded policy too: xsmd reloads it from its state as a binary, and
  /// the note must not change across a restart).
  public static let binaryWithoutMap = RuleSources.none(
    "no source map: the policy is a binary; build it with xsmc build --origins to get file:line")
}
