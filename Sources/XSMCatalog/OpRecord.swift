/// The stable JSON shape of an op for programs (`xsmc ops --json`, the
/// service): plain strings and arrays, no source positions.
public struct OpRecord: Sendable, Codable, Equatable {
  /// One Flask check, one permission per record.
  public struct Check: Sendable, Codable, Equatable {
    public var `class`: String
    public var permission: String
    public var subject: String
    public var object: String
    /// `if writable`, `unless revoke`; absent for checks made on every call.
    public var condition: String?
    /// The permission the code meant, when it checks another by mistake.
    public var intended: String?
  }

  public var name: String
  public var kind: String
  public var aliases: [String]
  public var family: String
  public var hypercall: String?
  public var hypercallNumber: Int?
  public var subops: [String]
  public var hook: String
  public var hooks: [String]
  /// The dummy rule as `dummy.h` names it (`XSM_PRIV`), steps joined by `, `.
  public var dummyAction: String
  public var targets: [String]
  public var `class`: String
  public var checks: [Check]
  /// `none` or `unclassified` when the op has no checks.
  public var flask: String?
  public var silo: String?
  public var refusesSelf: Bool
  /// The hypercall's arguments: `name kind` with Xen's field and default (`owner domain evtchn_status.dom default self`).
  public var arguments: [String]
  /// Xen's refusals outside XSM in order: `before lookup target -ESRCH|-EPERM (xen/common/domctl.c do_domctl)`.
  public var gates: [String]
  /// How a refusal reaches the caller when not as an errno: `status GNTST_permission_denied`.
  public var denial: [String]
  public var summary: String
  public var notes: [String]
  public var replaces: [String]
  public var replacedBy: [String]
  public var coverage: String?

  public init(_ op: Op, in catalog: OpCatalog) {
    name = op.name
    kind = op.kind.rawValue
    aliases = op.aliases
    family = op.family
    hypercall = op.hypercall?.shortName
    hypercallNumber = op.hypercall?.number
    subops = op.subops.map { "\($0.constant)=\($0.numberText)" }
    hook = op.hooks.isEmpty ? "none" : op.hooks.joined(separator: "+")
    hooks = op.hooks
    dummyAction = op.dummy.map(\.description).joined(separator: ", ")
    targets = op.targets
    `class` = op.privilege.rawValue
    checks = op.checks.flatMap { check in
      check.permissions.map { permission in
        Check(class: check.securityClass, permission: permission, subject: check.subject.description,
          object: check.object.description, condition: check.condition?.description,
          intended: check.intended?.description)
      }
    }
    flask = op.flask?.rawValue
    silo = op.silo.map { "\($0.left) \($0.right)" }
    refusesSelf = op.refusesSelf
    arguments = op.arguments.map { a in
      ([a.name, a.kind.rawValue] + (a.field.map { [$0] } ?? []) + (a.defaultValue.map { ["default", $0] } ?? []))
        .joined(separator: " ")
    }
    gates = op.gates.map { "\($0) (\($0.source))" }
    denial = op.denial.map { "\($0) (\($0.source))" }
    summary = op.summary
    notes = op.notes
    replaces = op.replaces
    replacedBy = op.kind == .legacy ? catalog.splitOps(replacing: op.name).map(\.name) : []
    coverage = op.kind == .legacy ? catalog.coverageRule(for: op.name).map { "\($0.kind.rawValue): \($0.reason)" } : nil
  }
}
