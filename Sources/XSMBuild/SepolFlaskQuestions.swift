import XSMCatalog
import XSMSepol

/// The catalog's Flask questions answered by libsepol on a compiled policy
/// (for the dummy-vs-flask report). Unknown types or permissions count as denied.
@SepolActor
public struct SepolFlaskQuestions: @SepolActor FlaskQuestions {
  public let oracle: SepolOracle

  public init(oracle: SepolOracle) { self.oracle = oracle }

  public func allows(source: String, target: String, permission: Permission) -> Bool {
    (try? oracle.allows(source: source, target: target, class: permission.securityClass, permission: permission.name))
      ?? false
  }

  public func newType(source: String, target: String, securityClass: String) -> String {
    (try? oracle.transition(source: source, target: target, class: securityClass)) ?? target
  }
}
