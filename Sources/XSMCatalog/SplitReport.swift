/// Findings about the catalog itself: permissions that guard ops of more
/// than one privilege class (candidates for new permissions when the ABI is
/// split), and defects in how Flask checks ops.
public struct SplitReport: Sendable, Codable {
  /// A permission checked by ops of different privilege classes.
  public struct SharedPermission: Sendable, Codable {
    public var permission: Permission
    /// Ops checking it, by class.
    public var ops: [String: [String]]
    public var why: String
  }

  /// Something wrong or surprising in the way an op is checked.
  public struct Defect: Sendable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
      /// The code checks a permission of the wrong class (the bit of another permission).
      case wrongClass = "wrong-class"
      /// Flask has no case for the op; `avc_unknown_permission` decides.
      case unclassified
      /// No check in the common call has the caller as its subject.
      case callerUnchecked = "caller-unchecked"
      /// A check's subject is a domain other than the caller.
      case otherSubject = "other-subject"
      /// A privileged op with no XSM hook at all.
      case ungated
      /// A hooked op whose Flask hook checks nothing.
      case noCheck = "no-check"
    }
    public var kind: Kind
    public var op: String
    /// The check involved, as the catalog writes it (empty when none applies).
    public var check: String
    public var why: String
  }

  public var shared: [SharedPermission]
  public var defects: [Defect]

  /// Builds the report from the legacy ops (split ops are the proposal, not the finding).
  public init(catalog: OpCatalog) {
    let legacy = catalog.legacyOps
    var byPermission: [Permission: [PrivilegeClass: Set<String>]] = [:]
    for op in legacy {
      for permission in op.permissions {
        byPermission[permission, default: [:]][op.privilege, default: []].insert(op.name)
      }
    }
    shared = byPermission.sorted(by: { $0.key < $1.key }).compactMap { permission, classes in
      guard classes.count > 1 || classes.keys.contains(.mixed) else { return nil }
      let kinds = classes.keys.sorted().map(\.rawValue)
      let why: String
      if classes.count > 1 {
        let list = kinds.count == 2 ? kinds.joined(separator: " and ")
          : kinds.dropLast().joined(separator: ", ") + " and " + (kinds.last ?? "")
        why = "one permission guards \(list) ops, so a policy cannot grant the "
          + "harmless ones without the others; the split ABI needs a permission per class"
      } else {
        why = "the ops are logical on the caller and privileged on others, and the permission cannot tell which"
      }
      return SharedPermission(
        permission: permission, ops: Dictionary(uniqueKeysWithValues: classes.map { ($0.key.rawValue, $0.value.sorted()) }),
        why: why)
    }

    var defects: [Defect] = []
    for op in legacy {
      for check in op.checks {
        if let intended = check.intended {
          defects.append(Defect(kind: .wrongClass, op: op.name, check: check.text,
            why: "the code asks for the bit of \(intended) in class \(check.securityClass), which is "
              + "\(check.securityClass):\(check.permissions.joined(separator: "+")); rules on \(intended) have no "
              + "effect on this op, and granting \(check.securityClass):\(check.permissions[0]) silently grants it"))
        }
      }
      if op.flask == .unclassified {
        defects.append(Defect(kind: .unclassified, op: op.name, check: "",
          why: "flask has no case for this op, so it falls to avc_unknown_permission: denied under enforcing "
            + "unless the policy was built with allow_unknown, while dummy lets the control domain call it"))
      }
      if op.isHooked && op.flask == .unchecked && op.privilege != .logical {
        defects.append(Defect(kind: .noCheck, op: op.name, check: "",
          why: "the hook makes no Flask check, so no policy can restrict who calls it"))
      }
      if !op.isHooked && op.privilege == .privileged {
        defects.append(Defect(kind: .ungated, op: op.name, check: "",
          why: "a privileged op with no XSM hook: neither dummy, silo nor any Flask policy can restrict it"))
      }
      let common = op.checks(in: [])
      let callerChecked = common.contains { $0.subject.isCaller }
      for check in common where check.subject.kind == .domain && !check.subject.isCaller {
        let kind: Defect.Kind = callerChecked ? .otherSubject : .callerUnchecked
        let why =
          callerChecked
          ? "this check is made for \(check.subject.name), not for the caller; a policy must grant it to "
            + "\(check.subject.name)'s type even though \(check.subject.name) did not ask"
          : "no check in the common call names the caller: any domain that reaches the hook is judged by "
            + "\(check.subject.name)'s permissions instead of its own"
        defects.append(Defect(kind: kind, op: op.name, check: check.text, why: why))
      }
    }
    self.defects = defects
  }
}
