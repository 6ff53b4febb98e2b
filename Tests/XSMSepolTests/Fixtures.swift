import Foundation
import Testing

@testable import XSMSepol
import XSMTestSupport

/// The tiny Xen policy used by the XSMSepol tests, in CIL and as the
/// equivalent policy.conf for checkpolicy.
enum TinyPolicy {
  /// Types in value order, as both compilers number them.
  static let types = ["xen_t", "dom0_t", "domU_t", "evchn_t", "unlabeled_t"]
  static let classes = ["xen", "domain", "event"]

  static let cil = """
    (class xen (settime tbufcontrol readconsole clearconsole))
    (class domain (setvcpucontext pause unpause create transition))
    (class event (bind send status create reset))
    (classorder (xen domain event))

    (sid xenboot)
    (sid xen)
    (sid dom0)
    (sid domio)
    (sid domxen)
    (sid unlabeled)
    (sidorder (xenboot xen dom0 domio domxen unlabeled))

    (sensitivity s0)
    (sensitivityorder (s0))
    (category c0)
    (categoryorder (c0))
    (sensitivitycategory s0 (c0))

    (user system_u)
    (role system_r)
    (role object_r)
    (userrole system_u system_r)
    (userrole system_u object_r)
    (userlevel system_u (s0))
    (userrange system_u ((s0) (s0 (c0))))

    (type xen_t)
    (type dom0_t)
    (type domU_t)
    (type evchn_t)
    (type unlabeled_t)
    (typeattribute domain_type)
    (typeattributeset domain_type (dom0_t domU_t))
    (roletype system_r xen_t)
    (roletype system_r domain_type)
    (roletype object_r domU_t)
    (roletype object_r evchn_t)
    (roletype object_r unlabeled_t)

    (allow dom0_t domU_t (domain (setvcpucontext pause unpause create)))
    (allow dom0_t self (domain (setvcpucontext pause)))
    (allow domain_type xen_t (xen (readconsole)))
    (allow domain_type evchn_t (event (bind send)))
    (auditallow dom0_t domU_t (domain (create)))
    (dontaudit domU_t xen_t (xen (settime)))
    (typetransition dom0_t domU_t event evchn_t)
    (typetransition dom0_t domU_t domain domU_t)

    (constrain (domain (setvcpucontext)) (eq t1 t2))

    (boolean allow_console false)
    (booleanif allow_console
      (true (allow domU_t xen_t (xen (clearconsole))))
      (false (allow domU_t xen_t (xen (tbufcontrol)))))

    (sidcontext xenboot (system_u system_r xen_t ((s0) (s0))))
    (sidcontext xen (system_u system_r xen_t ((s0) (s0))))
    (sidcontext dom0 (system_u system_r dom0_t ((s0) (s0))))
    (sidcontext domio (system_u system_r xen_t ((s0) (s0))))
    (sidcontext domxen (system_u system_r xen_t ((s0) (s0))))
    (sidcontext unlabeled (system_u object_r unlabeled_t ((s0) (s0))))

    (pirqcon 33 (system_u object_r domU_t ((s0) (s0))))
    (ioportcon (0x60 0x64) (system_u object_r domU_t ((s0) (s0))))
    (iomemcon (0xfee00 0xfeeff) (system_u object_r domU_t ((s0) (s0))))
    (pcidevicecon 0x100 (system_u object_r domU_t ((s0) (s0))))
    (devicetreecon "/soc/uart@0" (system_u object_r domU_t ((s0) (s0))))
    """

  static let conf = """
    class xen
    class domain
    class event

    sid xenboot
    sid xen
    sid dom0
    sid domio
    sid domxen
    sid unlabeled

    class xen { settime tbufcontrol readconsole clearconsole }
    class domain { setvcpucontext pause unpause create transition }
    class event { bind send status create reset }

    attribute domain_type;
    type xen_t;
    type dom0_t, domain_type;
    type domU_t, domain_type;
    type evchn_t;
    type unlabeled_t;

    bool allow_console false;

    allow dom0_t domU_t:domain { setvcpucontext pause unpause create };
    allow dom0_t self:domain { setvcpucontext pause };
    allow domain_type xen_t:xen readconsole;
    allow domain_type evchn_t:event { bind send };
    auditallow dom0_t domU_t:domain create;
    dontaudit domU_t xen_t:xen settime;
    type_transition dom0_t domU_t:event evchn_t;
    type_transition dom0_t domU_t:domain domU_t;

    if (allow_console) {
      allow domU_t xen_t:xen clearconsole;
    } else {
      allow domU_t xen_t:xen tbufcontrol;
    }

    role system_r;
    role system_r types { xen_t domain_type };

    user system_u roles { system_r };

    constrain domain { setvcpucontext } t1 == t2;

    sid xenboot system_u:system_r:xen_t
    sid xen system_u:system_r:xen_t
    sid dom0 system_u:system_r:dom0_t
    sid domio system_u:system_r:xen_t
    sid domxen system_u:system_r:xen_t
    sid unlabeled system_u:object_r:unlabeled_t

    pirqcon 33 system_u:object_r:domU_t
    ioportcon 0x60-0x64 system_u:object_r:domU_t
    iomemcon 0xfee00-0xfeeff system_u:object_r:domU_t
    pcidevicecon 0x100 system_u:object_r:domU_t
    devicetreecon "/soc/uart@0" system_u:object_r:domU_t
    """

  /// Compiles `cil` (or a variant) with the given options.
  @SepolActor
  static func compile(
    _ text: String = cil, name: String = "tiny.cil", options: SepolBuildOptions = .init()
  ) throws(SepolError) -> CompiledPolicy {
    try CILCompiler.compile([(name: name, text: text)], options: options)
  }
}

/// Little-endian header fields of a binary policy (xen-xsm-facts §c.9).
struct PolicyHeader: Equatable {
  var magic: UInt32
  var target: String
  var version: UInt32
  var config: UInt32

  init?(_ bytes: [UInt8]) {
    func u32(_ at: Int) -> UInt32? {
      guard at + 4 <= bytes.count else { return nil }
      return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
    guard let magic = u32(0), let length = u32(4), length == 8,
      let version = u32(16), let config = u32(20)
    else { return nil }
    self.magic = magic
    self.target = String(decoding: bytes[8..<16], as: UTF8.self)
    self.version = version
    self.config = config
  }
}

