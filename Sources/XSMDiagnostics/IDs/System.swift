extension DiagnosticID {
  /// `system.*`: what a system file says, and whether its policy labels it.
  public static let system = System()

  /// Ids for system files (`xsmq --system`, `xsmd --system`) and for loading their host.
  public struct System: DiagnosticIDGroup {
    public static let phase = "system"
    public static let title = "System files"
    public static let summary = """
      What a system file describes, checked after its TOML reads, then against the policy it names when the \
      host loads. Tests: `Tests/XSMEngineTests/SystemFileTests.swift` and `HostLoadingTests.swift`.
      """

    public let io = DiagnosticID(
      "system.io", "the system file is missing, a directory, unreadable or not UTF-8 text", exit: .unreadableInput)
    public let unknownKey = DiagnosticID(
      "system.unknown-key", "a key system files do not have, or one in the wrong table (did-you-mean)")
    public let wrongType = DiagnosticID(
      "system.wrong-type", "a value of the wrong type (a quoted number, `[domain]` for `[[domain]]`...)")
    public let missingKey = DiagnosticID(
      "system.missing-key", "no `module`, or a domain without `domid`, `name` or (under flask) `context`")
    public let unknownModule = DiagnosticID(
      "system.unknown-module", "an XSM module other than dummy, silo or flask (did-you-mean)")
    public let unknownFlag = DiagnosticID("system.unknown-flag", "a domain flag outside the vocabulary (did-you-mean)")
    public let duplicateFlag = DiagnosticID("system.duplicate-flag", "(warning) a flag given twice")
    public let unknownIommu = DiagnosticID(
      "system.unknown-iommu", "an IOMMU mode outside the vocabulary (did-you-mean)")
    public let unknownKind = DiagnosticID("system.unknown-kind", "a domain kind other than pv, pvh or hvm")
    public let badDomid = DiagnosticID("system.bad-domid", "a domid below 0 or above Xen's largest")
    public let duplicateDomid = DiagnosticID("system.duplicate-domid", "two domains with one domid")
    public let duplicateName = DiagnosticID("system.duplicate-name", "two domains with one name")
    public let badName = DiagnosticID(
      "system.bad-name", "an empty name, a name with white space, or `domN` naming another domid")
    public let badContext = DiagnosticID("system.bad-context", "a context that is not `user:role:type`")
    public let badPolicy = DiagnosticID(
      "system.bad-policy", "the policy path is empty, or the policy it names does not build or load")
    public let policyNotFound = DiagnosticID(
      "system.policy-not-found", "the policy the system names does not exist", exit: .unreadableInput)
    public let policyNotBinary = DiagnosticID(
      "system.policy-not-binary", "the system names a policy source, and the program reads binary policies only")
    public let noDomains = DiagnosticID("system.no-domains", "a system without `[[domain]]` tables")
    public let badCaller = DiagnosticID(
      "system.bad-caller", "a `[callers]` entry whose key is not a uid or whose value names no domain of the system")
    public let duplicateHardware = DiagnosticID("system.duplicate-hardware", "two domains flagged `hardware`")
    public let unknownTarget = DiagnosticID(
      "system.unknown-target", "a device model's `target` names no domain of the system (did-you-mean)")
    public let selfTarget = DiagnosticID("system.self-target", "a domain that is its own device model's target")
    public let targetNotHvm = DiagnosticID(
      "system.target-not-hvm", "(warning) a device model serving a PV domain, which Xen refuses")
    public let unknownBoolean = DiagnosticID(
      "system.unknown-boolean", "a `[booleans]` entry the policy does not have (did-you-mean)")
    public let unknownContext = DiagnosticID(
      "system.unknown-context", "a domain context naming a user, role or type the policy lacks (did-you-mean)")
    public let invalidContext = DiagnosticID(
      "system.invalid-context", "a domain context whose user may not have the role, or the role the type")
    public let xenRefusesPolicy = DiagnosticID(
      "system.xen-refuses-policy",
      "(warning) the policy's classes or permission bits are not any Xen release's: Xen's validate_classes refuses it")
    public let targetRefused = DiagnosticID(
      "system.target-refused", "(warning) the policy would refuse to make a domain the device model of its target")
  }
}
