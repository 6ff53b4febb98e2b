import Foundation
import XSMCatalog
import XSMEngine
import XSMSepol
import XSMServiceAPI

/// The state xsmd holds, like a hypervisor does: one host (policy,
/// domains, booleans, enforcing, SID table), the guards Xen applies to each
/// flask_op command, and its persistence. Every method takes the calling
/// domain and applies Xen's rule for it before anything else.
///
/// Consistency: queries run under a shared lock and see one state; a policy
/// load, boolean commit, enforcing switch or domain change takes the lock
/// exclusively, so each answer comes wholly from the old or the new state.
public final class FlaskService: Sendable {
  let core: ServiceCore

  init(core: ServiceCore) { self.core = core }

  /// Starts from the state file when it holds a state, else from `system`.
  public static func start(system: SystemSpec, catalog: OpCatalog, statePath: String?) async throws(ServiceError)
    -> FlaskService
  {
    FlaskService(core: try await ServiceCore.start(system: system, catalog: catalog, statePath: statePath))
  }

  // MARK: flask_op (xen-xsm-facts §d)

  public func load(_ policy: [UInt8], caller: Caller) async throws(ServiceError) -> Empty {
    try await core.load(policy, caller: caller)
  }
  public func getEnforce(caller: Caller) throws(ServiceError) -> EnforceReply { try core.getEnforce(caller: caller) }
  public func setEnforce(_ r: SetEnforceRequest, caller: Caller) throws(ServiceError) -> EnforceReply {
    try core.setEnforce(r, caller: caller)
  }
  public func contextToSID(_ r: ContextRequest, caller: Caller) throws(ServiceError) -> SIDReply {
    try core.contextToSID(r, caller: caller)
  }
  public func sidToContext(_ r: SIDRequest, caller: Caller) throws(ServiceError) -> ContextReply {
    try core.sidToContext(r, caller: caller)
  }
  public func access(_ r: AccessRequest, caller: Caller) throws(ServiceError) -> AccessReply {
    try core.access(r, caller: caller)
  }
  public func create(_ r: ComputeRequest, caller: Caller) throws(ServiceError) -> SIDReply {
    try core.compute(r, kind: .transition, caller: caller)
  }
  public func relabel(_ r: ComputeRequest, caller: Caller) throws(ServiceError) -> SIDReply {
    try core.compute(r, kind: .change, caller: caller)
  }
  public func member(_ r: ComputeRequest, caller: Caller) throws(ServiceError) -> SIDReply {
    try core.compute(r, kind: .member, caller: caller)
  }
  public func policyVersion(caller: Caller) throws(ServiceError) -> PolicyVersionReply {
    try core.policyVersion(caller: caller)
  }
  public func getBoolean(_ r: BooleanRef, caller: Caller) throws(ServiceError) -> BooleanReply {
    try core.getBoolean(r, caller: caller)
  }
  public func setBoolean(_ r: SetBooleanRequest, caller: Caller) throws(ServiceError) -> BooleanReply {
    try core.setBoolean(r, caller: caller)
  }
  public func commitBooleans(caller: Caller) throws(ServiceError) -> Empty { try core.commitBooleans(caller: caller) }
  public func mls(caller: Caller) throws(ServiceError) -> MLSReply { try core.mls(caller: caller) }
  public func avcThreshold(caller: Caller) throws(ServiceError) -> ThresholdReply { try core.avcThreshold(caller: caller) }
  public func setAVCThreshold(_ r: ThresholdRequest, caller: Caller) throws(ServiceError) -> ThresholdReply {
    try core.setAVCThreshold(r, caller: caller)
  }
  public func avcHashStats(caller: Caller) throws(ServiceError) -> HashStatsReply { try core.avcHashStats(caller: caller) }
  public func avcCacheStats(cpu: Int, caller: Caller) throws(ServiceError) -> CacheStatsReply {
    try core.avcCacheStats(cpu: cpu, caller: caller)
  }
  public func addOcontext(_ r: OcontextRequest, caller: Caller) throws(ServiceError) -> Empty {
    try core.ocontext(r, add: true, caller: caller)
  }
  public func delOcontext(_ r: OcontextRequest, caller: Caller) throws(ServiceError) -> Empty {
    try core.ocontext(r, add: false, caller: caller)
  }
  public func peerSID(_ r: PeerSIDRequest, caller: Caller) throws(ServiceError) -> SIDReply {
    try core.peerSID(r, caller: caller)
  }
  public func relabelDomain(_ r: RelabelDomainRequest, caller: Caller) throws(ServiceError) -> Empty {
    try core.relabelDomain(r, caller: caller)
  }
  public func deviceTreeLabel(_ r: DeviceTreeLabelRequest, caller: Caller) throws(ServiceError) -> Empty {
    try core.deviceTreeLabel(r, caller: caller)
  }

  // MARK: XSM identity, decisions, domains

  /// Which module is in place; answered under every module, to every caller.
  public func identity() -> XSMIdentity { core.identity() }
  public func can(_ r: CanRequest, caller: Caller) throws(ServiceError) -> CanReply { try core.can(r, caller: caller) }
  public func canBatch(_ r: BatchRequest, caller: Caller) throws(ServiceError) -> BatchReply {
    try core.canBatch(r, caller: caller)
  }
  public func matrix(_ r: MatrixRequest, caller: Caller) throws(ServiceError) -> AccessMatrix {
    try core.matrix(r, caller: caller)
  }
  public func domains() -> [DomainRecord] { core.domainRecords() }
  public func addDomain(_ r: AddDomainRequest, caller: Caller) throws(ServiceError) -> DomainRecord {
    try core.addDomain(r, caller: caller)
  }
  public func removeDomain(domid: Int, caller: Caller) throws(ServiceError) -> Empty {
    try core.removeDomain(domid: domid, caller: caller)
  }
  public func relabel(domid: Int, _ r: RelabelRequest, caller: Caller) throws(ServiceError) -> DomainRecord {
    try core.relabel(domid: domid, r, caller: caller)
  }

  /// Numbers for `/metrics`.
  public var gauges: ServiceGauges { core.gauges }
  /// Writes what is still buffered (the decision log) to the state file; call before exiting.
  public func close() { core.decisionLog.flush() }

  /// True once the state is loaded and the database open.
  public var isReady: Bool { core.isReady }
  /// The largest policy `load` accepts (Xen: 64 MiB).
  public static let maximumPolicySize = 64 << 20
}
