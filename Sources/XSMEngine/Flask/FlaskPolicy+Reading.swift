import Synchronization
import XSMDiagnostics
import XSMSepol

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

  /// The id of the error for bytes whose reading ran out of its budget.
  public static let budgetID = "flask.policy-read-budget"

  /// The engine for `binary`: the reading of the same bytes made before, or a
  /// new one. New bytes are read in a child process first, within `budget`
  /// (``PolicyReadGuard``), so no input can hang or exhaust the caller.
  ///
  /// - Throws: ``FlaskPolicyError`` `flask.policy-read-failed`, as
  ///   ``init(binary:)``; `flask.policy-read-budget` when the reading ran out
  ///   of time or memory.
  public static func reading(_ binary: [UInt8], budget: PolicyReadBudget = .init()) async throws(FlaskPolicyError)
    -> FlaskPolicy
  {
    if let known = recent.withLock({ list in list.first { $0.binary == binary }?.policy }) { return known }
    do {
      try await PolicyReadGuard.check(binary, budget: budget)
    } catch {
      let id = error.id == .sepol.policyReadBudget ? budgetID : "flask.policy-read-failed"
      throw FlaskPolicyError(id: id, message: error.message)
    }
    let policy = try await FlaskPolicy(binary: binary)
    recent.withLock { list in
      list.removeAll { $0.binary == binary }
      list.insert((binary, policy), at: 0)
      if list.count > recentLimit { list.removeLast() }
    }
    return policy
  }
}
