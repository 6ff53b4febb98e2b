/// A deterministic generator of synthetic Xen FLASK policies (`policy.conf` in the SELinux policy
/// language accepted by `checkpolicy -t Xen`) for benchmarks and differential tests.
///
/// A policy has `guests` guest domains, each declared the way Xen's `declare_domain` does it
/// (`gN_t`, `gN_t_self`, `gN_t_channel`); one guest in eight also gets a stub device model
/// (`gN_dm_t`, `gN_dm_t_self`, `gN_dm_t_channel`) and a target type `gN_t_target`, so there are
/// about 3.5 types per guest. On top of a fixed infrastructure (hypervisor types, dom0, xenstore,
/// a management domain, two backend domains, the toolstack defaults `domU_t`/`dm_dom_t`, a handful
/// of labelled devices) every policy exercises:
///
/// * `attribute`, `typeattribute`, `typealias`, `type t alias a, attr;` and `type t, attr;`;
/// * booleans with `if`/`else` blocks (rules in both branches, conditions using
///   `&&`, `||`, `!`, `==`, `^`, nested parentheses), including conditional `type_transition`;
/// * `constrain` with `t1`/`t2`, `u1`/`u2` and `r1`/`r2` tests that remove permissions the TE
///   rules grant (management domain vs protected guests, cross-user event binds and grant maps,
///   cross-role relabels), and a `validatetrans`;
/// * `type_transition` for self types (`T T:domain T_self`), device-model targets
///   (`G dm:domain G_target`) and event channels towards actual peers only (a ring plus one
///   random chord per guest, plus dom0, xenstore and the backends) — never against the whole
///   `domain_type` attribute, so rule counts stay linear in `guests`;
/// * `type_member`, `type_change`, `self`, `*`, `~{...}` permission sets, type sets with `-`
///   exclusions and `~` complements;
/// * `neverallow` rules the policy satisfies, `auditallow` and `dontaudit`;
/// * roles with types, users (`system_u`, `user_1`...`user_3`), a context for every initial SID
///   and Xen ocontexts (`pirqcon`, `iomemcon` and `ioportcon` ranges, `pcidevicecon`,
///   `devicetreecon`).
///
/// The generator does not embed the hypervisor's class list: `render(preamble:)` is given the
/// concatenation of `security_classes`, `initial_sids` and `access_vectors` (see
/// ``preambleFiles``), copies it verbatim to the top of the policy and scans it
/// (``FlaskDeclarations``) to learn which classes, permissions and initial SIDs exist. Rules only
/// name permissions from ``permissionsUsed`` that the preamble declares; a rule whose permissions
/// are all missing is left out. Compile with `checkpolicy -t Xen -c 30` (devicetreecon needs
/// version 30).
///
/// Output is a pure function of (`guests`, `seed`, preamble): the generator uses its own
/// ``SplitMix64`` and no system randomness, clocks or hashing order.
public struct PolicyGenerator: Sendable, Equatable {
  /// Number of guest domains (at least 1). 10...5000 are the benchmark sizes.
  public var guests: Int
  /// Seed of the pseudo-random choices: peers, pools' boolean defaults, device numbers and
  /// passthrough assignments.
  public var seed: UInt64

  /// The largest guest count whose policy still compiles: types and attributes share libsepol's
  /// 16-bit type space, and 18,000 guests make about 63,000 types plus 370 attributes.
  /// (`render` does not enforce it; checkpolicy reports "type space overflow" beyond.)
  public static let maximumGuests = 18_000

  /// The seed used when none is given.
  public static let defaultSeed: UInt64 = 1

  /// The files under a Xen FLASK policy directory (`policy/flask/`, `xen/xsm/flask/policy/`) whose
  /// concatenation, in this order, is the preamble.
  public static let preambleFiles = ["security_classes", "initial_sids", "access_vectors"]

  /// Every permission the generator may name in a rule or constraint, per class. These are the
  /// hypervisor's permissions (Xen `xen/xsm/flask/policy/access_vectors`); at render time each
  /// rule keeps only the ones the preamble declares. Rules that cover a whole class use `*` or
  /// `~{...}` and need no list.
  public static let permissionsUsed: [String: [String]] = [
    "xen": ["readconsole", "writeconsole"],
    "xen2": [],
    "domain": [
      "setvcpucontext", "pause", "unpause", "create", "transition", "max_vcpus", "destroy",
      "getaffinity", "getdomaininfo", "getvcpuinfo", "getvcpucontext", "setdomainmaxmem",
      "setdomainhandle", "setdebugging", "set_target", "shutdown",
    ],
    "domain2": [
      "relabelfrom", "relabelto", "relabelself", "make_priv_for", "set_as_target",
      "set_cpu_policy", "gettsc", "settsc", "setscheduler", "setclaim", "cacheflush",
      "set_vnumainfo", "get_vnumainfo", "soft_reset", "resource_map", "get_cpu_policy",
      "vuart_op", "get_domain_state",
    ],
    "hvm": [
      "sethvmc", "gethvmc", "setparam", "getparam", "bind_irq", "hvmctl", "altp2mhvm",
      "altp2mhvm_op", "dm",
    ],
    "mmu": [
      "map_read", "map_write", "pageinfo", "adjust", "stat", "updatemp", "physmap", "pinpage",
      "memorymap", "mmuext_op", "target_hack",
    ],
    "resource": [
      "add", "remove", "use", "use_iommu", "use_iommu_nointremap", "use_noiommu", "setup",
    ],
    "shadow": ["disable", "enable", "logdirty"],
    "event": ["bind", "send", "status", "create"],
    "grant": ["map_read", "map_write", "unmap", "setup", "copy", "query"],
    "security": ["load_policy", "setenforce", "setbool", "setsecparam"],
    "version": [
      "xen_extraversion", "xen_compile_info", "xen_capabilities", "xen_changeset",
      "xen_pagesize", "xen_guest_handle",
    ],
    "argo": ["enable", "register_single_source", "register_any_source", "send"],
  ]

  /// Counts describing a generated policy.
  public struct Statistics: Sendable, Equatable {
    public var guests: Int
    /// Guests with a stub device model.
    public var deviceModelGuests: Int
    public var pools: Int
    /// Declared types (aliases not counted).
    public var types: Int
    public var aliases: Int
    public var attributes: Int
    public var booleans: Int
    public var devices: Int
  }

  /// Creates a generator for `guests` guest domains (clamped to at least 1).
  public init(guests: Int, seed: UInt64 = PolicyGenerator.defaultSeed) {
    self.guests = max(1, guests)
    self.seed = seed
  }

  /// Counts of the policy `render(preamble:)` produces (independent of the preamble).
  public func statistics() -> Statistics {
    let layout = Layout(guests: guests, seed: seed)
    let dm = layout.guests.filter(\.hasDeviceModel).count
    let aliases = layout.guests.filter(\.hasAlias).count + dm + Self.fixedAliases
    return Statistics(
      guests: guests, deviceModelGuests: dm, pools: layout.pools,
      types: Self.infrastructureTypes.count + layout.devices.count + 3 * guests + 4 * dm,
      aliases: aliases, attributes: Self.fixedAttributes.count + layout.pools,
      booleans: Self.fixedBooleans.count + 2 * layout.pools, devices: layout.devices.count)
  }

  /// Permissions from ``permissionsUsed`` that `preamble` does not declare, as `class:perm`
  /// (empty for Xen's own access vectors). Missing permissions are dropped from rules.
  public static func missingPermissions(in preamble: String) -> [String] {
    let av = FlaskDeclarations(parsing: preamble)
    var missing: [String] = []
    for cls in permissionsUsed.keys.sorted() {
      for perm in permissionsUsed[cls]! where !av.has(cls, perm) {
        missing.append("\(cls):\(perm)")
      }
    }
    return missing
  }

  /// The complete `policy.conf`: a comment header, `preamble` verbatim, then the generated
  /// declarations, rules, roles, users, constraints, initial SID contexts and ocontexts.
  public func render(preamble: String) -> String {
    var r = Renderer(
      layout: Layout(guests: guests, seed: seed), av: FlaskDeclarations(parsing: preamble))
    r.out.reserveCapacity(preamble.utf8.count + guests * 1800 + 16_384)
    let stats = statistics()
    r.line("# Synthetic Xen FLASK policy generated by xsmgen (XSMPolicyGen).")
    r.line(
      "# guests: \(guests), seed: \(seed), pools: \(stats.pools), "
        + "device-model guests: \(stats.deviceModelGuests), types: \(stats.types), "
        + "attributes: \(stats.attributes), booleans: \(stats.booleans)")
    r.line("# Compile: checkpolicy -t Xen -c 30 -o policy.bin policy.conf")
    r.line("")
    r.out += preamble
    if !preamble.isEmpty && !preamble.hasSuffix("\n") { r.out += "\n" }
    r.renderBody()
    return r.out
  }

  // MARK: Fixed parts

  static let fixedAttributes = [
    "xen_type", "domain_type", "domain_self_type", "domain_target_type", "resource_type",
    "event_type", "control_type", "guest_type", "dm_type", "backend_type", "prot_type",
  ]

  static let fixedBooleans: [(String, Bool)] = [
    ("guest_writeconsole", true), ("prot_doms_locked", false), ("dm_restricted", true),
  ]

  /// `type NAME, attrs...;` for the fixed types (devices excepted). dom0_t, domU_t and dm_dom_t
  /// also get an alias each (`fixedAliases`).
  static let infrastructureTypes: [(name: String, attributes: [String])] = [
    ("xenboot_t", ["xen_type"]),
    ("xen_t", ["xen_type"]),
    ("domio_t", ["xen_type"]),
    ("domxen_t", ["xen_type", "domain_type"]),
    ("unlabeled_t", ["xen_type"]),
    ("security_t", ["xen_type"]),
    ("irq_t", ["xen_type", "resource_type"]),
    ("ioport_t", ["xen_type", "resource_type"]),
    ("iomem_t", ["xen_type", "resource_type"]),
    ("device_t", ["xen_type", "resource_type"]),
    ("dom0_t", ["domain_type", "control_type"]),
    ("dom0_t_channel", ["event_type"]),
    ("xenstore_t", ["domain_type"]),
    ("xenstore_t_channel", ["event_type"]),
    ("mgmt_t", ["domain_type"]),
    ("mgmt_t_channel", ["event_type"]),
    ("netback_t", ["domain_type", "backend_type"]),
    ("netback_t_channel", ["event_type"]),
    ("blkback_t", ["domain_type", "backend_type"]),
    ("blkback_t_channel", ["event_type"]),
    ("quarantine_t", ["domain_type"]),
    ("domU_t", ["domain_type", "guest_type"]),
    ("domU_t_self", ["domain_type", "domain_self_type"]),
    ("domU_t_channel", ["event_type"]),
    ("domU_t_target", ["domain_type", "domain_target_type"]),
    ("dm_dom_t", ["domain_type", "dm_type"]),
    ("dm_dom_t_self", ["domain_type", "domain_self_type"]),
    ("dm_dom_t_channel", ["event_type"]),
  ]
  static let fixedAliases = 3

  /// Contexts of the initial SIDs Xen declares; any other SID gets `unlabeled_t`.
  static let initialSIDContexts: [String: String] = [
    "xenboot": "system_u:system_r:xenboot_t",
    "xen": "system_u:system_r:xen_t",
    "dom0": "system_u:system_r:dom0_t",
    "domio": "system_u:system_r:domio_t",
    "domxen": "system_u:system_r:domxen_t",
    "unlabeled": "system_u:system_r:unlabeled_t",
    "security": "system_u:system_r:security_t",
    "ioport": "system_u:object_r:ioport_t",
    "iomem": "system_u:object_r:iomem_t",
    "irq": "system_u:object_r:irq_t",
    "device": "system_u:object_r:device_t",
    "domU": "system_u:system_r:domU_t",
    "domDM": "system_u:system_r:dm_dom_t",
  ]
}
