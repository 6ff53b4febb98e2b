import XSMEngine

// avc lines written as Xen writes them, for denials decided here (xsmd
// --avc-log), so `xsmq explain` reads them as it reads Xen's own log.

extension AVCDomain {
  /// The domain as `%pd` prints it (xen/common/vsprintf.c print_domain):
  /// `d3`, or `d[IO]`, `d[XEN]`, `d[COW]`, `d[IDLE]` for the system domains.
  public init(domid: Int) {
    let system = Self.systemDomains.first { $0.value == domid }?.key
    self.domid = domid
    text = "d" + (system ?? String(domid))
  }
}

extension AVCRecord {
  /// The record Xen's avc_audit prints for a refused flask check
  /// (xen/xsm/flask/avc.c). The domains follow the hook's audit data
  /// (xen/xsm/flask/hooks.c): a check between two domains is
  /// domain_has_perm's, `source=` and `target=` (left out when it is the
  /// source); any other is avc_current_has_perm's, `current=` the caller,
  /// with the device the question names for a device label (`device=` for
  /// a PCI device, `irq=`, `range=` for I/O memory and ports, `dtdevice=`).
  /// Contexts are printed as such, or as `ssid=`/`tsid=` when the SID has none.
  public init(denial: FlaskDenial, caller: HostDomain, objects: QueryObjects, server: SecurityServer) {
    self.init(verdict: .denied, permissions: denial.permissions, details: [], tclass: denial.securityClass)
    if let source = denial.sourceDomid, let target = denial.targetDomid {
      self.source = AVCDomain(domid: source)
      if target != source { self.target = AVCDomain(domid: target) }
    } else {
      current = AVCDomain(domid: caller.domid)
      details = Self.deviceDetails(denial.device, objects)
    }
    if let c = server.context(of: denial.ssid) { scontext = server.policy.contextString(c) } else { ssid = denial.ssid }
    if let c = server.context(of: denial.tsid) { tcontext = server.policy.contextString(c) } else { tsid = denial.tsid }
  }

  /// avc_audit's `device=%#lx`, `irq=%d`, `range=%#lx-%#lx` or `dtdevice=%s` for a device label.
  static func deviceDetails(_ label: String?, _ objects: QueryObjects) -> [AVCDetail] {
    func hex(_ n: UInt64) -> String { n == 0 ? "0" : "0x" + String(n, radix: 16) }
    switch label {
    case "pci_label": return objects.pciDevice.map { [AVCDetail(name: "device", value: hex(UInt64($0)))] } ?? []
    case "irq_label": return objects.irq.map { [AVCDetail(name: "irq", value: String($0))] } ?? []
    case "iomem_label": return objects.iomem.map { [AVCDetail(name: "range", value: hex($0) + "-" + hex($0))] } ?? []
    case "ioport_label":
      return objects.ioport.map { [AVCDetail(name: "range", value: hex(UInt64($0)) + "-" + hex(UInt64($0)))] } ?? []
    case "dt_label": return objects.deviceTreePath.map { [AVCDetail(name: "dtdevice", value: $0)] } ?? []
    default: return []
    }
  }

  /// The line as avc_audit prints it, without the newline:
  /// `avc:  denied  { pause } for source=d3 target=d5 scontext=… tcontext=… tclass=domain`
  /// (avc_dump_av writes ` null` for no permission; the domains, the device, then avc_dump_query).
  public var line: String {
    var text = "avc:  \(verdict.rawValue) "
    text += permissions.isEmpty ? " null" : " {" + permissions.map { " " + $0 }.joined() + " }"
    text += " for "
    if let source { text += "source=\(source.text) " }
    if let target { text += "target=\(target.text) " }
    if let current { text += "current=\(current.text) " }
    for detail in details { text += "\(detail.name)=\(detail.value) " }
    text += scontext.map { "scontext=\($0)" } ?? "ssid=\(ssid ?? 0)"
    text += tcontext.map { " tcontext=\($0)" } ?? " tsid=\(tsid ?? 0)"
    return text + " tclass=\(tclass)"
  }
}
