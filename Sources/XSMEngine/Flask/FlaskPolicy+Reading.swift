import Synchronization

extension FlaskPolicy {
  /// Policies read recently, most recent first, by the SHA-256 of their
  /// bytes. A `FlaskPolicy` never changes once read, so hosts loaded from
  /// the same bytes (every xsmq question on the embedded policy, xsmd
  /// reloading what it already holds) share one reading instead of queueing
  /// for libsepol again.
  private static let recent = Mutex<[(digest: String, policy: FlaskPolicy)]>([])

  /// How many readings `recent` keeps.
  private static let recentLimit = 4

  /// The engine for `binary`: the reading of the same bytes made before, or a new one.
  ///
  /// - Throws: ``FlaskPolicyError`` `flask.policy-read-failed`, as ``init(binary:)``.
  public static func reading(_ binary: [UInt8]) async throws(FlaskPolicyError) -> FlaskPolicy {
    let digest = sha256Hex(binary)
    if let known = recent.withLock({ list in list.first { $0.digest == digest }?.policy }) { return known }
    let policy = try await FlaskPolicy(binary: binary)
    recent.withLock { list in
      list.removeAll { $0.digest == digest }
      list.insert((digest, policy), at: 0)
      if list.count > recentLimit { list.removeLast() }
    }
    return policy
  }
}
