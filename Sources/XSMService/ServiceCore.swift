import Foundation
import Prometheus
import Synchronization
import XSMAudit
import XSMCatalog
import XSMDiagnostics
import XSMEngine
import XSMProtocol
import XSMWire
import XSMSepol

/// A published snapshot, held by reference so a request takes it without
/// copying its fields. Never changed once made.
final class PublishedState: @unchecked Sendable {
  let state: ServiceState
  init(_ state: ServiceState) { self.state = state }
}

/// One snapshot of the service: the host (domains and its own security
/// server), the policy binary and the system. A published snapshot is never
/// changed: a change works on a draft whose server is a copy
/// (`SecurityServer.copy()`), saves it, then publishes it.
struct ServiceState {
  var host: XenHost
  var policyBinary: [UInt8]
  var system: SystemSpec
  /// What a change must write before it is published.
  var unsaved = UnsavedChanges.none
  /// Verdicts already decided on this snapshot (`/v1/can/product`); every change publishes an empty one.
  var memo = VerdictMemo()
  /// `/v1/can` replies already given on this snapshot; every change publishes an empty one.
  var replies = ReplyMemo()

  /// How much of a draft differs from the saved state.
  enum UnsavedChanges: Comparable { case none, sids, all }

  /// Marks the whole state for saving.
  mutating func changed() { unsaved = .all }
  /// Marks the SID table for saving.
  mutating func allocatedSIDs() { unsaved = max(unsaved, .sids) }
}

/// Changes one at a time, in arrival order, without holding a thread while waiting.
final class ChangeGate: Sendable {
  private struct Queue {
    var busy = false
    var waiting: [CheckedContinuation<Void, Never>] = []
  }
  private let queue = Mutex(Queue())

  func enter() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let admitted = queue.withLock { q -> Bool in
        if q.busy {
          q.waiting.append(continuation)
          return false
        }
        q.busy = true
        return true
      }
      if admitted { continuation.resume() }
    }
  }

  func leave() {
    let next = queue.withLock { q -> CheckedContinuation<Void, Never>? in
      if q.waiting.isEmpty {
        q.busy = false
        return nil
      }
      return q.waiting.removeFirst()
    }
    next?.resume()
  }
}

/// The implementation behind ``FlaskService``: Xen's guard for each
/// command, then the command, then persistence of what changed.
final class ServiceCore: Sendable {
  let catalog: OpCatalog
  /// The snapshot queries see. A query takes it (the lock is held only to
  /// copy the reference) and answers from it; a change builds a draft with
  /// its own security server, commits it to the state file, then swaps it in,
  /// so a query sees a change whole or not at all, never one that was not
  /// saved, and never waits for a change or for the disk.
  private let published: Mutex<PublishedState>
  /// Changes happen one at a time, in arrival order.
  private let changing = ChangeGate()
  let store: StateStore?
  let decisionLog: DecisionLog
  let tokens: CallerTokens
  let ready = Atomic<Bool>(false)
  /// Decisions counted by module, op family and verdict (`/metrics`).
  let metrics: DecisionMetrics
  /// Where denials are written as Xen's avc lines (`xsmd --avc-log`), when set.
  var avcLog: AVCLogFile? { avcLogFile.withLock { $0 } }
  let avcLogFile = Mutex<AVCLogFile?>(nil)
  /// Each op's position in the catalog: its column in a `VerdictMemo` row.
  let opSlots: [String: Int]
  /// How many `/v1/can` replies, and how many bytes of them, one snapshot keeps (`xsmd --reply-memo`).
  var replyMemoLimits: ReplyMemo.Limits { replyMemoLimitsBox.withLock { $0 } }
  let replyMemoLimitsBox = Mutex(ReplyMemo.Limits())

  init(catalog: OpCatalog, state: ServiceState, store: StateStore?, tokens: CallerTokens) {
    self.catalog = catalog
    self.published = Mutex(PublishedState(state))
    self.store = store
    self.tokens = tokens
    self.decisionLog = DecisionLog(store: store)
    self.metrics = DecisionMetrics(catalog: catalog)
    self.opSlots = Dictionary(catalog.ops.enumerated().map { ($1.name, $0) }) { first, _ in first }
  }

  var isReady: Bool { ready.load(ordering: .acquiring) }

  // MARK: Start and restore

  static func start(system: SystemSpec, catalog: OpCatalog, statePath: String?, policies: PolicyProvider)
    async throws(ServiceError)
    -> ServiceCore
  {
    let store: StateStore?
    let saved: SavedState?
    let tokens: CallerTokens
    do {
      store = try statePath.map { path throws(StateFileError) in try StateStore(path: path) }
      saved = try store?.loadSnapshot()
      tokens = try CallerTokens(store: store)
    } catch {
      throw ServiceError(500, error.code, "state file `\(statePath ?? "")`: \(error.message)")
    }
    var spec = system
    var binary: [UInt8]?
    if let saved, let policy = saved.policy {
      binary = policy
      spec.policy = saved.policySource
    }
    if let saved, !saved.domains.isEmpty { spec.domains = saved.domains }
    if let saved, let enforcing = saved.enforcing { spec.enforcing = enforcing }
    if let saved { for (name, value) in saved.booleans { spec.booleans[name] = value } }

    let host: XenHost
    if let binary {
      let (loaded, diagnostics) = await XenHost.load(spec, catalog: catalog, policyBinary: binary)
      guard let loaded else { throw ServiceError(500, "state.restore", "the saved state does not load: \(messages(diagnostics))") }
      host = loaded
    } else {
      let (loaded, diagnostics) = await XenHost.load(spec, catalog: catalog, policies: policies)
      guard let loaded else { throw ServiceError(400, "system.invalid", "the system does not load: \(messages(diagnostics))") }
      host = loaded
    }
    let policyBinary = binary ?? host.policyBinary
    let core = ServiceCore(catalog: catalog, state: ServiceState(host: host, policyBinary: policyBinary, system: spec),
      store: store, tokens: tokens)
    if let server = host.server, let saved {
      // Replay SIDs in order so numbers survive a restart, then pending booleans and labels.
      for (i, text) in saved.contexts.enumerated() {
        let sid = UInt32(i + 1)
        let context = server.policy.context(text)
        // Initial SIDs are there already (two may share a context); later ones are allocated in order.
        if let context, server.context(of: sid) == context { continue }
        guard let context, server.sid(for: context) == sid else {
          throw ServiceError(500, "state.damaged",
            "state file `\(statePath ?? "")`: saved SID \(i + 1) is `\(text)`, which the saved policy does not give that SID")
        }
      }
      for (name, value) in saved.pending {
        if let i = server.policy.booleanNames.firstIndex(of: name) { server.setBoolean(i, to: value, commit: false) }
      }
      for entry in saved.labels {
        _ = server.changeLabel(entry.kind, low: entry.low, high: entry.high, path: entry.path, sid: entry.sid)
      }
      if let threshold = saved.cacheThreshold { server.setCacheThreshold(threshold) }
    }
    try await core.save(core.state, .all)
    core.decisionLog.startFlushing()
    core.ready.store(true, ordering: .releasing)
    return core
  }

  // MARK: Locking helpers

  /// The state as last published.
  var state: ServiceState { published.withLock { $0.state } }
  /// The last published snapshot by reference: taking it copies no field (the per-request path reads this).
  var snapshot: PublishedState { published.withLock { $0 } }

  func read<T>(_ body: (ServiceState) throws(ServiceError) -> T) throws(ServiceError) -> T {
    try body(state)
  }

  /// Runs one change on a draft of the current snapshot, commits what it
  /// marked unsaved to the state file, then publishes it. A change that throws,
  /// or whose save fails (500 `state.write-failed`), leaves the published
  /// snapshot and the file as they were.
  func write<T>(_ body: (inout ServiceState) throws(ServiceError) -> T) async throws(ServiceError) -> T {
    await changing.enter()
    defer { changing.leave() }
    var draft = state
    if let server = draft.host.server { draft.host = draft.host.updated(server: server.copy()) }
    let result = try body(&draft)
    if draft.unsaved != .none {
      try await save(draft, draft.unsaved)
      draft.unsaved = .none
    }
    draft.memo = VerdictMemo()
    draft.replies = ReplyMemo()
    let published = PublishedState(draft)
    self.published.withLock { $0 = published }
    return result
  }

  // MARK: Guards

  func callerDomain(_ caller: Caller, in s: ServiceState) throws(ServiceError) -> HostDomain {
    guard let d = s.host.domain(named: caller.domain) else {
      let hint = Suggestion.closest(to: caller.domain, in: s.host.domainNames).map { "; did you mean `\($0)`?" } ?? ""
      throw ServiceError(404, "domain.unknown", "no domain `\(caller.domain)` on this host\(hint)", errno: "-ESRCH")
    }
    return d
  }

  /// The server, or `-ENOSYS` when flask is not the module in force (dummy
  /// and silo do not implement xsm_op).
  func flaskServer(_ s: ServiceState) throws(ServiceError) -> SecurityServer {
    guard s.host.module == .flask, let server = s.host.server else {
      throw ServiceError(501, "module.no-flask-op",
        "the \(s.host.module.rawValue) module does not implement xsm_op; flask_op commands need flask", errno: "-ENOSYS")
    }
    return server
  }

  /// Xen's guard for a flask_op command: the decision, under flask, of the
  /// catalog's `xsm.flask_op.<command>` op for the caller, with the
  /// situations of the request (`changed`, `remove`, `self`). A denial is a
  /// 403 whose body carries the decision's trace, as `/v1/can` shows it.
  func authorize(_ command: String, _ caller: HostDomain, in s: ServiceState, target: HostDomain? = nil,
    situations: Set<String> = []) throws(ServiceError)
  {
    let op = try flaskOp(command)
    let decision = DecisionEngine(host: s.host).decide(caller: caller, op: op, target: target, module: .flask,
      objects: QueryObjects(situations: situations))
    try accept(decision, op: op, caller: caller)
  }

  /// Only the guard of a flask_op command for the caller, as Xen's
  /// flask_security_* functions check `domain_has_security` before they copy
  /// a buffer from the guest (xen/xsm/flask/flask_op.c): -ENOSYS without
  /// flask, -ESRCH for an unknown caller, -EACCES when the policy refuses.
  func checkGuard(_ command: String, situations: Set<String> = [], caller: Caller) throws(ServiceError) {
    try read { s throws(ServiceError) in
      _ = try flaskServer(s)
      try authorize(command, try callerDomain(caller, in: s), in: s, situations: situations)
    }
  }

  /// The catalog's op for a flask_op command.
  func flaskOp(_ command: String) throws(ServiceError) -> Op {
    let name = "xsm.flask_op.\(command)"
    guard let op = catalog.op(named: name) else {
      throw ServiceError(500, "guard.unknown-op", "the op catalog has no `\(name)` to guard this command with")
    }
    return op
  }

  /// Throws the 403 of a guard the decision did not pass.
  func accept(_ decision: Decision, op: Op, caller: HostDomain) throws(ServiceError) {
    guard decision.verdict != .allowed else { return }
    let failed = decision.trace.filter { $0.outcome == .fail }.map(\.text)
    let why = failed.isEmpty ? "" : " (\(failed.joined(separator: "; ")))"
    throw ServiceError(403, "guard.denied",
      "\(caller.label) may not do this: the policy does not grant \(op.name)\(why)",
      errno: decision.error ?? "-EACCES", trace: decision.trace.map(TraceStepV1.init))
  }

  func unknownSID(_ sid: UInt32) -> ServiceError {
    ServiceError(404, "flask.unknown-sid", "SID \(sid) is not in the SID table", errno: "-EINVAL")
  }

  func classValue(_ ref: ClassRefV1, _ policy: FlaskPolicy) throws(ServiceError) -> Int {
    switch ref {
    case .number(let n):
      guard n >= 1, n <= policy.data.classes.count else {
        throw ServiceError(400, "flask.unknown-class", "no class number \(n)", errno: "-EINVAL")
      }
      return n
    case .name(let name):
      guard let v = policy.classValue(name) else {
        let hint = Suggestion.closest(to: name, in: policy.data.classes.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""
        throw ServiceError(400, "flask.unknown-class", "no class `\(name)`\(hint)", errno: "-EINVAL")
      }
      return v
    }
  }

  // MARK: flask_op commands

  func load(_ policy: [UInt8], caller: Caller) async throws(ServiceError) -> EmptyV1 {
    guard policy.count <= FlaskService.maximumPolicySize else {
      throw ServiceError(413, "policy.too-large", "a policy may be at most 64 MiB", errno: "-EFBIG")
    }
    try read { s throws(ServiceError) in
      _ = try flaskServer(s)
      try authorize("load", try callerDomain(caller, in: s), in: s)
    }
    let loaded: FlaskPolicy
    do {
      loaded = try await FlaskPolicy.reading(policy)
    } catch {
      throw PolicyLoadChecks.readFailure(error)
    }
    guard loaded.policyVersion == 30 || loaded.policyVersion == 24 else {
      throw ServiceError(422, "policy.version", "Xen loads XenFlask policies of version 24 or 30, not \(loaded.policyVersion)",
        errno: "-EINVAL")
    }
    return try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      // Checked again under the write lock: the state may have changed meanwhile.
      try authorize("load", try callerDomain(caller, in: s), in: s)
      guard loaded.isMLS == server.policy.isMLS else {
        throw ServiceError(422, "policy.mls-mismatch",
          "an MLS policy can only replace an MLS policy, and a non-MLS one a non-MLS one", errno: "-EINVAL")
      }
      if let refusal = PolicyLoadChecks.refusal(of: loaded, running: server.policy) { throw refusal }
      server.load(loaded)
      s.policyBinary = policy
      s.host = s.host.updated(policyBinary: policy, policySource: Self.loadedPolicySource)
      s.changed()
      return EmptyV1()
    }
  }

  func getEnforce(caller: Caller) throws(ServiceError) -> EnforceReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      return EnforceReplyV1(enforcing: server.enforcing)
    }
  }

  func setEnforce(_ r: SetEnforceRequestV1, caller: Caller) async throws(ServiceError) -> EnforceReplyV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      let domain = try callerDomain(caller, in: s)
      // Checked only when the value changes (xen-xsm-facts §d): the op's `if changed`.
      let changed = server.enforcing != r.enforcing
      try authorize("setenforce", domain, in: s, situations: changed ? ["changed"] : [])
      if changed {
        server.setEnforcing(r.enforcing)
        s.changed()
      }
      return EnforceReplyV1(enforcing: server.enforcing)
    }
  }

  func contextToSID(_ r: ContextRequestV1, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    // Xen copies the context with its NUL through safe_copy_string_from_guest(…, PAGE_SIZE)
    // (flask_security_context, xen/lib/guest-strcpy.c): 4095 bytes and the NUL fit, more is -ENOBUFS.
    guard r.context.utf8.count < 4096 else {
      throw ServiceError(413, "context.too-long", "a context may be at most 4095 bytes (one page with its NUL)",
        errno: "-ENOBUFS")
    }
    return try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize("context_to_sid", try callerDomain(caller, in: s), in: s)
      guard let context = server.policy.context(r.context), server.policy.isValid(context) else {
        throw ServiceError(422, "context.invalid", "`\(r.context)` is not a valid context of the policy", errno: "-EINVAL")
      }
      let sid = server.sid(for: context)
      s.allocatedSIDs()
      return SIDReplyV1(sid: sid)
    }
  }

  func sidToContext(_ r: SIDRequestV1, caller: Caller) throws(ServiceError) -> ContextReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize("sid_to_context", try callerDomain(caller, in: s), in: s)
      guard let context = server.context(of: r.sid) else { throw unknownSID(r.sid) }
      return ContextReplyV1(context: server.policy.contextString(context))
    }
  }

  func access(_ r: AccessRequestV1, caller: Caller) throws(ServiceError) -> AccessReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize("access", try callerDomain(caller, in: s), in: s)
      guard server.context(of: r.ssid) != nil else { throw unknownSID(r.ssid) }
      guard server.context(of: r.tsid) != nil else { throw unknownSID(r.tsid) }
      let cls = try classValue(r.tclass, server.policy)
      let d = server.computeAV(source: r.ssid, target: r.tsid, classValue: cls)
      let requested = r.requested ?? UInt32.max
      let names = server.policy.permissionNames(ofClass: cls).enumerated()
        .filter { d.allowed & requested & (1 << UInt32($0.offset)) != 0 }.map(\.element)
      return AccessReplyV1(allowed: d.allowed & requested, auditAllow: d.auditAllow, auditDeny: d.auditDeny,
        sequence: server.sequence, allowedNames: names)
    }
  }

  func compute(_ r: ComputeRequestV1, kind: TransitionKind, caller: Caller) async throws(ServiceError) -> SIDReplyV1 {
    let command = kind == .transition ? "create" : kind == .member ? "member" : "relabel"
    return try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize(command, try callerDomain(caller, in: s), in: s)
      guard server.context(of: r.ssid) != nil else { throw unknownSID(r.ssid) }
      guard server.context(of: r.tsid) != nil else { throw unknownSID(r.tsid) }
      let cls = try classValue(r.tclass, server.policy)
      let sid = server.computeSID(source: r.ssid, target: r.tsid, classValue: cls, kind: kind)
      if let c = server.context(of: sid), !server.policy.isValid(c), server.enforcing {
        throw ServiceError(422, "context.invalid", "the computed context is not valid in the policy", errno: "-EACCES")
      }
      s.allocatedSIDs()
      return SIDReplyV1(sid: sid)
    }
  }

  func policyVersion(caller: Caller) throws(ServiceError) -> PolicyVersionReplyV1 {
    try read { s throws(ServiceError) in
      _ = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      // FLASK_POLICYVERS reports the highest version the hypervisor loads.
      return PolicyVersionReplyV1(version: 30)
    }
  }

  func booleanIndex(_ id: Int?, _ name: String?, _ policy: FlaskPolicy) throws(ServiceError) -> Int {
    if let name {
      guard let i = policy.booleanNames.firstIndex(of: name) else {
        let hint = Suggestion.closest(to: name, in: policy.booleanNames).map { "; did you mean `\($0)`?" } ?? ""
        throw ServiceError(404, "boolean.unknown", "no boolean `\(name)`\(hint)", errno: "-ENOENT")
      }
      return i
    }
    guard let id, policy.booleanNames.indices.contains(id) else {
      throw ServiceError(404, "boolean.unknown", "no boolean with id \(id.map(String.init) ?? "(none given)")",
        errno: "-ENOENT")
    }
    return id
  }

  func booleanReply(_ i: Int, _ server: SecurityServer) -> BooleanReplyV1 {
    let value = server.booleans[i]
    return BooleanReplyV1(id: i, name: server.policy.booleanNames[i], enforcing: value,
      pending: server.pendingBooleans[i] ?? value)
  }

  func getBoolean(_ r: BooleanRefV1, caller: Caller) throws(ServiceError) -> BooleanReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)  // FLASK_GETBOOL checks no permission.
      return booleanReply(try booleanIndex(r.id, r.name, server.policy), server)
    }
  }

  func setBoolean(_ r: SetBooleanRequestV1, caller: Caller) async throws(ServiceError) -> BooleanReplyV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize("setbool", try callerDomain(caller, in: s), in: s)
      let i = try booleanIndex(r.id, r.name, server.policy)
      server.setBoolean(i, to: r.value, commit: r.commit)
      s.changed()
      return booleanReply(i, server)
    }
  }

  func commitBooleans(caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize("commitbools", try callerDomain(caller, in: s), in: s)
      server.commitBooleans()
      s.changed()
      return EmptyV1()
    }
  }

  func mls(caller: Caller) throws(ServiceError) -> MLSReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      return MLSReplyV1(mls: server.policy.isMLS)
    }
  }

  func avcThreshold(caller: Caller) throws(ServiceError) -> ThresholdReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      return ThresholdReplyV1(threshold: server.cacheThreshold)
    }
  }

  func setAVCThreshold(_ r: ThresholdRequestV1, caller: Caller) async throws(ServiceError) -> ThresholdReplyV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      let domain = try callerDomain(caller, in: s)
      // Xen takes any uint32_t, 0 included (flask_security_setavc_threshold).
      guard r.threshold >= 0, r.threshold <= Int(UInt32.max) else {
        throw ServiceError(400, "request.invalid", "the threshold must be 0 to 4294967295 (a uint32_t), not \(r.threshold)",
          errno: "-EINVAL")
      }
      let changed = r.threshold != server.cacheThreshold
      try authorize("setavc_threshold", domain, in: s, situations: changed ? ["changed"] : [])
      if changed {
        server.setCacheThreshold(r.threshold)
        s.changed()
      }
      return ThresholdReplyV1(threshold: server.cacheThreshold)
    }
  }

  func avcHashStats(caller: Caller) throws(ServiceError) -> HashStatsReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      // Xen's AVC has 512 slots; ours is a hash table, reported in those terms.
      let entries = server.cacheEntries
      let slots = 512
      return HashStatsReplyV1(entries: entries, bucketsUsed: min(entries, slots), bucketsTotal: slots,
        maxChainLength: entries == 0 ? 0 : (entries + slots - 1) / slots)
    }
  }

  func avcCacheStats(cpu: Int, caller: Caller) throws(ServiceError) -> CacheStatsReplyV1 {
    try read { s throws(ServiceError) in
      let server = try flaskServer(s)
      _ = try callerDomain(caller, in: s)
      // One simulated CPU holds all counters.
      guard cpu == 0 else { throw ServiceError(404, "avc.no-cpu", "no CPU \(cpu) (the simulated host has one)", errno: "-ENOENT") }
      let st = server.statistics
      return CacheStatsReplyV1(cpu: 0, lookups: st.lookups, hits: st.hits, misses: st.misses, allocations: st.allocations,
        reclaims: st.reclaims, frees: st.frees)
    }
  }

  func ocontext(_ r: OcontextRequestV1, add: Bool, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    guard let kind = RuntimeLabels.Kind(rawValue: r.kind), kind != .devicetree else {
      throw ServiceError(400, "ocontext.unknown-kind", "kind must be pirq, ioport, iomem or pcidevice, not `\(r.kind)`",
        errno: "-EINVAL")
    }
    let high = r.high ?? r.low
    guard r.low <= high else { throw ServiceError(400, "ocontext.bad-range", "low is above high", errno: "-EINVAL") }
    return try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      try authorize(add ? "add_ocontext" : "del_ocontext", try callerDomain(caller, in: s), in: s)
      var sid: UInt32?
      if add {
        guard let given = r.sid else { throw ServiceError(400, "request.invalid", "adding a label needs `sid`", errno: "-EINVAL") }
        guard server.context(of: given) != nil else { throw unknownSID(given) }
        sid = given
      }
      switch server.changeLabel(kind, low: r.low, high: high, sid: sid) {
      case .done: s.changed()
      case .unchanged: break
      case .exists: throw ServiceError(409, "ocontext.exists", "an overlapping or different label is already there", errno: "-EEXIST")
      case .notFound: throw ServiceError(404, "ocontext.not-found", "no label with exactly that key", errno: "-ENOENT")
      }
      return EmptyV1()
    }
  }

  /// Ports are simulated: the caller's interdomain port N is bound to domain N.
  func peerSID(_ r: PeerSIDRequestV1, caller: Caller) throws(ServiceError) -> SIDReplyV1 {
    try read { s throws(ServiceError) in
      _ = try flaskServer(s)
      let domain = try callerDomain(caller, in: s)
      guard r.port != domain.domid, let peer = s.host.domain(domid: r.port), let sid = peer.sid else {
        throw ServiceError(400, "evtchn.not-interdomain", "port \(r.port) is not an interdomain port of \(domain.label)",
          errno: "-EINVAL")
      }
      return SIDReplyV1(sid: sid)
    }
  }

  func relabelDomain(_ r: RelabelDomainRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      let me = try callerDomain(caller, in: s)
      guard let newContext = server.context(of: r.sid) else { throw unknownSID(r.sid) }
      let isSelf = r.domid == nil
      var target = me
      if let domid = r.domid {
        guard let named = s.host.domain(domid: domid) else {
          throw ServiceError(404, "domain.unknown", "no domain \(domid)", errno: "-ESRCH")
        }
        target = named
      }
      try relabel(target, to: r.sid, context: newContext, by: me, isSelf: isSelf, server: server, state: &s)
      return EmptyV1()
    }
  }

  /// `FLASK_RELABEL_DOMAIN`: the decision of `xsm.flask_op.relabel_domain`
  /// (situation `self` when the domid passed is DOMID_SELF), then the new
  /// labels from the security server's labeller.
  func relabel(_ target: HostDomain, to sid: UInt32, context: SecurityContext, by me: HostDomain, isSelf: Bool,
    server: SecurityServer, state s: inout ServiceState) throws(ServiceError)
  {
    guard target.sid != nil, me.sid != nil else {
      throw ServiceError(400, "domain.unlabelled", "the domain has no label", errno: "-EINVAL")
    }
    let op = try flaskOp("relabel_domain")
    let situations: Set<String> = isSelf ? ["self"] : []
    let engine = DecisionEngine(host: s.host)
    // The new label is the call's `label` argument (`new_label` in the catalog's checks).
    let objects = QueryObjects(parties: ["old": target.domid], label: sid, situations: situations,
      domidSelf: isSelf ? ["old"] : [])
    let decision = engine.decide(caller: me, op: op, target: target, module: .flask, objects: objects)
    try accept(decision, op: op, caller: me)
    guard let index = s.host.domains.firstIndex(where: { $0.domid == target.domid }) else { return }
    var domains = s.host.domains
    // A device model of the relabelled domain keeps its old target label (Xen does not revisit it).
    let targetContext = domains[index].targetDomid.flatMap { t in domains.first { $0.domid == t }?.sid }
      .flatMap(server.context(of:))
    domains[index].apply(server.labels(context: context, targetContext: targetContext))
    domains[index].contextText = server.policy.contextString(context)
    s.host = s.host.updated(domains: domains)
    s.changed()
  }

  func deviceTreeLabel(_ r: DeviceTreeLabelRequestV1, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    guard !r.path.isEmpty else { throw ServiceError(400, "request.invalid", "the path is empty", errno: "-EINVAL") }
    // As a context: the path and its NUL fit one page, more is -ENOBUFS (flask_devicetree_label).
    guard r.path.utf8.count < 4096 else {
      throw ServiceError(400, "request.invalid", "the path must be at most 4095 bytes (one page with its NUL)",
        errno: "-ENOBUFS")
    }
    return try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      let add = r.sid != 0
      try authorize("devicetree_label", try callerDomain(caller, in: s), in: s, situations: add ? [] : ["remove"])
      if add, server.context(of: r.sid) == nil { throw unknownSID(r.sid) }
      switch server.changeLabel(.devicetree, low: 0, high: 0, path: r.path, sid: add ? r.sid : nil) {
      case .done: s.changed()
      case .unchanged, .exists:
        throw ServiceError(409, "ocontext.exists", "`\(r.path)` already has a label", errno: "-EEXIST")
      case .notFound: throw ServiceError(404, "ocontext.not-found", "`\(r.path)` has no label", errno: "-ENOENT")
      }
      return EmptyV1()
    }
  }

  /// The policy source of a host whose policy FLASK_LOAD replaced.
  static let loadedPolicySource = "loaded"

  // MARK: Identity and decisions

  func identity() -> IdentityV1 {
    IdentityV1(state.host.identity)
  }

  func resolveOp(_ name: String) throws(ServiceError) -> Op {
    guard let op = catalog.op(named: name) else {
      let hint = Suggestion.closest(to: name, in: catalog.allNames).map { "; did you mean `\($0)`?" } ?? ""
      throw ServiceError(404, "op.unknown", "unknown op `\(name)`\(hint)")
    }
    return op
  }

  func domain(_ name: String, in s: ServiceState) throws(ServiceError) -> HostDomain {
    try callerDomain(Caller(name), in: s)
  }

  func can(_ r: CanRequestV1, caller: Caller) throws(ServiceError) -> CanReplyV1 {
    let (reply, effects) = try answer(r, caller: caller, in: state, avcLog: avcLog)
    record(effects)
    return reply
  }

  /// `/v1/can` from its body's bytes to its reply's bytes. A reply already
  /// given on this snapshot to the same caller for the same bytes is given
  /// again (the snapshot cannot change under it; every change publishes an
  /// empty memo), and what answering records — the decision log, the
  /// decision counters, the avc log — is recorded again as the first answer
  /// recorded it. Anything else is decoded, decided and encoded, then kept
  /// within the memo's bounds. Errors are never kept.
  func can(
    body: [UInt8], caller: Caller, decode: ([UInt8]) throws(ServiceError) -> CanRequestV1,
    encode: (CanReplyV1) -> [UInt8]
  ) throws(ServiceError) -> [UInt8] {
    let snapshot = self.snapshot
    let avcLog = self.avcLog
    let limits = replyMemoLimits
    // The key (a hash of the body) is made only when replies are kept.
    let key = limits.entries > 0 ? ReplyMemo.Key(caller: caller.domain, body: body) : nil
    if let key, let kept = snapshot.state.replies.reply(key), avcLog == nil || kept.effects.avcLines != nil {
      metrics.replyMemoHits.increment()
      record(kept.effects)
      return kept.bytes
    }
    metrics.replyMemoMisses.increment()
    let (reply, effects) = try answer(try decode(body), caller: caller, in: snapshot.state, avcLog: avcLog)
    let bytes = encode(reply)
    if let key {
      snapshot.state.replies.keep(key, ReplyMemo.Reply(bytes: bytes, effects: effects), within: limits)
    }
    record(effects)
    return bytes
  }

  /// What answering one question records besides its reply (an object: the reply memo's hits
  /// record it through a reference).
  final class CanEffects: Sendable {
    /// The decision counter of each module's verdict.
    let counters: [Counter]
    /// The avc lines of the denials; nil when no avc log was written to.
    let avcLines: [String]?
    /// The decision-log entry (the log gives its id and time).
    let logEntry: DecisionLog.Entry

    init(counters: [Counter], avcLines: [String]?, logEntry: DecisionLog.Entry) {
      self.counters = counters
      self.avcLines = avcLines
      self.logEntry = logEntry
    }
  }

  /// Writes what an answer records: its decisions counted, its denials to the
  /// avc log (when one is kept), and one decision-log entry.
  func record(_ e: CanEffects) {
    for counter in e.counters { counter.increment() }
    if let lines = e.avcLines, !lines.isEmpty, let avcLog { avcLog.write(lines) }
    decisionLog.record(e.logEntry)
  }

  /// One question decided on snapshot `s`, with what answering it records.
  func answer(_ r: CanRequestV1, caller: Caller, in s: ServiceState, avcLog: AVCLogFile?) throws(ServiceError)
    -> (CanReplyV1, CanEffects)
  {
    let op = try resolveOp(r.op)
    _ = try callerDomain(caller, in: s)
    let who = try domain(r.caller ?? caller.domain, in: s)
    let question = try bind(who, op, target: r.target, arguments: r.arguments ?? [], options: OpQuestion.Options(r),
      situations: r.situations ?? [], s)
    let engine = DecisionEngine(host: s.host)
    let asked = r.module.map(XSMModule.init) ?? s.host.module
    let modules: [XSMModule] = r.allModules == true ? XSMModule.allCases : [asked]
    let explain = r.why == true
    let decisions = modules.map {
      engine.decide(caller: who, op: op, target: question.target, module: $0, objects: question.objects,
        explain: explain)
    }
    let primary = decisions.first { $0.module == asked } ?? decisions[0]
    var avcLines: [String]? = nil
    if avcLog != nil {
      avcLines = []
      if let flask = decisions.first(where: { $0.module == .flask }), flask.verdict != .allowed || !flask.wouldDeny.isEmpty,
        let server = s.host.server
      {
        let traced = explain ? flask : engine.decide(caller: who, op: op, target: question.target, module: .flask,
          objects: question.objects, explain: true)
        avcLines = traced.denials.map { AVCRecord(denial: $0, caller: who, objects: question.objects, server: server).line }
      }
    }
    let callerLabel = who.label
    let targetLabel = question.target?.label ?? "-"
    let effects = CanEffects(
      counters: decisions.map { metrics.counter(module: $0.module, family: op.family, verdict: $0.verdict) },
      avcLines: avcLines,
      logEntry: DecisionLog.Entry(caller: callerLabel, op: op.name, target: targetLabel,
        module: primary.module.rawValue, verdict: VerdictV1(primary.verdict).rawValue,
        sequence: s.host.server?.sequence ?? 0))
    let reply = CanReplyV1(caller: callerLabel, op: op.name, target: targetLabel,
      verdict: VerdictV1(primary.verdict), decisions: decisions.map(DecisionV1.init), sequence: s.host.server?.sequence,
      arguments: question.boundArguments)
    return (reply, effects)
  }

  /// One page of the decision log. A caller or op filter may be written as
  /// `can` takes it (`dom3`, an op's alias); the log holds labels and op names.
  func decisions(_ query: DecisionQueryV1, caller: Caller) throws(ServiceError) -> DecisionPageV1 {
    var q = query
    guard (1...DecisionQueryV1.maximumLimit).contains(q.limit) else {
      throw ServiceError(400, "request.malformed", "`limit` must be 1 to \(DecisionQueryV1.maximumLimit), not \(q.limit)")
    }
    try read { s throws(ServiceError) in
      _ = try callerDomain(caller, in: s)
      if let name = q.caller, let d = s.host.domain(named: name) { q.caller = d.label }
    }
    if let name = q.op, let op = catalog.op(named: name) { q.op = op.name }
    let entries: [DecisionLog.Entry]
    do {
      entries = try decisionLog.page(q)
    } catch {
      throw ServiceError(500, "state.read", "cannot read the decision log: \(error)")
    }
    let page = entries.map { e in
      DecisionLogEntryV1(id: e.id, time: e.time, caller: e.caller, op: e.op, target: e.target,
        module: ModuleV1(rawValue: e.module) ?? .flask, verdict: VerdictV1(rawValue: e.verdict) ?? .invalid,
        sequence: e.sequence)
    }
    return DecisionPageV1(decisions: page, next: page.count == q.limit ? page.last?.id : nil)
  }

  /// A question checked against the op's arguments, as `xsmq can` checks it; a 400 that lists them otherwise.
  func bind(_ who: HostDomain, _ op: Op, target: String?, arguments: [String], options: OpQuestion.Options,
    situations: [String], _ s: ServiceState) throws(ServiceError) -> OpQuestion
  {
    do {
      let pairs = try OpQuestion.namedArguments(arguments, for: op) + options.pairs(for: op)
      return try OpQuestion.bind(caller: who, op: op, target: target, arguments: pairs, flags: situations, on: s.host)
    } catch {
      if let unknown = error.unknownDomain {
        let hint = Suggestion.closest(to: unknown, in: s.host.domainNames).map { "; did you mean `\($0)`?" } ?? ""
        throw ServiceError(404, "domain.unknown", "no domain `\(unknown)` on this host\(hint)", errno: "-ESRCH")
      }
      throw ServiceError(400, "can.bad-argument", error.description)
    }
  }

  static let maximumBatch = 100_000

  /// The batch route's questions, each distinct one decided once.
  func canBatch(_ r: BatchRequestV1, caller: Caller) throws(ServiceError) -> BatchReplyV1 {
    // One answer per distinct question: the snapshot cannot change while it is read.
    struct Key: Hashable {
      var caller: String
      var op: String
      var target: String?
      var arguments: [String]?
      var situations: [String]?
      var options: OpQuestion.Options
    }
    var index: [Key: Int32] = [:]
    var distinct: [BatchRequestV1.Query] = []
    var order: [Int32] = []
    order.reserveCapacity(r.queries.count)
    for q in r.queries {
      let key = Key(caller: q.caller, op: q.op, target: q.target, arguments: q.arguments, situations: q.situations,
        options: OpQuestion.Options(q))
      if let known = index[key] {
        order.append(known)
        continue
      }
      index[key] = Int32(distinct.count)
      order.append(Int32(distinct.count))
      distinct.append(q)
    }
    return try canBatch(BatchQuestions(module: r.module, distinct: distinct, order: order), caller: caller)
  }

  /// Decides each distinct question once and answers every query in order.
  func canBatch(_ b: BatchQuestions, caller: Caller) throws(ServiceError) -> BatchReplyV1 {
    guard b.order.count <= Self.maximumBatch else {
      throw ServiceError(413, "batch.too-large", "at most \(Self.maximumBatch) queries per batch")
    }
    // Each op resolved once: its index, family and memo slot; the questions refer to them by index.
    var opIndex: [String: Int] = [:]
    var ops: [Op] = []
    var opOf: [Int] = []
    opOf.reserveCapacity(b.distinct.count)
    for q in b.distinct {
      if let o = opIndex[q.op] {
        opOf.append(o)
        continue
      }
      opIndex[q.op] = ops.count
      opOf.append(ops.count)
      ops.append(try resolveOp(q.op))
    }
    let families = ops.map(\.family)
    let slots = ops.map { opSlots[$0.name] }
    return try read { s throws(ServiceError) -> BatchReplyV1 in
      _ = try callerDomain(caller, in: s)
      let engine = DecisionEngine(host: s.host)
      let module = b.module.map(XSMModule.init) ?? s.host.module
      // Each caller named looked up once; questions refer to it by its place in `callers`.
      var callerIndex: [String: Int] = [:]
      var callers: [HostDomain] = []
      func lookup(_ name: String) throws(ServiceError) -> Int {
        if let known = callerIndex[name] { return known }
        callers.append(try domain(name, in: s))
        callerIndex[name] = callers.count - 1
        return callers.count - 1
      }
      var answers: [VerdictV1] = []
      answers.reserveCapacity(b.distinct.count)
      var answerOps: [Int] = []
      answerOps.reserveCapacity(b.distinct.count)
      // A question with no arguments, situations or options is the product route's question: its
      // verdict is read from (and kept in) the snapshot's verdict memo, one row per (caller, target).
      var rowIndex: [VerdictMemo.Row: Int] = [:]
      var rows: [(key: VerdictMemo.Row, verdicts: [UInt8], decided: Bool)] = []
      for k in b.distinct.indices {
        // Fields read in place: the plain question (most of a batch) never copies its query.
        let who = try lookup(b.distinct[k].caller)
        let o = opOf[k]
        answerOps.append(o)
        let plain =
          b.distinct[k].arguments?.isEmpty ?? true && b.distinct[k].situations?.isEmpty ?? true
          && b.distinct[k].namesNoOptions
        var memo: (row: Int, slot: Int)? = nil
        if plain, let slot = slots[o] {
          let key = VerdictMemo.Row(caller: callers[who].domid, target: b.distinct[k].target, module: module)
          let row =
            rowIndex[key]
            ?? {
              rows.append((key, s.memo.row(key) ?? VerdictMemo.emptyRow(count: opSlots.count), false))
              rowIndex[key] = rows.count - 1
              return rows.count - 1
            }()
          let code = rows[row].verdicts[slot]
          if code != VerdictMemo.unknown {
            answers.append(VerdictMemo.codes[Int(code)])
            continue
          }
          memo = (row, slot)
        }
        let q = b.distinct[k]
        let caller = callers[who]
        let question = try bind(caller, ops[o], target: q.target, arguments: q.arguments ?? [],
          options: OpQuestion.Options(q), situations: q.situations ?? [], s)
        let verdict = engine.verdict(caller: caller, op: ops[o], target: question.target, module: module,
          objects: question.objects)
        answers.append(VerdictV1(verdict))
        if let memo {
          rows[memo.row].verdicts[memo.slot] = VerdictMemo.code(verdict)
          rows[memo.row].decided = true
        }
      }
      for row in rows where row.decided { s.memo.keep(row.key, row.verdicts) }
      var asked = [Int](repeating: 0, count: answers.count)
      var verdicts: [VerdictV1] = []
      verdicts.reserveCapacity(b.order.count)
      for j in b.order {
        asked[Int(j)] += 1
        verdicts.append(answers[Int(j)])
      }
      // Decisions counted once per query, summed per (op, verdict) and then per (family, verdict).
      let codes = VerdictMemo.codes
      var byOp = [Int](repeating: 0, count: ops.count * codes.count)
      for (j, n) in asked.enumerated() where n > 0 {
        byOp[answerOps[j] * codes.count + codes.firstIndex(of: answers[j])!] += n
      }
      var tally: [DecisionMetrics.Key: Int] = [:]
      for (k, n) in byOp.enumerated() where n > 0 {
        tally[DecisionMetrics.Key(module: module, family: families[k / codes.count], verdict: Verdict(codes[k % codes.count])),
          default: 0] += n
      }
      for (key, n) in tally { metrics.count(module: key.module, family: key.family, verdict: key.verdict, by: n) }
      return BatchReplyV1(verdicts: verdicts, sequence: s.host.server?.sequence)
    }
  }

  /// The most questions one `/v1/can/product` request may ask (its reply is one byte each).
  static let maximumProduct = 1_000_000

  /// Every (caller, op, target) of the request's lists, one verdict character
  /// each in `ProductRequestV1.position`'s order. A verdict decided before on
  /// the same snapshot is taken from its memo, so a repeated product costs a
  /// lookup per (caller, target) and a byte per question.
  func canProduct(_ r: ProductRequestV1, caller: Caller) throws(ServiceError) -> ProductReplyV1 {
    for (field, count) in [("callers", r.callers.count), ("ops", r.ops.count), ("targets", r.targets?.count ?? 1)]
    where count == 0 {
      throw ServiceError(422, "product.empty",
        "`\(field)` is empty, so the product asks nothing" + (field == "targets" ? " (leave it out for ops without a target)" : ""))
    }
    guard let count = r.count, count <= Self.maximumProduct else {
      throw ServiceError(413, "product.too-large",
        "\(r.callers.count) callers × \(r.ops.count) ops × \(r.targets?.count ?? 1) targets is more than \(Self.maximumProduct) questions")
    }
    var ops: [Op] = []
    var slots: [Int] = []
    for name in r.ops {
      let op = try resolveOp(name)
      ops.append(op)
      slots.append(opSlots[op.name]!)
    }
    let targets: [String?] = r.targets ?? [nil]
    return try read { s throws(ServiceError) -> ProductReplyV1 in
      _ = try callerDomain(caller, in: s)
      let module = r.module.map(XSMModule.init) ?? s.host.module
      let engine = DecisionEngine(host: s.host)
      var whos: [HostDomain] = []
      for name in r.callers { whos.append(try domain(name, in: s)) }
      let letters = VerdictMemo.codes.map { UInt8(ascii: ProductReplyV1.letter($0).unicodeScalars.first!) }
      var out = [UInt8](repeating: 0, count: count)
      // Verdicts per (op, verdict code), for the metrics.
      var tally = [Int](repeating: 0, count: ops.count * VerdictMemo.codes.count)
      for (c, who) in whos.enumerated() {
        for (t, target) in targets.enumerated() {
          let key = VerdictMemo.Row(caller: who.domid, target: target, module: module)
          var row = s.memo.row(key) ?? VerdictMemo.emptyRow(count: opSlots.count)
          var decided = false
          for (o, op) in ops.enumerated() {
            var code = row[slots[o]]
            if code == VerdictMemo.unknown {
              let question = try bind(who, op, target: target, arguments: [], options: OpQuestion.Options(),
                situations: [], s)
              code = VerdictMemo.code(engine.verdict(caller: who, op: op, target: question.target, module: module,
                objects: question.objects))
              row[slots[o]] = code
              decided = true
            }
            out[r.position(caller: c, op: o, target: t)] = letters[Int(code)]
            tally[o * VerdictMemo.codes.count + Int(code)] += 1
          }
          if decided { s.memo.keep(key, row) }
        }
      }
      var byFamily: [DecisionMetrics.Key: Int] = [:]
      for (o, op) in ops.enumerated() {
        for (code, verdict) in VerdictMemo.codes.enumerated() where tally[o * VerdictMemo.codes.count + code] > 0 {
          byFamily[DecisionMetrics.Key(module: module, family: op.family, verdict: Verdict(verdict)), default: 0] +=
            tally[o * VerdictMemo.codes.count + code]
        }
      }
      for (key, n) in byFamily { metrics.count(module: key.module, family: key.family, verdict: key.verdict, by: n) }
      return ProductReplyV1(verdicts: String(decoding: out, as: UTF8.self), sequence: s.host.server?.sequence)
    }
  }

  /// Xen's avc lines explained on the host as it is now (policy, booleans,
  /// domains), as `xsmq explain` explains them on a local host. After a
  /// FLASK_LOAD the system's policy source is not the policy in force: no
  /// macro call is proposed and no neverallow checked then.
  func explain(_ r: ExplainRequestV1, caller: Caller) async throws(ServiceError) -> AVCReport {
    let lines = r.inputs.reduce(0) { $0 + $1.text.utf8.count { $0 == 0x0A } + 1 }
    guard lines <= ExplainRequestV1.maximumLines else {
      throw ServiceError(413, "explain.too-large", "at most \(ExplainRequestV1.maximumLines) lines per request, not \(lines)")
    }
    let s = state
    _ = try callerDomain(caller, in: s)
    var log = AVCLog()
    for input in r.inputs { log.read(input.text, input: input.name) }
    let replaced = s.host.policySource == Self.loadedPolicySource ? "a policy loaded at run time (FLASK_LOAD)" : nil
    return await AVCExplainer(host: s.host, replacedPolicy: replaced).explain(log)
  }

  func matrix(_ r: MatrixRequestV1, caller: Caller) throws(ServiceError) -> MatrixV1 {
    var ops: [Op] = []
    for name in r.ops ?? [] { ops.append(try resolveOp(name)) }
    for family in r.families ?? [] {
      let members = catalog.legacyOps.filter { $0.family == family }
      guard !members.isEmpty else { throw ServiceError(404, "op.unknown-family", "no op family `\(family)`") }
      ops += members
    }
    if ops.isEmpty { ops = catalog.legacyOps }
    let matrix = try read { s throws(ServiceError) in
      _ = try callerDomain(caller, in: s)
      return AccessMatrix(engine: DecisionEngine(host: s.host), ops: ops,
        modules: r.modules?.map(XSMModule.init) ?? [s.host.module])
    }
    return MatrixV1(matrix)
  }

  // MARK: Domains

  func record(_ d: HostDomain) -> DomainRecordV1 {
    DomainRecordV1(domid: d.domid, name: d.name, context: d.contextText, flags: d.flags.map(\.rawValue).sorted(),
      target: d.targetDomid, iommu: d.iommu.rawValue, kind: d.kind.rawValue, sid: d.sid)
  }

  func domainRecords() -> [DomainRecordV1] {
    state.host.domains.map(record)
  }

  /// Adding a domain is `domctl.createdomain`: the caller must pass that op's rule on the new domain.
  func addDomain(_ r: AddDomainRequestV1, caller: Caller) async throws(ServiceError) -> DomainRecordV1 {
    var flags = Set<DomainFlag>()
    for f in r.flags ?? [] {
      guard let flag = DomainFlag(rawValue: f) else {
        throw ServiceError(400, "domain.bad-flag", "unknown flag `\(f)`; flags are control, hardware, xenstore")
      }
      flags.insert(flag)
    }
    guard let iommu = IOMMUMode(rawValue: r.iommu ?? "intremap") else {
      throw ServiceError(400, "domain.bad-iommu", "iommu is intremap, nointremap or none")
    }
    guard let kind = DomainKind(rawValue: r.kind ?? "pv") else {
      throw ServiceError(400, "domain.bad-kind", "kind is pv, hvm or pvh")
    }
    guard (0...32751).contains(r.domid) else { throw ServiceError(400, "domain.bad-domid", "domids run from 0 to 32751") }
    if let problem = SystemFile.nameProblem(r.name, domid: r.domid) {
      throw ServiceError(422, "domain.bad-name", "\(problem.message) (\(problem.help))", errno: "-EINVAL")
    }
    return try await write { s throws(ServiceError) in
      let me = try callerDomain(caller, in: s)
      if s.host.domain(domid: r.domid) != nil {
        throw ServiceError(409, "domain.exists", "domid \(r.domid) is taken", errno: "-EEXIST")
      }
      if s.host.domains.contains(where: { $0.name == r.name }) {
        throw ServiceError(409, "domain.exists", "a domain is already named `\(r.name)`", errno: "-EEXIST")
      }
      let spec = DomainSpec(
        domid: r.domid, name: r.name, context: r.context, flags: flags, target: r.target, iommu: iommu, kind: kind)
      let new: HostDomain
      switch s.host.resolve(spec, among: s.host.domains) {
      case .success(let d): new = d
      case .failure(let e):
        let code = e.code.hasSuffix("-context") ? "context.invalid" : e.code
        throw ServiceError(e.code == DiagnosticID.system.unknownTarget.rawValue ? 404 : 422, code, e.message, errno: "-EINVAL")
      }
      let op = try resolveOp("domctl.createdomain")
      let trial = s.host.updated(domains: s.host.domains + [new])
      let decision = DecisionEngine(host: trial).decide(caller: me, op: op, target: new)
      guard decision.verdict == .allowed else {
        throw ServiceError(403, "guard.denied",
          "\(me.label) may not create this domain (domctl.createdomain: \(decision.trace.last?.text ?? "denied"))",
          errno: decision.error ?? "-EPERM")
      }
      s.host = trial
      s.changed()
      return record(new)
    }
  }

  /// Removing a domain is `domctl.destroydomain`.
  func removeDomain(domid: Int, caller: Caller) async throws(ServiceError) -> EmptyV1 {
    try await write { s throws(ServiceError) in
      let me = try callerDomain(caller, in: s)
      guard let target = s.host.domain(domid: domid) else {
        throw ServiceError(404, "domain.unknown", "no domain \(domid)", errno: "-ESRCH")
      }
      let decision = DecisionEngine(host: s.host).decide(caller: me, op: try resolveOp("domctl.destroydomain"), target: target)
      guard decision.verdict == .allowed else {
        let status = decision.verdict == .invalid ? 400 : 403
        throw ServiceError(status, decision.verdict == .invalid ? "domain.refused" : "guard.denied",
          "\(me.label) may not destroy \(target.label): \(decision.trace.last?.text ?? "denied")", errno: decision.error)
      }
      var domains = s.host.domains.filter { $0.domid != domid }
      for i in domains.indices where domains[i].targetDomid == domid { domains[i].targetDomid = nil }
      s.host = s.host.updated(domains: domains)
      s.changed()
      return EmptyV1()
    }
  }

  /// Relabelling by context: `FLASK_RELABEL_DOMAIN` with the context's SID.
  func relabel(domid: Int, _ r: RelabelRequestV1, caller: Caller) async throws(ServiceError) -> DomainRecordV1 {
    try await write { s throws(ServiceError) in
      let server = try flaskServer(s)
      let me = try callerDomain(caller, in: s)
      guard let target = s.host.domain(domid: domid) else {
        throw ServiceError(404, "domain.unknown", "no domain \(domid)", errno: "-ESRCH")
      }
      guard let context = server.policy.context(r.context), server.policy.isValid(context) else {
        throw ServiceError(422, "context.invalid", "`\(r.context)` is not a valid context of the policy", errno: "-EINVAL")
      }
      let sid = server.sid(for: context)
      try relabel(target, to: sid, context: context, by: me, isSelf: target.domid == me.domid, server: server, state: &s)
      return record(s.host.domain(domid: domid)!)
    }
  }

  // MARK: Metrics and persistence

  var gauges: ServiceGauges {
    let state = self.state
    let server = state.host.server
    let cache = server?.statistics ?? AVCStatistics()
    return ServiceGauges(sequence: server?.sequence ?? 0, cacheHits: cache.hits, cacheMisses: cache.misses,
      cacheEntries: server?.cacheEntries ?? 0, domains: state.host.domains.count, decisionsLogged: decisionLog.count,
      replyMemoEntries: state.replies.count)
  }

  /// Commits `scope` of `s` to the state file (nothing without one); 500 `state.write-failed` when it cannot.
  func save(_ s: ServiceState, _ scope: ServiceState.UnsavedChanges) async throws(ServiceError) {
    guard let store, scope != .none else { return }
    do {
      if scope == .sids, let server = s.host.server {
        try await store.saveSIDs(server.allContexts.map(server.policy.contextString))
      } else {
        try await store.save(savedState(s))
      }
    } catch {
      throw ServiceError(500, "state.write-failed", "the change was not saved, so it was not made: \(error)")
    }
  }

  /// The whole state (small: a policy, a few hundred rows) as the state file keeps it.
  func savedState(_ s: ServiceState) -> SavedState {
    let server = s.host.server
    return SavedState(
      policy: s.policyBinary, policySource: s.host.policySource, enforcing: server?.enforcing,
      booleans: server.map { Dictionary(uniqueKeysWithValues: zip($0.policy.booleanNames, $0.booleans)) } ?? [:],
      pending: server.map { srv in
        Dictionary(uniqueKeysWithValues: srv.pendingBooleans.map { (srv.policy.booleanNames[$0.key], $0.value) })
      } ?? [:],
      contexts: server.map { srv in srv.allContexts.map(srv.policy.contextString) } ?? [],
      domains: s.host.domains.map { d in
        DomainSpec(domid: d.domid, name: d.name, context: d.contextText, flags: d.flags,
          target: d.targetDomid.flatMap { t in s.host.domain(domid: t)?.name }, iommu: d.iommu, kind: d.kind)
      },
      labels: server?.runtimeLabels.entries ?? [], cacheThreshold: server?.cacheThreshold)
  }
}

func messages(_ diagnostics: [Diagnostic]) -> String {
  diagnostics.filter { $0.severity == .error }.prefix(3).map(\.message).joined(separator: "; ")
}

/// Verdicts of argument-less questions decided on one snapshot, kept as
/// Xen's AVC keeps access vectors until the policy or a label changes: a
/// snapshot is never changed, and every change publishes a new one with an
/// empty memo. A row holds one byte per op of the catalog for one
/// (caller, target as written, module). At most `maximumRows` rows are kept.
final class VerdictMemo: Sendable {
  struct Row: Hashable, Sendable {
    var caller: Int
    var target: String?
    var module: XSMModule
  }
  /// A verdict not decided yet.
  static let unknown: UInt8 = 0xFF
  /// The verdicts in code order (a code is an index into this).
  static let codes = VerdictV1.allCases
  static let maximumRows = 16_384
  private let rows = Mutex<[Row: [UInt8]]>([:])

  static func emptyRow(count: Int) -> [UInt8] { [UInt8](repeating: unknown, count: count) }
  static func code(_ verdict: Verdict) -> UInt8 { UInt8(codes.firstIndex(of: VerdictV1(verdict))!) }

  func row(_ key: Row) -> [UInt8]? { rows.withLock { $0[key] } }

  /// Keeps what `row` decided, beside what another request decided meanwhile.
  func keep(_ key: Row, _ row: [UInt8]) {
    rows.withLock { rows in
      guard var kept = rows[key] else {
        if rows.count < Self.maximumRows { rows[key] = row }
        return
      }
      for i in kept.indices where kept[i] == Self.unknown { kept[i] = row[i] }
      rows[key] = kept
    }
  }
}

/// The `/v1/can` replies one snapshot has given, by caller and request bytes,
/// so a question asked again is answered without decoding, deciding or
/// encoding it — the service's counterpart of Xen's access vector cache,
/// which keeps decisions until `avc_ss_reset` (xen/xsm/flask/avc.c) empties
/// it: on a policy load and a boolean commit (`security_load_policy`,
/// `security_set_bools` in xen/xsm/flask/ss/services.c) and when enforcing
/// is turned on (`flask_security_setenforce`, xen/xsm/flask/flask_op.c). The
/// memo is emptied by every change, since a reply also names labels and
/// domains. Bounded by ``Limits``: once full, new replies are not kept until
/// the next change publishes an empty memo.
final class ReplyMemo: Sendable {
  /// The caller and the body's bytes exactly as sent.
  struct Key: Hashable, Sendable {
    let caller: String
    let body: [UInt8]
    /// The caller's and body's hash (Swift's seeded hasher), worked out once when the key is made,
    /// outside any lock: the table hashes only this word.
    let digest: Int

    init(caller: String, body: [UInt8]) {
      self.caller = caller
      self.body = body
      var hasher = Hasher()
      hasher.combine(caller)
      body.withUnsafeBytes { hasher.combine(bytes: $0) }
      digest = hasher.finalize()
    }

    static func == (a: Key, b: Key) -> Bool { a.digest == b.digest && a.caller == b.caller && a.body == b.body }
    func hash(into hasher: inout Hasher) { hasher.combine(digest) }
  }
  /// A reply's bytes and what answering it recorded (a class: a hit takes a reference, not a copy).
  final class Reply: Sendable {
    let bytes: [UInt8]
    let effects: ServiceCore.CanEffects
    init(bytes: [UInt8], effects: ServiceCore.CanEffects) {
      self.bytes = bytes
      self.effects = effects
    }
  }
  /// What one snapshot's memo may hold.
  struct Limits: Sendable, Equatable {
    /// Replies kept; 0 keeps none (every question is decided afresh).
    var entries = 4096
    /// Request and reply bytes kept, in all.
    var bytes = 16 << 20
    /// A request longer than this is never kept.
    static let maximumBody = 4096
  }

  /// The replies, in shards picked by the key's digest: requests on different threads seldom want
  /// the same lock (one table under one lock was contended on every request at 8 connections).
  private final class Shard: Sendable {
    let replies = Mutex<[Key: Reply]>([:])
  }
  private let shards: [Shard] = (0..<8).map { _ in Shard() }
  /// Replies and bytes kept in all shards; a reply is kept only if both stay within the limits.
  private let entries = Atomic<Int>(0)
  private let bytes = Atomic<Int>(0)

  private func shard(_ key: Key) -> Shard {
    shards[Int((UInt(bitPattern: key.digest) >> 32) % UInt(shards.count))]
  }

  func reply(_ key: Key) -> Reply? { shard(key).replies.withLock { $0[key] } }

  /// Keeps `reply` unless the memo is full or the request is too long to keep.
  func keep(_ key: Key, _ reply: Reply, within limits: Limits) {
    guard key.body.count <= Limits.maximumBody else { return }
    func size(_ kept: Reply) -> Int { key.body.count + key.caller.utf8.count + kept.bytes.count }
    shard(key).replies.withLock { replies in
      // One kept already (decided before an avc log was set, or by a request that raced this one) is replaced.
      let replaced = replies[key].map(size) ?? 0
      let added = size(reply)
      let newEntries = replaced > 0 ? 0 : 1
      // Taken from the totals first, and given back when over: two shards keeping at once can
      // refuse a reply that would have fitted, never keep more than the limits.
      let total = entries.wrappingAdd(newEntries, ordering: .relaxed).newValue
      let held = bytes.wrappingAdd(added - replaced, ordering: .relaxed).newValue
      guard total <= limits.entries, held <= limits.bytes else {
        entries.wrappingSubtract(newEntries, ordering: .relaxed)
        bytes.wrappingSubtract(added - replaced, ordering: .relaxed)
        return
      }
      replies[key] = reply
    }
  }

  /// Replies kept now.
  var count: Int { entries.load(ordering: .relaxed) }
}
