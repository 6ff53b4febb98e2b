import Foundation
import Prometheus
import Synchronization
import XSMAudit
import XSMCatalog
import XSMEngine
import XSMProtocol
import XSMSepol

/// The state xsmd holds, like a hypervisor does: one host (policy,
/// domains, booleans, enforcing, SID table), the guards Xen applies to each
/// flask_op command, and its persistence. Every method takes the calling
/// domain and applies Xen's rule for it before anything else.
///
/// Consistency: each query answers from one immutable snapshot, taken
/// without waiting; a change (policy load, boolean, enforcing, SID, label,
/// domain) is made on a draft, committed to the state file, and only then
/// published and answered, so each answer comes wholly from the old or the
/// new state, and an answered change survives a crash.
public final class FlaskService: Sendable {
  let core: ServiceCore

  init(core: ServiceCore) { self.core = core }

  /// Starts from the state file when it holds a state, else from `system`.
  public static func start(system: SystemSpec, catalog: OpCatalog, statePath: String?,
    policies: PolicyProvider = .binaryFiles) async throws(ServiceError)
    -> FlaskService
  {
    FlaskService(core: try await ServiceCore.start(system: system, catalog: catalog, statePath: statePath, policies: policies))
  }

  // MARK: flask_op (xen-xsm-facts §d)

  public func load(_ policy: [UInt8], caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.load(policy, caller: caller)
  }
  public func getEnforce(caller: Caller) throws(ServiceError) -> EnforceReplyV1 { try core.getEnforce(caller: caller) }
  public func setEnforce(_ r: SetEnforceRequestV1, caller: Caller) async throws(ServiceError) -> EnforceReplyV1 {
    try await core.setEnforce(r, caller: caller)
  }
  public func contextToSID(_ r: ContextRequestV1, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    try await core.contextToSID(r, caller: caller)
  }
  public func sidToContext(_ r: SIDRequestV1, caller: Caller) throws(ServiceError) -> ContextReplyV1 {
    try core.sidToContext(r, caller: caller)
  }
  public func access(_ r: AccessRequestV1, caller: Caller) throws(ServiceError) -> AccessReplyV1 {
    try core.access(r, caller: caller)
  }
  public func create(_ r: ComputeRequestV1, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    try await core.compute(r, kind: .transition, caller: caller)
  }
  public func relabel(_ r: ComputeRequestV1, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    try await core.compute(r, kind: .change, caller: caller)
  }
  public func member(_ r: ComputeRequestV1, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    try await core.compute(r, kind: .member, caller: caller)
  }
  public func policyVersion(caller: Caller) throws(ServiceError) -> PolicyVersionReplyV1 {
    try core.policyVersion(caller: caller)
  }
  public func getBoolean(_ r: BooleanRefV1, caller: Caller) throws(ServiceError) -> BooleanReplyV1 {
    try core.getBoolean(r, caller: caller)
  }
  public func setBoolean(_ r: SetBooleanRequestV1, caller: Caller) async throws(ServiceError) -> BooleanReplyV1 {
    try await core.setBoolean(r, caller: caller)
  }
  public func commitBooleans(caller: Caller) async throws(ServiceError) -> EmptyV1 { try await core.commitBooleans(caller: caller) }
  public func mls(caller: Caller) throws(ServiceError) -> MLSReplyV1 { try core.mls(caller: caller) }
  public func avcThreshold(caller: Caller) throws(ServiceError) -> ThresholdReplyV1 { try core.avcThreshold(caller: caller) }
  public func setAVCThreshold(_ r: ThresholdRequestV1, caller: Caller) async throws(ServiceError) -> ThresholdReplyV1 {
    try await core.setAVCThreshold(r, caller: caller)
  }
  public func avcHashStats(caller: Caller) throws(ServiceError) -> HashStatsReplyV1 { try core.avcHashStats(caller: caller) }
  public func avcCacheStats(cpu: Int, caller: Caller) throws(ServiceError) -> CacheStatsReplyV1 {
    try core.avcCacheStats(cpu: cpu, caller: caller)
  }
  public func addOcontext(_ r: OcontextRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.ocontext(r, add: true, caller: caller)
  }
  public func delOcontext(_ r: OcontextRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.ocontext(r, add: false, caller: caller)
  }
  public func peerSID(_ r: PeerSIDRequestV1, caller: Caller) throws(ServiceError) -> SIDReplyV1 {
    try core.peerSID(r, caller: caller)
  }
  public func relabelDomain(_ r: RelabelDomainRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.relabelDomain(r, caller: caller)
  }
  public func deviceTreeLabel(_ r: DeviceTreeLabelRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.deviceTreeLabel(r, caller: caller)
  }

  // MARK: XSM identity, decisions, domains

  /// Which module is in place; answered under every module, to every caller.
  public func identity() -> IdentityV1 { core.identity() }
  public func can(_ r: CanRequestV1, caller: Caller) throws(ServiceError) -> CanReplyV1 { try core.can(r, caller: caller) }
  /// `/v1/can` from request bytes to reply bytes, through the current
  /// snapshot's reply memo: a caller's repeat of a body already answered on
  /// this snapshot gets the same bytes, and is logged and counted again.
  /// `decode` reads a body the memo does not hold; `encode` writes its reply.
  public func can(
    body: [UInt8], caller: Caller, decode: ([UInt8]) throws(ServiceError) -> CanRequestV1,
    encode: (CanReplyV1) -> [UInt8]
  ) throws(ServiceError) -> [UInt8] {
    try core.can(body: body, caller: caller, decode: decode, encode: encode)
  }
  /// How many `/v1/can` replies one snapshot keeps (0: none, every question is decided afresh), and
  /// how many request and reply bytes in all.
  public func keepReplies(entries: Int, bytes: Int = 16 << 20) {
    core.replyMemoLimitsBox.withLock { $0 = ReplyMemo.Limits(entries: max(0, entries), bytes: max(0, bytes)) }
  }
  public func canBatch(_ r: BatchRequestV1, caller: Caller) throws(ServiceError) -> BatchReplyV1 {
    try core.canBatch(r, caller: caller)
  }
  /// The batch route's questions with the repeated ones folded (each distinct question is decided once).
  public func canBatch(_ b: BatchQuestions, caller: Caller) throws(ServiceError) -> BatchReplyV1 {
    try core.canBatch(b, caller: caller)
  }
  /// Every (caller, op, target) of three lists, one verdict character each (`/v1/can/product`).
  public func canProduct(_ r: ProductRequestV1, caller: Caller) throws(ServiceError) -> ProductReplyV1 {
    try core.canProduct(r, caller: caller)
  }
  /// One page of the decision log (`GET /v1/decisions`).
  public func decisions(_ query: DecisionQueryV1, caller: Caller) throws(ServiceError) -> DecisionPageV1 {
    try core.decisions(query, caller: caller)
  }
  public func matrix(_ r: MatrixRequestV1, caller: Caller) throws(ServiceError) -> MatrixV1 {
    try core.matrix(r, caller: caller)
  }
  /// avc lines explained against the policy in force (`xsmq explain --server`).
  public func explain(_ r: ExplainRequestV1, caller: Caller) async throws(ServiceError) -> AVCReport {
    try await core.explain(r, caller: caller)
  }
  public func domains() -> [DomainRecordV1] { core.domainRecords() }
  public func addDomain(_ r: AddDomainRequestV1, caller: Caller) async throws(ServiceError) -> DomainRecordV1 {
    try await core.addDomain(r, caller: caller)
  }
  public func removeDomain(domid: Int, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await core.removeDomain(domid: domid, caller: caller)
  }
  public func relabel(domid: Int, _ r: RelabelRequestV1, caller: Caller) async throws(ServiceError) -> DomainRecordV1 {
    try await core.relabel(domid: domid, r, caller: caller)
  }

  // MARK: Callers

  /// The caller tokens (bearer tokens for TCP).
  public var tokens: CallerTokens { core.tokens }

  /// The domid of a domain named by name or `domN`, on the host as it is now.
  public func domid(of reference: String) -> Int? { core.snapshot.state.host.domain(named: reference)?.domid }

  /// Issues a token for `domain`; only a control domain (Xen's privileged domain) may.
  public func issueToken(_ r: IssueTokenRequestV1, caller: Caller) async throws(ServiceError) -> IssuedTokenV1 {
    let s = core.state
    try requireControl(caller, in: s)
    guard let domain = s.host.domain(named: r.domain) else {
      throw ServiceError(404, "domain.unknown", "no domain `\(r.domain)` on this host", errno: "-ESRCH")
    }
    return try await core.tokens.issue(domid: domain.domid)
  }

  /// Revokes a token by id; only a control domain may.
  public func revokeToken(id: String, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try requireControl(caller, in: core.state)
    try await core.tokens.revoke(id: id)
    return EmptyV1()
  }

  /// The tokens issued (ids and domids); only a control domain may list them.
  public func listTokens(caller: Caller) throws(ServiceError) -> [TokenRecordV1] {
    try requireControl(caller, in: core.state)
    return core.tokens.list()
  }

  private func requireControl(_ caller: Caller, in s: ServiceState) throws(ServiceError) {
    let me = try core.callerDomain(caller, in: s)
    guard me.isControl else {
      throw ServiceError(403, "auth.not-control", "only a control domain manages tokens; \(me.label) is not one",
        errno: "-EPERM")
    }
  }

  /// Numbers for `/metrics`.
  public var gauges: ServiceGauges { core.gauges }
  /// The Prometheus registry `/metrics` renders; decisions are counted in it by module, op family and verdict.
  public var metricsRegistry: PrometheusCollectorRegistry { core.metrics.registry }
  /// From now on, denials decided by `/v1/can` are appended to `file` as Xen's avc lines.
  public func writeDenials(to file: AVCLogFile) { core.avcLogFile.withLock { $0 = file } }
  /// Stops the decision log's background writer and writes what it still buffers; call before exiting.
  public func close() { core.decisionLog.stop() }

  /// True once the state is loaded and the database open.
  public var isReady: Bool { core.isReady }
  /// The largest policy `load` accepts (Xen: 64 MiB).
  public static let maximumPolicySize = 64 << 20
}
