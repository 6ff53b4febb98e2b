import XSMEngine
import XSMPolicy
import XSMSepol

/// What xsmd checks of a policy sent to `load` before it replaces the running
/// one, beyond reading it: each failure is a 422 with a stable code, and the
/// running policy stays.
enum PolicyLoadChecks {
  /// The hypervisor xsmd stands for: the newest Xen release whose classes
  /// the running policy has (Xen loaded that policy, so its classes are
  /// Xen's), else the development branch.
  static func hypervisor(running: FlaskPolicy) -> XenRelease {
    XenABIHistory.releasesMatching(classOrder: running.data.classes.map(\.name), permissions: permissions(running)).last
      ?? XenABIHistory.development
  }

  /// Xen's `validate_classes` (xen/xsm/flask/ss/services.c, called by
  /// `security_load_policy`): the new policy's first classes and their
  /// permission bits must be the hypervisor's, or Xen keeps the old policy
  /// and returns -EINVAL.
  static func refusal(of policy: FlaskPolicy, running: FlaskPolicy) -> ServiceError? {
    let release = hypervisor(running: running)
    guard let mismatch = release.refusal(classOrder: policy.data.classes.map(\.name), permissions: permissions(policy))
    else { return nil }
    return ServiceError(422, "policy.classes",
      "\(release) refuses this policy (validate_classes): \(mismatch)", errno: "-EINVAL")
  }

  /// The 422 for bytes that could not be read: `policy.read-budget` when the
  /// reader ran out of time or memory, else `policy.invalid`.
  static func readFailure(_ error: FlaskPolicyError) -> ServiceError {
    if error.id == FlaskPolicy.budgetID {
      return ServiceError(422, "policy.read-budget", "the policy was not loaded: \(error.message)", errno: "-EINVAL")
    }
    return ServiceError(422, "policy.invalid", "not a policy Xen would load: \(error)", errno: "-EINVAL")
  }

  private static func permissions(_ policy: FlaskPolicy) -> (String) -> [String] {
    let byName = Dictionary(policy.data.classes.map { ($0.name, $0.permissions) }, uniquingKeysWith: { a, _ in a })
    return { byName[$0] ?? [] }
  }
}
