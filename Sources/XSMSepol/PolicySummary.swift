/// Summary read from a binary policy (header and symbol counts).
///
/// Counts come from the policydb as libsepol reads it, so they describe the
/// binary, not the source: CIL and checkpolicy may keep or drop different
/// attributes and expand rules differently for the same decisions.
public struct PolicySummary: Sendable, Codable, Equatable {
  /// Device-context counts of a Xen policy (zero for an SELinux policy).
  public struct OContexts: Sendable, Codable, Equatable {
    /// `pirqcon` entries.
    public var pirq: Int
    /// `ioportcon` entries.
    public var ioport: Int
    /// `iomemcon` entries.
    public var iomem: Int
    /// `pcidevicecon` entries.
    public var pciDevice: Int
    /// `devicetreecon` entries (policy version 30 only).
    public var deviceTree: Int

    /// Creates a value.
    public init(pirq: Int = 0, ioport: Int = 0, iomem: Int = 0, pciDevice: Int = 0, deviceTree: Int = 0)
    {
      self.pirq = pirq
      self.ioport = ioport
      self.iomem = iomem
      self.pciDevice = pciDevice
      self.deviceTree = deviceTree
    }
  }

  /// Header target string: `XenFlask` for Xen, `SE Linux` otherwise.
  public var target: String
  /// Binary policy version (24 or 30 for Xen).
  public var version: Int
  /// Whether the policy is MLS.
  public var mls: Bool
  /// The `handle_unknown` header setting.
  public var handleUnknown: HandleUnknown
  /// Security classes.
  public var classes: Int
  /// Permissions summed over all classes (inherited common permissions count
  /// once per class that inherits them).
  public var permissions: Int
  /// Types, excluding attributes and aliases.
  public var types: Int
  /// Type attributes kept in the binary.
  public var attributes: Int
  /// Roles (including `object_r`).
  public var roles: Int
  /// Users.
  public var users: Int
  /// Booleans.
  public var booleans: Int
  /// Unconditional access-vector avtab entries (allow, auditallow, dontaudit;
  /// one per source, target, class and kind after the compiler merged rules).
  public var avRules: Int
  /// Unconditional type_transition / type_member / type_change avtab entries.
  public var typeRules: Int
  /// Conditional avtab entries (all kinds, both branches).
  public var conditionalRules: Int
  /// `constrain` and `mlsconstrain` entries over all classes.
  public var constraints: Int
  /// Initial SIDs that have a context.
  public var initialSIDs: Int
  /// Device contexts per kind.
  public var ocontexts: OContexts

  /// Creates a summary.
  public init(
    target: String, version: Int, mls: Bool, handleUnknown: HandleUnknown, classes: Int,
    permissions: Int, types: Int, attributes: Int, roles: Int, users: Int, booleans: Int,
    avRules: Int, typeRules: Int, conditionalRules: Int, constraints: Int, initialSIDs: Int,
    ocontexts: OContexts
  ) {
    self.target = target
    self.version = version
    self.mls = mls
    self.handleUnknown = handleUnknown
    self.classes = classes
    self.permissions = permissions
    self.types = types
    self.attributes = attributes
    self.roles = roles
    self.users = users
    self.booleans = booleans
    self.avRules = avRules
    self.typeRules = typeRules
    self.conditionalRules = conditionalRules
    self.constraints = constraints
    self.initialSIDs = initialSIDs
    self.ocontexts = ocontexts
  }

  /// Keys spelled so that the snake-case strategies give `initial_sids` (not
  /// `initial_si_ds`, which is what `initialSIDs` becomes) and read it back.
  private enum CodingKeys: String, CodingKey {
    case target, version, mls, handleUnknown, classes, permissions, types, attributes, roles, users, booleans
    case avRules, typeRules, conditionalRules, constraints, ocontexts
    case initialSIDs = "initialSids"
  }
}
