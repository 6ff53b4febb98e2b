/// The classes and permission bits the Xen hypervisor (4.23, flask interface
/// version 1) validates when it loads a policy: class i must be the i-th
/// class, and every permission must sit at the same bit.
public enum XenABI {
  /// One hypervisor class with its permissions in bit order.
  public struct Class: Sendable {
    public var name: String
    public var permissions: [String]
  }

  private static func c(_ name: String, _ permissions: String) -> Class {
    Class(name: name, permissions: permissions.split(separator: " ").map(String.init))
  }

  /// Xen's classes in number order (class 1 first).
  public static let classes: [Class] = [
    c("xen", "settime tbufcontrol readconsole clearconsole perfcontrol mtrr_add mtrr_del mtrr_read microcode physinfo quirk writeconsole readapic writeapic kexec firmware sleep frequency getidle debug getcpuinfo heap pm_op mca_op lockprof cpupool_op hypfs_op getscheduler setscheduler"),
    c("xen2", "resource_op psr_cmt_op psr_alloc get_symbol pmu_ctrl pmu_use get_cpu_featureset livepatch_op coverage_op get_dom0_console"),
    c("domain", "setvcpucontext pause unpause resume create transition max_vcpus destroy setaffinity getaffinity getscheduler getdomaininfo getvcpuinfo getvcpucontext setdomainmaxmem setdomainhandle setdebugging hypercall settime set_target shutdown setaddrsize getaddrsize trigger getpodtarget setpodtarget set_misc_info set_virq_handler getpagingmempool setpagingmempool"),
    c("domain2", "relabelfrom relabelto relabelself make_priv_for set_as_target set_cpu_policy gettsc settsc setscheduler setclaim cacheflush create_hardware_domain set_vnumainfo get_vnumainfo psr_cmt_op vm_event soft_reset mem_access mem_paging mem_sharing psr_alloc resource_map get_cpu_policy vuart_op dt_overlay set_llc_colors get_domain_state"),
    c("hvm", "sethvmc gethvmc setparam getparam bind_irq hvmctl mem_sharing audit_p2m share_mem altp2mhvm altp2mhvm_op dm"),
    c("mmu", "map_read map_write pageinfo adjust stat updatemp physmap pinpage memorymap remote_remap mmuext_op exchange target_hack"),
    c("resource", "add remove use use_iommu use_iommu_nointremap use_noiommu add_irq remove_irq add_ioport remove_ioport add_iomem remove_iomem stat_device add_device remove_device plug unplug setup"),
    c("shadow", "disable enable logdirty"),
    c("event", "bind send status create reset"),
    c("grant", "map_read map_write unmap transfer setup copy query"),
    c("security", "compute_av compute_create compute_member check_context load_policy compute_relabel setenforce setbool setsecparam add_ocontext del_ocontext"),
    c("version", "xen_extraversion xen_compile_info xen_capabilities xen_changeset xen_pagesize xen_guest_handle xen_commandline xen_build_id"),
    c("argo", "enable register_single_source register_any_source send"),
  ]

  /// Xen's initial SIDs in number order (SID 1 first).
  public static let initialSIDs = [
    "xenboot", "xen", "dom0", "domio", "domxen", "unlabeled", "security", "ioport", "iomem", "irq", "device", "domU", "domDM",
  ]
}
