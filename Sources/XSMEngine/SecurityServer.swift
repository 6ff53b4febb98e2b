import Synchronization

/// Counters of the access vector cache, as `FLASK_AVC_CACHESTATS` reports them.
public struct AVCStatistics: Sendable, Codable, Hashable {
  public var lookups = 0
  public var hits = 0
  public var misses = 0
  public var allocations = 0
  public var reclaims = 0
  public var frees = 0
  public init() {}
}

/// Flask's security server as Xen runs it: the loaded policy, the SID
/// table, enforcing mode, boolean values (committed and pending) and the
/// access vector cache. Every change that can alter a decision (policy load,
/// boolean commit, switch to enforcing) bumps `sequence` and empties the
/// cache, so no cached answer outlives the state it was computed from.
/// Safe to share between threads: all state sits behind one lock, and a
/// query sees one consistent state.
public final class SecurityServer: Sendable {
  /// Xen's AVC keeps at most this many entries before reclaiming (`avc_cache_threshold`).
  public static let defaultCacheThreshold = 512

  struct AVCKey: Hashable {
    var source: UInt32
    var target: UInt32
    var securityClass: Int
  }

  struct State {
    var policy: FlaskPolicy
    var sequence: UInt64 = 1
    var enforcing: Bool
    var booleans: [Bool]
    var pending: [Int: Bool] = [:]
    /// SID `n` is `contexts[n - 1]`; the first SIDs are the initial SIDs in order.
    var contexts: [SecurityContext] = []
    var sidByContext: [SecurityContext: UInt32] = [:]
    var cache: [AVCKey: AccessDecision] = [:]
    var statistics = AVCStatistics()
    var cacheThreshold = SecurityServer.defaultCacheThreshold
    var runtimeLabels = RuntimeLabels()
  }

  let state: Mutex<State>

  /// Starts a server with `policy` loaded; initial SIDs take SIDs 1…n.
  public init(policy: FlaskPolicy, enforcing: Bool = true) {
    var s = State(policy: policy, enforcing: enforcing, booleans: policy.booleanDefaults)
    for (_, context) in policy.initialSIDs {
      s.contexts.append(context)
      if s.sidByContext[context] == nil { s.sidByContext[context] = UInt32(s.contexts.count) }
    }
    state = Mutex(s)
  }

  private init(state: State) { self.state = Mutex(state) }

  /// An independent server with this one's state (policy, SIDs, booleans,
  /// enforcing, labels, cache): a change made to the copy is not seen here.
  /// xsmd changes a copy and publishes it only once the change is saved.
  public func copy() -> SecurityServer { SecurityServer(state: state.withLock { $0 }) }

  // MARK: Reading state

  public var policy: FlaskPolicy { state.withLock { $0.policy } }
  public var sequence: UInt64 { state.withLock { $0.sequence } }
  public var enforcing: Bool { state.withLock { $0.enforcing } }
  public var booleans: [Bool] { state.withLock { $0.booleans } }
  public var pendingBooleans: [Int: Bool] { state.withLock { $0.pending } }
  public var statistics: AVCStatistics { state.withLock { $0.statistics } }
  public var cacheEntries: Int { state.withLock { $0.cache.count } }
  public var cacheThreshold: Int { state.withLock { $0.cacheThreshold } }

  // MARK: SIDs

  /// The SID of a context, allocating one on first use (`security_context_to_sid`).
  public func sid(for context: SecurityContext) -> UInt32 {
    state.withLock { s in
      if let sid = s.sidByContext[context] { return sid }
      s.contexts.append(context)
      let sid = UInt32(s.contexts.count)
      s.sidByContext[context] = sid
      return sid
    }
  }

  /// The context of a SID; nil for a SID never handed out.
  public func context(of sid: UInt32) -> SecurityContext? {
    state.withLock { s in
      sid >= 1 && Int(sid) <= s.contexts.count ? s.contexts[Int(sid) - 1] : nil
    }
  }

  /// The SID of the initial SID `name` (`xen`, `domxen`, `security`, ...).
  public func initialSID(named name: String) -> UInt32? {
    state.withLock { s in
      guard let index = s.policy.initialSIDs.firstIndex(where: { $0.name == name }) else { return nil }
      return UInt32(index + 1)
    }
  }

  // MARK: Decisions

  /// `security_compute_av` through the cache. Unknown SIDs are treated as
  /// `unlabeled`, as Xen does.
  public func computeAV(source: UInt32, target: UInt32, classValue: Int) -> AccessDecision {
    state.withLock { s in
      s.statistics.lookups += 1
      let key = AVCKey(source: source, target: target, securityClass: classValue)
      if let hit = s.cache[key] {
        s.statistics.hits += 1
        return hit
      }
      s.statistics.misses += 1
      let decision = s.policy.computeAV(
        source: Self.context(source, in: s), target: Self.context(target, in: s), classValue: classValue,
        booleans: s.booleans)
      if s.cache.count >= s.cacheThreshold {
        // Xen reclaims a batch of the oldest entries; dropping the whole
        // table keeps answers identical and the bound honest.
        s.statistics.reclaims += s.cache.count
        s.cache.removeAll(keepingCapacity: true)
      }
      s.cache[key] = decision
      s.statistics.allocations += 1
      return decision
    }
  }

  /// `security_compute_sid`: the SID of the label a transition, member or change rule gives.
  public func computeSID(source: UInt32, target: UInt32, classValue: Int, kind: TransitionKind) -> UInt32 {
    let context = state.withLock { s in
      s.policy.computeSID(
        source: Self.context(source, in: s), target: Self.context(target, in: s), classValue: classValue, kind: kind,
        booleans: s.booleans)
    }
    return sid(for: context)
  }

  /// A domain's self SID, as Xen sets it at creation and relabel:
  /// `compute_sid(sid, sid, domain, TRANSITION)` (the object of its checks on itself).
  func selfSID(of sid: UInt32) -> UInt32 {
    computeSID(source: sid, target: sid, classValue: domainClass, kind: .transition)
  }

  /// A device model's target SID (`set_target`): `compute_sid(target, dm,
  /// domain, TRANSITION)` — the target first, so its own label is the
  /// default when no rule exists.
  func targetSID(deviceModel: UInt32, target: UInt32) -> UInt32 {
    computeSID(source: target, target: deviceModel, classValue: domainClass, kind: .transition)
  }

  /// The SIDs Xen keeps for a domain labelled `context` (at creation, on
  /// `FLASK_RELABEL_DOMAIN`): its SID, its self SID and, when it is the
  /// device model of a domain labelled `targetContext`, its target SID. The
  /// one labeller behind host loading, adding a domain and relabelling.
  public func labels(context: SecurityContext, targetContext: SecurityContext? = nil) -> DomainLabels {
    let own = sid(for: context)
    let onItself = selfSID(of: own)
    let onTarget = targetContext.map { self.targetSID(deviceModel: own, target: self.sid(for: $0)) }
    return DomainLabels(sid: own, selfSID: onItself, targetSID: onTarget)
  }

  /// Xen's domain class (`domain`, number 3 in Xen's class list).
  private var domainClass: Int { policy.classValue("domain") ?? 3 }

  private static func context(_ sid: UInt32, in s: State) -> SecurityContext {
    if sid >= 1 && Int(sid) <= s.contexts.count { return s.contexts[Int(sid) - 1] }
    let unlabeled = s.policy.initialSIDs.first { $0.name == "unlabeled" }?.context
    return unlabeled ?? s.contexts[0]
  }

  // MARK: Changes

  /// `FLASK_SETENFORCE`. Switching to enforcing flushes the cache. Returns false when nothing changed.
  @discardableResult
  public func setEnforcing(_ enforcing: Bool) -> Bool {
    state.withLock { s in
      guard s.enforcing != enforcing else { return false }
      s.enforcing = enforcing
      if enforcing { Self.flush(&s) }
      return true
    }
  }

  /// `FLASK_SETBOOL`: with `commit`, applies at once; otherwise records a pending value.
  public func setBoolean(_ index: Int, to value: Bool, commit: Bool) {
    state.withLock { s in
      guard s.booleans.indices.contains(index) else { return }
      if commit {
        s.booleans[index] = value
        s.pending[index] = nil
        Self.flush(&s)
      } else {
        s.pending[index] = value
      }
    }
  }

  /// `FLASK_COMMITBOOLS`: applies every pending value.
  public func commitBooleans() {
    state.withLock { s in
      for (index, value) in s.pending { s.booleans[index] = value }
      s.pending.removeAll()
      Self.flush(&s)
    }
  }

  /// `FLASK_SETAVC_THRESHOLD`. 0 is a threshold too, as in Xen
  /// (flask_security_setavc_threshold): each new entry reclaims the rest.
  public func setCacheThreshold(_ threshold: Int) {
    state.withLock { $0.cacheThreshold = max(0, threshold) }
  }

  /// `FLASK_LOAD` on a running server: boolean values carry over by name,
  /// pending values are dropped, every SID's context is converted to the new
  /// policy by names (a context whose user, role or type is gone, or that
  /// the new policy rejects, falls back to `unlabeled`), the sequence number
  /// moves on and the cache empties. The swap is atomic.
  public func load(_ policy: FlaskPolicy) {
    state.withLock { s in
      let old = s.policy
      var booleans = policy.booleanDefaults
      for (i, name) in policy.booleanNames.enumerated() {
        if let j = old.booleanNames.firstIndex(of: name) { booleans[i] = s.booleans[j] }
      }
      let unlabeled = policy.initialSIDs.first { $0.name == "unlabeled" }?.context
      var contexts: [SecurityContext] = []
      for (index, context) in s.contexts.enumerated() {
        if index < policy.initialSIDs.count {
          contexts.append(policy.initialSIDs[index].context)
          continue
        }
        let text = old.contextString(context)
        if let converted = policy.context(text), policy.isValid(converted) {
          contexts.append(converted)
        } else {
          contexts.append(unlabeled ?? policy.initialSIDs[0].context)
        }
      }
      s.policy = policy
      s.booleans = booleans
      s.pending.removeAll()
      s.contexts = contexts
      s.runtimeLabels = RuntimeLabels()
      s.sidByContext = [:]
      for (i, c) in contexts.enumerated() where s.sidByContext[c] == nil { s.sidByContext[c] = UInt32(i + 1) }
      Self.flush(&s)
    }
  }

  // MARK: Runtime device labels (FLASK_ADD_OCONTEXT, FLASK_DEL_OCONTEXT, FLASK_DEVICETREE_LABEL)

  /// Every context the SID table holds, SID 1 first (for persistence).
  public var allContexts: [SecurityContext] { state.withLock { $0.contexts } }

  /// Device labels added at run time; a policy load drops them, as Xen does.
  public var runtimeLabels: RuntimeLabels { state.withLock { $0.runtimeLabels } }

  /// Adds (`sid` non-nil) or removes a runtime device label with Xen's rules.
  public func changeLabel(_ kind: RuntimeLabels.Kind, low: UInt64, high: UInt64, path: String? = nil, sid: UInt32?)
    -> RuntimeLabels.Outcome
  {
    state.withLock { s in
      let outcome = s.runtimeLabels.change(kind, low: low, high: high, path: path, sid: sid)
      if outcome == .done { Self.flush(&s) }
      return outcome
    }
  }

  /// The runtime label of a device, before the policy's ocontexts.
  public func runtimeLabel(_ kind: RuntimeLabels.Kind, key: UInt64, path: String? = nil) -> UInt32? {
    state.withLock { $0.runtimeLabels.lookup(kind, key: key, path: path) }
  }

  private static func flush(_ s: inout State) {
    s.sequence += 1
    s.statistics.frees += s.cache.count
    s.cache.removeAll(keepingCapacity: true)
  }
}

/// The SIDs of one domain: its own, the one it meets when it acts on
/// itself, and (for a device model) the one it meets on its target.
public struct DomainLabels: Sendable, Hashable {
  public var sid: UInt32
  public var selfSID: UInt32
  /// Nil unless the domain is a device model with a target.
  public var targetSID: UInt32?
}

/// Device labels added while running, keyed as Xen keys them: IRQ number,
/// I/O port or memory range, PCI SBDF, device-tree path.
public struct RuntimeLabels: Sendable, Codable, Hashable {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case pirq, ioport, iomem, pcidevice, devicetree
  }
  public enum Outcome: Sendable, Equatable {
    case done
    /// Re-adding an identical entry (Xen returns 0 and changes nothing).
    case unchanged
    /// An overlapping range or the same key with another SID (`-EEXIST`).
    case exists
    /// Deleting something that is not there exactly (`-ENOENT`).
    case notFound
  }
  public struct Entry: Sendable, Codable, Hashable {
    public var kind: Kind
    public var low: UInt64
    public var high: UInt64
    public var path: String?
    public var sid: UInt32
    public init(kind: Kind, low: UInt64, high: UInt64, path: String?, sid: UInt32) {
      self.kind = kind
      self.low = low
      self.high = high
      self.path = path
      self.sid = sid
    }
  }
  public private(set) var entries: [Entry] = []

  public init() {}

  mutating func change(_ kind: Kind, low: UInt64, high: UInt64, path: String?, sid: UInt32?) -> Outcome {
    let same = entries.firstIndex { $0.kind == kind && $0.low == low && $0.high == high && $0.path == path }
    guard let sid else {
      guard let i = same else { return .notFound }
      entries.remove(at: i)
      return .done
    }
    if let i = same { return entries[i].sid == sid ? .unchanged : .exists }
    let overlaps = entries.contains { e in
      e.kind == kind && (kind == .devicetree ? e.path == path : e.low <= high && low <= e.high)
    }
    if overlaps { return .exists }
    entries.append(Entry(kind: kind, low: low, high: high, path: path, sid: sid))
    return .done
  }

  func lookup(_ kind: Kind, key: UInt64, path: String?) -> UInt32? {
    entries.first { e in
      e.kind == kind && (kind == .devicetree ? e.path == path : e.low <= key && key <= e.high)
    }?.sid
  }
}
