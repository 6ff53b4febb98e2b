import XSMDiagnostics
import XSMEngine
import XSMPolicy

/// The warning for a policy no Xen release would load: Xen's `validate_classes`
/// (xen/xsm/flask/ss/services.c) compares the first classes and permission
/// bits with the hypervisor's, as `xsmc build` does at `check.xen-abi`.
func xenRefusal(of policy: FlaskPolicy, span: SourceSpan?) -> Diagnostic? {
  let classOrder = policy.data.classes.map(\.name)
  let byName = Dictionary(policy.data.classes.map { ($0.name, $0.permissions) }, uniquingKeysWith: { a, _ in a })
  let permissions = { (name: String) in byName[name] ?? [] }
  guard XenABIHistory.releasesMatching(classOrder: classOrder, permissions: permissions).isEmpty else { return nil }
  let release = XenABIHistory.newestRelease
  guard let mismatch = release.refusal(classOrder: classOrder, permissions: permissions) else { return nil }
  return Diagnostic(.system.xenRefusesPolicy, .warning,
    "\(release) would refuse to load this policy (validate_classes): \(mismatch)", span: span,
    help: "answers below are for the policy as it is; build it with `xsmc build` to see which Xen release it is closest to")
}
