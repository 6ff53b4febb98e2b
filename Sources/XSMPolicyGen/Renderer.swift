/// Writes the generated part of a policy. Every rule goes through `allow`/`rule` so that
/// permissions the preamble does not declare are dropped and rules for unknown classes are skipped.
struct Renderer {
  let layout: Layout
  let av: FlaskDeclarations
  var out = ""

  init(layout: Layout, av: FlaskDeclarations) {
    self.layout = layout
    self.av = av
  }

  mutating func line(_ s: String) {
    out += s
    out += "\n"
  }

  mutating func section(_ title: String) {
    line("")
    line("#")
    line("# \(title)")
    line("#")
  }

  // MARK: Names

  static func guest(_ i: Int) -> String { "g\(i)_t" }
  static func alias(_ i: Int) -> String { "vm\(i)_t" }
  static func dm(_ i: Int) -> String { "g\(i)_dm_t" }
  static func dmAlias(_ i: Int) -> String { "stubdom\(i)_t" }
  static func pool(_ k: Int) -> String { "pool\(k)_type" }

  /// `a` or `{ a b c }`.
  static func set(_ names: [String]) -> String {
    names.count == 1 ? names[0] : "{ " + names.joined(separator: " ") + " }"
  }

  // MARK: Permission sets

  /// The permission set text for `perms` in `cls`, keeping only declared permissions; `*`,
  /// `~{...}` are passed through (a complement keeps only declared names and becomes `*` when
  /// none remain). Nil when the class is unknown or nothing remains.
  func perms(_ cls: String, _ perms: String) -> String? {
    guard av.permissions[cls] != nil else { return nil }
    if perms == "*" { return "*" }
    if perms.hasPrefix("~") {
      let names = Self.words(perms.dropFirst()).filter { av.has(cls, $0) }
      return names.isEmpty ? "*" : "~" + "{ " + names.joined(separator: " ") + " }"
    }
    let names = Self.words(Substring(perms)).filter { av.has(cls, $0) }
    assert(
      Self.words(Substring(perms)).allSatisfy {
        PolicyGenerator.permissionsUsed[cls]?.contains($0) ?? false
      }, "permission not listed in permissionsUsed: \(cls) \(perms)")
    if names.isEmpty { return nil }
    return Self.set(names)
  }

  static func words(_ s: Substring) -> [String] {
    s.split(whereSeparator: { $0 == " " || $0 == "{" || $0 == "}" }).map(String.init)
  }

  /// `kind source target:class perms;` (allow, auditallow, dontaudit, neverallow).
  mutating func rule(
    _ kind: String, _ source: String, _ target: String, _ cls: String, _ p: String,
    indent: String = ""
  ) {
    guard let set = perms(cls, p) else { return }
    line("\(indent)\(kind) \(source) \(target):\(cls) \(set);")
  }

  mutating func allow(_ s: String, _ t: String, _ cls: String, _ p: String, indent: String = "") {
    rule("allow", s, t, cls, p, indent: indent)
  }

  /// `type_transition|type_member|type_change source target:class default;`
  mutating func typeRule(
    _ kind: String, _ source: String, _ target: String, _ cls: String, _ def: String,
    indent: String = ""
  ) {
    guard av.permissions[cls] != nil || av.classes.contains(cls) else { return }
    line("\(indent)\(kind) \(source) \(target):\(cls) \(def);")
  }

  // MARK: Body

  mutating func renderBody() {
    renderDeclarations()
    renderInfrastructureRules()
    renderDomainRules()
    renderConditionals()
    renderNeverallows()
    renderRolesAndUsers()
    renderConstraints()
    renderInitialSIDs()
    renderOcontexts()
  }

  mutating func renderDeclarations() {
    section("Attributes")
    for a in PolicyGenerator.fixedAttributes { line("attribute \(a);") }
    for k in 0..<layout.pools { line("attribute \(Self.pool(k));") }

    section("Booleans")
    for (name, value) in PolicyGenerator.fixedBooleans { line("bool \(name) \(value);") }
    for k in 0..<layout.pools {
      line("bool pool\(k)_enabled \(layout.poolEnabled[k]);")
      line("bool pool\(k)_migrate \(layout.poolMigrate[k]);")
    }

    section("Hypervisor, service and toolstack-default types")
    for (name, attrs) in PolicyGenerator.infrastructureTypes {
      switch name {
      case "dom0_t":
        line("type dom0_t alias domain0_t, \(attrs.joined(separator: ", "));")
      case "dm_dom_t":
        line("type dm_dom_t alias { stubdom_t }, \(attrs.joined(separator: ", "));")
      case "domU_t":
        line("type domU_t, \(attrs.joined(separator: ", "));")
        line("typealias domU_t alias { guest_default_t };")
      case "domU_t_self", "dm_dom_t_self":
        // Declared bare, attributes added with typeattribute.
        line("type \(name);")
        line("typeattribute \(name) \(attrs.joined(separator: ", "));")
      default:
        line("type \(name), \(attrs.joined(separator: ", "));")
      }
    }

    section("Devices")
    for d in layout.devices { line("type \(d.type), resource_type;") }

    section("Guest types (declare_domain: gN_t, gN_t_self, gN_t_channel)")
    for g in layout.guests {
      let t = Self.guest(g.index)
      line("type \(t), domain_type, guest_type, \(Self.pool(g.pool));")
      if g.hasAlias { line("typealias \(t) alias \(Self.alias(g.index));") }
      if g.protected { line("typeattribute \(t) prot_type;") }
      line("type \(t)_self;")
      line("typeattribute \(t)_self domain_type, domain_self_type;")
      line("type \(t)_channel, event_type;")
      if g.hasDeviceModel {
        let d = Self.dm(g.index)
        line("type \(d) alias \(Self.dmAlias(g.index)), domain_type, dm_type;")
        line("type \(d)_self, domain_type, domain_self_type;")
        line("type \(d)_channel, event_type;")
        line("type \(t)_target, domain_type, domain_target_type;")
      }
    }
  }

  mutating func renderInfrastructureRules() {
    section("Boot, hypervisor and security server")
    allow(
      "xenboot_t", "{ dom0_t xenstore_t }", "domain",
      "create max_vcpus setdomainmaxmem setvcpucontext getdomaininfo unpause")
    allow("dom0_t", "xen_t", "xen", "*")
    allow("dom0_t", "xen_t", "xen2", "*")
    allow("dom0_t", "xen_t", "version", "*")
    allow("dom0_t", "xen_t", "mmu", "memorymap")
    allow("dom0_t", "xen_t", "resource", "setup")
    allow("dom0_t", "xen_t", "argo", "enable register_any_source")
    allow("dom0_t", "security_t", "security", "~{ setsecparam }")
    rule("auditallow", "dom0_t", "security_t", "security", "load_policy setenforce setbool")
    allow("dom0_t", "domxen_t", "domain", "getdomaininfo")
    allow("dom0_t", "domxen_t", "mmu", "map_read pageinfo")
    allow("dom0_t", "domio_t", "mmu", "map_read map_write")

    section("Control domain over all domains (one subject: linear)")
    allow("dom0_t", "{ domain_type -dom0_t -prot_type }", "domain", "~{ set_target }")
    allow(
      "dom0_t", "prot_type", "domain",
      "create max_vcpus setdomainmaxmem setvcpucontext getdomaininfo getvcpuinfo setdomainhandle"
    )
    rule("auditallow", "dom0_t", "prot_type", "domain", "destroy shutdown")
    allow(
      "dom0_t", "domain_type", "domain2",
      "set_cpu_policy get_cpu_policy settsc setscheduler setclaim cacheflush set_vnumainfo "
        + "get_vnumainfo soft_reset relabelfrom relabelto vuart_op get_domain_state")
    allow(
      "dom0_t", "{ domain_type -domain_self_type }", "hvm",
      "sethvmc gethvmc setparam getparam hvmctl altp2mhvm bind_irq")
    allow(
      "dom0_t", "{ guest_type dm_type }", "mmu",
      "map_read map_write adjust physmap pinpage mmuext_op updatemp")
    allow("dom0_t", "{ guest_type dm_type backend_type }", "grant", "setup query")
    allow("dom0_t", "{ guest_type -prot_type }", "resource", "add remove")
    allow("dom0_t", "resource_type", "resource", "~{ use use_iommu use_iommu_nointremap use_noiommu }")
    allow("dom0_t", "{ resource_type -device_t }", "resource", "use use_iommu")
    rule("dontaudit", "dom0_t", "device_t", "resource", "use_noiommu")
    typeRule("type_change", "dom0_t", "prot_type", "domain", "quarantine_t")

    let dom0Peers = "{ guest_type dm_type backend_type xenstore_t mgmt_t }"
    typeRule("type_transition", "dom0_t", dom0Peers, "event", "dom0_t_channel")
    allow("dom0_t", "dom0_t_channel", "event", "create send status")
    allow("dom0_t_channel", dom0Peers, "event", "bind")

    section("xenstore")
    allow("xenstore_t", "{ domain_type -domain_self_type -domain_target_type }", "domain", "getdomaininfo")
    allow("xenstore_t", "xen_t", "xen", "writeconsole")
    allow("xenstore_t", "{ guest_type dm_type backend_type dom0_t }", "grant", "map_read map_write unmap")
    let xsPeers = "{ guest_type dm_type backend_type dom0_t mgmt_t }"
    typeRule("type_transition", "xenstore_t", xsPeers, "event", "xenstore_t_channel")
    allow("xenstore_t", "xenstore_t_channel", "event", "create send status")
    allow("xenstore_t_channel", xsPeers, "event", "bind")
    rule("dontaudit", "xenstore_t", "{ xen_type resource_type -domxen_t }", "domain", "getdomaininfo")

    section("Backend domains")
    for (b, devs) in [("netback_t", "{ nic0_dev_t nic1_dev_t }"), ("blkback_t", "disk_dev_t")] {
      allow(b, "guest_type", "grant", "map_read map_write unmap copy")
      typeRule("type_transition", b, "{ guest_type dom0_t }", "event", "\(b)_channel")
      allow(b, "\(b)_channel", "event", "create send status")
      allow("\(b)_channel", "{ guest_type dom0_t }", "event", "bind")
      allow(b, devs, "resource", "use use_iommu")
    }

    section("Management domain (not a control domain: constrained on protected guests)")
    allow("mgmt_t", "{ guest_type dm_type }", "domain", "getdomaininfo getvcpuinfo")
    allow("mgmt_t", "guest_type", "domain2", "relabelfrom relabelto")
    allow("mgmt_t", "domxen_t", "domain", "getdomaininfo")
    typeRule("type_transition", "mgmt_t", "{ dom0_t xenstore_t }", "event", "mgmt_t_channel")
    allow("mgmt_t", "mgmt_t_channel", "event", "create send status")
    allow("mgmt_t_channel", "{ dom0_t xenstore_t }", "event", "bind")

    section("All guests")
    allow(
      "{ guest_type dm_type }", "xen_t", "version",
      "xen_extraversion xen_compile_info xen_capabilities xen_changeset xen_pagesize xen_guest_handle")
    allow("guest_type", "xen_t", "argo", "enable register_single_source")
    rule("dontaudit", "guest_type", "xen_t", "xen", "readconsole")
    allow("{ guest_type -prot_type }", "self", "grant", "query setup")
  }

  /// Rules of one domain declared like Xen's `declare_domain`, its channels towards `peers`, and
  /// its device model if any.
  mutating func renderDomain(
    _ t: String, sourceAlias: String?, peers: [String],
    deviceModel: (dm: String, alias: String, target: String)?, member: Bool, device: String?
  ) {
    line("# \(t)")
    typeRule("type_transition", t, t, "domain", "\(t)_self")
    allow(t, "\(t)_self", "domain", "getdomaininfo getvcpuinfo getaffinity")
    allow(t, "\(t)_self", "grant", "query setup")
    allow(t, "\(t)_self", "mmu", "adjust physmap map_read map_write stat pinpage updatemp mmuext_op")
    allow(t, "\(t)_self", "hvm", "getparam setparam altp2mhvm_op")
    allow(t, "\(t)_self", "domain2", "get_vnumainfo")

    var talks = peers
    if let dm = deviceModel { talks.append(dm.dm) }
    talks += ["dom0_t", "xenstore_t", "netback_t", "blkback_t"]
    let talkSet = Self.set(talks)
    typeRule("type_transition", t, talkSet, "event", "\(t)_channel")
    allow(t, "\(t)_channel", "event", "create send status")
    allow("\(t)_channel", talkSet, "event", "bind")
    if !peers.isEmpty {
      let peerSet = Self.set(peers)
      allow(t, peerSet, "grant", "map_read map_write copy unmap")
      allow(sourceAlias ?? t, peerSet, "argo", "send")
    }
    if member { typeRule("type_member", t, "xenstore_t", "event", "\(t)_channel") }
    if let device { allow(t, device, "resource", "use use_iommu") }

    guard let (d, alias, target) = deviceModel else { return }
    typeRule("type_transition", t, d, "domain", target)
    typeRule("type_transition", d, d, "domain", "\(d)_self")
    allow(d, "\(d)_self", "grant", "query setup")
    allow(d, "\(d)_self", "mmu", "adjust physmap map_read map_write stat pinpage updatemp mmuext_op")
    allow(alias, target, "hvm", "getparam setparam hvmctl dm")
    allow(d, target, "mmu", "map_read map_write adjust physmap target_hack")
    allow(d, target, "domain", "getdomaininfo shutdown")
    allow(d, target, "domain2", "resource_map")
    allow(d, target, "grant", "map_read map_write copy unmap")
    allow("dom0_t", alias, "domain2", "make_priv_for")
    allow("dom0_t", t, "domain2", "set_as_target")
    typeRule("type_change", d, t, "domain", target)
    let dmTalks = "{ \(target) dom0_t xenstore_t }"
    typeRule("type_transition", d, dmTalks, "event", "\(d)_channel")
    allow(d, "\(d)_channel", "event", "create send status")
    allow("\(d)_channel", dmTalks, "event", "bind")
  }

  mutating func renderDomainRules() {
    section("Toolstack default labels (domU_t with device model dm_dom_t)")
    renderDomain(
      "domU_t", sourceAlias: nil, peers: [],
      deviceModel: ("dm_dom_t", "stubdom_t", "domU_t_target"), member: true, device: nil)

    section("Guests: self types, peers' event channels, grants and argo, device models")
    for g in layout.guests {
      let i = g.index
      renderDomain(
        Self.guest(i), sourceAlias: g.hasAlias ? Self.alias(i) : nil,
        peers: g.peers.map(Self.guest),
        deviceModel: g.hasDeviceModel ? (Self.dm(i), Self.dmAlias(i), "\(Self.guest(i))_target") : nil,
        member: g.hasMemberRule, device: g.device.map { layout.devices[$0].type })
    }
  }

  mutating func renderConditionals() {
    section("Conditional policy")
    line("if (guest_writeconsole) {")
    allow("guest_type", "xen_t", "xen", "writeconsole", indent: "\t")
    line("} else {")
    rule("dontaudit", "guest_type", "xen_t", "xen", "writeconsole", indent: "\t")
    line("}")
    line("if (!prot_doms_locked) {")
    allow("dom0_t", "prot_type", "domain", "pause unpause destroy shutdown setdebugging", indent: "\t")
    line("}")
    line("if (dm_restricted ^ prot_doms_locked) {")
    typeRule("type_transition", "mgmt_t", "{ guest_type dm_type }", "event", "mgmt_t_channel", indent: "\t")
    allow("mgmt_t_channel", "{ guest_type dm_type }", "event", "bind", indent: "\t")
    line("} else {")
    allow("mgmt_t", "dm_type", "domain", "pause unpause", indent: "\t")
    line("}")

    for k in 0..<layout.pools {
      let p = Self.pool(k)
      line("if (pool\(k)_enabled && !prot_doms_locked) {")
      allow("mgmt_t", p, "domain", "pause unpause shutdown", indent: "\t")
      line("} else {")
      rule("dontaudit", "mgmt_t", p, "domain", "pause unpause shutdown", indent: "\t")
      line("}")
      line("if ((pool\(k)_migrate || dm_restricted) && !(pool\(k)_enabled == prot_doms_locked)) {")
      allow("dom0_t", p, "shadow", "enable disable logdirty", indent: "\t")
      allow("dom0_t", p, "mmu", "pageinfo", indent: "\t")
      allow("dom0_t", p, "domain2", "gettsc", indent: "\t")
      rule("auditallow", "dom0_t", p, "shadow", "logdirty", indent: "\t")
      line("} else {")
      rule("dontaudit", "dom0_t", p, "shadow", "logdirty", indent: "\t")
      line("}")
    }
  }

  mutating func renderNeverallows() {
    section("Assertions (all satisfied)")
    rule("neverallow", "*", "~domain_type", "domain", "create transition")
    rule(
      "neverallow", "*", "~resource_type", "resource",
      "use use_iommu use_iommu_nointremap use_noiommu")
    rule("neverallow", "~event_type", "*", "event", "bind")
    rule("neverallow", "*", "~event_type", "event", "create send status")
    rule("neverallow", "{ domain_type -control_type }", "security_t", "security", "load_policy setenforce setbool")
    rule("neverallow", "guest_type", "security_t", "security", "*")
    rule("neverallow", "{ guest_type dm_type }", "self", "domain2", "relabelself")
    // checkpolicy accepts `~` type complements (and `*`) only in neverallow rules.
    rule("neverallow", "xenstore_t", "~{ domain_type xen_type resource_type event_type }", "domain", "*")
  }

  mutating func renderRolesAndUsers() {
    section("Roles")
    line("role system_r;")
    line("role system_r types { xen_type domain_type };")
    line("role vm_r;")
    line("role vm_r types { guest_type dm_type domain_self_type domain_target_type };")

    section("Users")
    line("user system_u roles { system_r vm_r };")
    line("user user_1 roles vm_r;")
    line("user user_2 roles vm_r;")
    line("user user_3 roles { vm_r };")
  }

  mutating func renderConstraints() {
    section("Constraints")
    func constrain(_ cls: String, _ p: String, _ expr: String) -> String? {
      guard let set = perms(cls, p) else { return nil }
      return "constrain \(cls) \(set) \(expr);"
    }
    let sameUser = "( u1 == system_u or u2 == system_u or u1 == u2 )"
    let lines = [
      constrain("event", "bind", sameUser),
      constrain("grant", "map_read map_write copy", sameUser),
      constrain("domain", "pause unpause shutdown destroy", "( t1 == control_type or t2 != prot_type )"),
      constrain("domain2", "relabelfrom relabelto", "( r1 == r2 or t1 == control_type )"),
      constrain(
        "hvm", "setparam hvmctl",
        "( not ( t1 == guest_type and t2 == domain_target_type ) and ( t1 != t2 or u1 == u2 ) )"),
    ]
    for l in lines.compactMap({ $0 }) { line(l) }
    if av.classes.contains("domain") {
      line("validatetrans domain ( u1 == u2 or t3 == control_type );")
    }
  }

  mutating func renderInitialSIDs() {
    section("Initial SID contexts")
    for sid in av.initialSIDs {
      line("sid \(sid) \(PolicyGenerator.initialSIDContexts[sid] ?? "system_u:object_r:unlabeled_t")")
    }
  }

  mutating func renderOcontexts() {
    section("Device contexts")
    func hex(_ n: Int) -> String { "0x" + String(n, radix: 16) }
    func range(_ r: ClosedRange<Int>) -> String {
      r.lowerBound == r.upperBound ? hex(r.lowerBound) : "\(hex(r.lowerBound))-\(hex(r.upperBound))"
    }
    let devices = layout.devices
    for d in devices { for irq in d.pirqs { line("pirqcon \(irq) system_u:object_r:\(d.type)") } }
    for d in devices { for r in d.iomem { line("iomemcon \(range(r)) system_u:object_r:\(d.type)") } }
    for d in devices { for r in d.ioports { line("ioportcon \(range(r)) system_u:object_r:\(d.type)") } }
    for d in devices {
      if let sbdf = d.pciSBDF { line("pcidevicecon \(hex(sbdf)) system_u:object_r:\(d.type)") }
    }
    for d in devices {
      if let path = d.deviceTreePath { line("devicetreecon \"\(path)\" system_u:object_r:\(d.type)") }
    }
  }
}
