/// The legacy ops a libxl-like toolstack issues, in order, to build and
/// start a guest: the "How to build a domain" section of the op reference
/// and the build cases of `xsmc test`.
public enum DomainBuildSequence {
  /// One step of the build: what it achieves and the ops that achieve it
  /// (the reference lists only those the catalog has).
  public struct Step: Sendable {
    public var title: String
    public var text: String
    public var ops: [String]
  }

  public static let introduction = """
    A toolstack such as libxl builds a guest from the control domain (or from a \
    domain the policy lets build guests) with a fixed sequence of legacy ops. \
    The steps below follow that sequence; each names the ops it uses and the \
    rules they are checked against. Under flask most of these checks have the \
    builder as subject and the new domain, still carrying the label it was \
    created with, as object: a policy that lets one type build guests grants \
    these permissions from the builder's type to the guest's build-time type.
    """

  public static let steps: [Step] = [
    Step(
      title: "Create the domain",
      text: """
        The builder asks Xen for a new, paused domain with its flags (PV or HVM, \
        HAP, xenstore domain) and, under flask, the label it starts with. The \
        domain id comes back; nothing runs yet.
        """,
      ops: ["domctl.createdomain"]),
    Step(
      title: "Name it",
      text: "The toolstack records the guest's UUID as the domain handle, so tools can find it again.",
      ops: ["domctl.setdomainhandle"]),
    Step(
      title: "Size it",
      text: """
        The builder sets the number of vCPUs (older Xen versions; newer ones take it \
        at creation), the memory ceiling and, for HVM guests, the paging pool that \
        backs the guest's page tables.
        """,
      ops: ["domctl.max_vcpus", "domctl.max_mem", "domctl.set_paging_mempool_size"]),
    Step(
      title: "Fix the CPU it sees",
      text: "The builder sets the CPUID and MSR policy the guest will see, derived from the host's.",
      ops: ["domctl.set_cpu_policy"]),
    Step(
      title: "Open the xenstore and console channels",
      text: """
        The builder reserves two event channel ports in the new domain, one that the \
        xenstore domain may bind and one for the console backend. The guest finds \
        them later through its start info page or its HVM parameters.
        """,
      ops: ["evtchn.alloc_unbound"]),
    Step(
      title: "Choose the PV address size",
      text: "For a 32-bit PV guest the builder switches the domain to 32-bit addresses before loading the kernel.",
      ops: ["domctl.set_address_size"]),
    Step(
      title: "Give it memory",
      text: """
        The builder allocates the guest's RAM, frame by frame or in extents, into \
        the new domain's physical address space, then maps those frames to load the \
        kernel, ramdisk and start info.
        """,
      ops: ["memory.populate_physmap", "memory.increase_reservation"]),
    Step(
      title: "Set up the grant table",
      text: """
        The new domain's grant table is sized and its frames located, so that the \
        builder can write the entries that let the xenstore and console backends \
        map the guest's rings.
        """,
      ops: ["grant.setup_table"]),
    Step(
      title: "Load the initial vCPU state",
      text: """
        A PV guest gets its hypercall page and the registers of vCPU 0; an HVM guest \
        gets a whole saved context (vCPU and platform device state) instead.
        """,
      ops: ["domctl.hypercall_init", "domctl.setvcpucontext", "domctl.sethvmcontext"]),
    Step(
      title: "Set the HVM parameters",
      text: """
        For HVM guests the builder stores the xenstore and console frames and ports, \
        the ioreq pages and other settings as HVM parameters of the domain.
        """,
      ops: ["hvm.set_param"]),
    Step(
      title: "Attach a stub device model",
      text: """
        When the guest's device model runs in its own stub domain, the toolstack \
        makes that domain the guest's device model; from then on the device model \
        has the rights dummy and flask give a device model over its target.
        """,
      ops: ["domctl.set_target"]),
    Step(
      title: "Relabel it",
      text: """
        Under flask a guest is often created with a build label (`init_seclabel`) \
        that lets the builder finish the work above, then moved to its running \
        label (`seclabel`) so that the builder keeps no more rights over it than \
        the policy gives for running guests.
        """,
      ops: ["xsm.flask_op.relabel_domain"]),
    Step(
      title: "Start it",
      text: "The builder unpauses the domain; its vCPU 0 begins to run.",
      ops: ["domctl.unpausedomain"]),
  ]
}
