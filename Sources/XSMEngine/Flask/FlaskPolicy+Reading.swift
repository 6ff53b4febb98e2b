import Synchronization

extension FlaskPolicy {
  /// Policies read recently, most recent first, with the bytes they were
  /// read from. A `FlaskPolicy` never changes once read, so hosts loaded
  /// from the same bytes (every xsmq question on the embedded policy, xsmd
  /// reloading what it already holds) share one reading instead of queueing
  /// for libsepol again. Bytes are compared as they are (a memory compare,
  /// and the arrays share storage with the hosts that hold them).
  private static let recent = Mutex<[(binary: [UInt8], policy: FlaskPolicy)]>([])

  /// How many readings `recent` keeps.
  private static let recentLimit = 4

  /// The engine for `binary`: the reading of the same bytes made before, or a new one.
  ///
  /// - Throws: ``FlaskPolicyError`` `flask.policy-read-failed`, as ``init(binary:)``.
  public static func reading(_ binary: [UInt8]) async throws(FlaskPolicyError) -> FlaskPolicy {
    if let known = recent.withLock({ list in list.first { $0.binary == binary }?.policy }) { return known }
    let policy = try await FlaskPolicy(binary: binary)
    recent.withLock { list in
      list.removeAll { $0.binary == binary }
      list.insert((binary, policy), at: 0)
      if list.count > recentLimit { list.removeLast() }
    }
    return policy
  }
}
