import XSMDiagnostics

/// The classes and permissions a compiled policy declares, which every
/// catalog check must name.
public struct PolicyVocabulary: Sendable {
  /// Permission names by class name.
  public var classes: [String: [String]]
  public init(classes: [String: [String]]) { self.classes = classes }

  public func declares(_ permission: Permission) -> Bool {
    classes[permission.securityClass]?.contains(permission.name) ?? false
  }
}

extension OpCatalog {
  /// Checks that every class and permission the catalog's checks (and
  /// `intended` permissions) name is declared by the policy.
  public func validate(against policy: PolicyVocabulary) -> [Diagnostic] {
    var diagnostics: [Diagnostic] = []
    for op in ops {
      for check in op.checks {
        var named = check.concretePermissions.map { Permission(check.securityClass, $0) }
        if let intended = check.intended { named.append(intended) }
        for permission in named {
          guard let declared = policy.classes[permission.securityClass] else {
            let hint = Suggestion.closest(to: permission.securityClass, in: policy.classes.keys)
            diagnostics.append(Diagnostic(.catalog.unknownClass, .error,
              "`\(op.name)` checks class `\(permission.securityClass)`, which the policy does not declare",
              span: check.span, help: hint.map { "did you mean `\($0)`?" }))
            break
          }
          if !declared.contains(permission.name) {
            let hint = Suggestion.closest(to: permission.name, in: declared)
            diagnostics.append(Diagnostic(.catalog.unknownPermission, .error,
              "`\(op.name)` checks `\(permission)`, which class `\(permission.securityClass)` does not declare",
              span: check.span, help: hint.map { "did you mean `\(permission.securityClass):\($0)`?" }))
          }
        }
      }
    }
    return diagnostics
  }
}
