import Foundation
import XSMCatalog
import XSMDiagnostics

/// A domain of a loaded host, with the SIDs Xen keeps for it.
public struct HostDomain: Sendable, Hashable, Codable {
  public var domid: Int
  public var name: String
  public var flags: Set<DomainFlag>
  /// The domain this one is the device model of (`set_target`).
  public var targetDomid: Int?
  public var iommu: IOMMUMode
  /// PV, HVM or PVH: what Xen's `is_hvm_domain` and `paging_mode_translate` read.
  public var kind: DomainKind = .pv
  /// A domid no domain of the host has, named in a question (Xen's lookups fail on it).
  public var missing = false
  public var contextText: String
  /// The domain's SID, self SID and (for a device model) target SID; nil without a policy.
  public var sid: UInt32?
  public var selfSID: UInt32?
  public var targetSID: UInt32?

  public var isControl: Bool { flags.contains(.control) }
  public var isXenstore: Bool { flags.contains(.xenstore) }
  public var isHardware: Bool { flags.contains(.hardware) }

  /// A domid no domain of the host has, as a question may name it.
  public static func nonexistent(domid: Int) -> HostDomain {
    HostDomain(domid: domid, name: "dom\(domid)", flags: [], targetDomid: nil, iommu: .none, missing: true,
      contextText: "")
  }
  /// `domN (name)` for people.
  public var label: String { name == "dom\(domid)" ? name : "dom\(domid) (\(name))" }

  private enum CodingKeys: String, CodingKey {
    case domid, name, flags, targetDomid, iommu, kind, missing, contextText, sid, selfSID, targetSID
  }

  /// As synthesized, but with the flags in one order (a set's order changes from run to run).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(domid, forKey: .domid)
    try c.encode(name, forKey: .name)
    try c.encode(flags.map(\.rawValue).sorted(), forKey: .flags)
    try c.encodeIfPresent(targetDomid, forKey: .targetDomid)
    try c.encode(iommu, forKey: .iommu)
    try c.encode(kind, forKey: .kind)
    try c.encode(missing, forKey: .missing)
    try c.encode(contextText, forKey: .contextText)
    try c.encodeIfPresent(sid, forKey: .sid)
    try c.encodeIfPresent(selfSID, forKey: .selfSID)
    try c.encodeIfPresent(targetSID, forKey: .targetSID)
  }

  /// Takes the SIDs the security server computed for this domain's label.
  public mutating func apply(_ labels: DomainLabels) {
    sid = labels.sid
    selfSID = labels.selfSID
    targetSID = labels.targetSID
  }
}

/// A loaded system: its domains, the module in force, the op catalog and,
/// when a policy is available, the Flask security server. Flask state is
/// loaded whatever the module, so every module can be asked.
public final class XenHost: Sendable {
  public let spec: SystemSpec
  public let module: XSMModule
  public let catalog: OpCatalog
  public let server: SecurityServer?
  public let domains: [HostDomain]
  /// The policy's digest (SHA-256 of the binary, hex) and size.
  public let policyDigest: String?
  public let policyBytes: Int
  /// The binary policy the host was loaded with (or last given by `updated`).
  public let policyBinary: [UInt8]
  /// Where the policy came from, as written in the system or `embedded`.
  public let policySource: String
  /// The source rules behind the policy's binary rules, for `--why` citations.
  public let ruleSources: RuleSources
  private let byDomid: [Int: Int]

  init(spec: SystemSpec, catalog: OpCatalog, server: SecurityServer?, domains: [HostDomain], digest: String?,
    binary: [UInt8], source: String, ruleSources: RuleSources = .binaryWithoutMap)
  {
    self.ruleSources = ruleSources
    self.policyBinary = binary
    self.spec = spec
    self.module = spec.module
    self.catalog = catalog
    self.server = server
    self.domains = domains
    self.policyDigest = digest
    self.policyBytes = binary.count
    self.policySource = source
    self.byDomid = Dictionary(domains.enumerated().map { ($1.domid, $0) }, uniquingKeysWith: { a, _ in a })
  }

  /// A copy with other domains, another policy binary or another security
  /// server; without `server` it shares this host's.
  public func updated(domains: [HostDomain]? = nil, policyBinary: [UInt8]? = nil, policySource: String? = nil,
    server: SecurityServer? = nil) -> XenHost
  {
    XenHost(spec: spec, catalog: catalog, server: server ?? self.server, domains: domains ?? self.domains,
      digest: policyBinary.map(sha256Hex) ?? policyDigest, binary: policyBinary ?? self.policyBinary,
      source: policySource ?? self.policySource, ruleSources: policyBinary == nil ? ruleSources : .binaryWithoutMap)
  }

  /// Labels a new domain as Xen would: checks its context against the
  /// policy and computes its SID, self SID and (for a device model) target
  /// SID. `others` are the domains it may serve.
  public func resolve(_ d: DomainSpec, among others: [HostDomain]) -> Result<HostDomain, DomainError> {
    var domain = HostDomain(domid: d.domid, name: d.name, flags: d.flags, targetDomid: nil, iommu: d.iommu,
      kind: d.kind, contextText: d.context)
    if let t = d.target {
      guard let target = others.first(where: { $0.name == t || "dom\($0.domid)" == t }) else {
        return .failure(DomainError(code: DiagnosticID.system.unknownTarget.rawValue, message: "no domain `\(t)` to serve"))
      }
      domain.targetDomid = target.domid
    }
    guard let server else { return .success(domain) }
    let policy = server.policy
    guard let context = policy.context(d.context) else {
      return .failure(DomainError(code: DiagnosticID.system.unknownContext.rawValue,
        message: "`\(d.context)` is not a context of the policy: " + Self.explainUnknown(d.context, policy)))
    }
    guard policy.isValid(context) else {
      return .failure(DomainError(code: DiagnosticID.system.invalidContext.rawValue, message: "the policy rejects the context `\(d.context)`"))
    }
    let targetContext = domain.targetDomid.flatMap { t in others.first { $0.domid == t }?.sid }
      .flatMap(server.context(of:))
    domain.apply(server.labels(context: context, targetContext: targetContext))
    return .success(domain)
  }

  /// The domain with this id.
  public func domain(domid: Int) -> HostDomain? { byDomid[domid].map { domains[$0] } }

  /// A domain named `domN`, `N` or by its name.
  public func domain(named text: String) -> HostDomain? {
    if let d = domains.first(where: { $0.name == text }) { return d }
    var digits = Substring(text)
    if digits.hasPrefix("dom") { digits = digits.dropFirst(3) }
    if let id = Int(digits) { return domain(domid: id) }
    return nil
  }

  /// Every name a domain answers to, for did-you-mean.
  public var domainNames: [String] { domains.flatMap { ["dom\($0.domid)", $0.name] } }

  // MARK: Loading

  /// Loads the policy a system names, checks every domain context against
  /// it and computes the SIDs Xen would hold. Diagnostics point into the
  /// system file. `given` is a binary policy to use instead of the one the
  /// system names; `policies` reads or builds the one it names.
  public static func load(_ spec: SystemSpec, catalog: OpCatalog, policyBinary given: [UInt8]? = nil,
    policies: PolicyProvider = .binaryFiles) async -> (XenHost?, [Diagnostic])
  {
    var diagnostics: [Diagnostic] = []
    let (binary, source, policyDiagnostics): ([UInt8]?, String, [Diagnostic])
    if let given {
      (binary, source, policyDiagnostics) = (given, spec.policy ?? "loaded", [])
    } else {
      (binary, source, policyDiagnostics) = await policyBinary(for: spec, from: policies)
    }
    diagnostics += policyDiagnostics
    guard let binary else { return (nil, diagnostics) }
    let policy: FlaskPolicy
    do {
      policy = try await FlaskPolicy.reading(binary)
    } catch {
      diagnostics.append(Diagnostic(.system.badPolicy, .error,
        "the policy `\(source)` cannot be loaded: \(error)", span: spec.spans["policy"]))
      return (nil, diagnostics)
    }
    let server = SecurityServer(policy: policy, enforcing: spec.enforcing)
    // Booleans that differ from the policy's defaults are staged and committed
    // once, so the sequence number does not depend on how many booleans the
    // file spells out at their default values.
    var changedBooleans = false
    for (name, value) in spec.booleans.sorted(by: { $0.key < $1.key }) {
      guard let index = policy.booleanNames.firstIndex(of: name) else {
        let hint = Suggestion.closest(to: name, in: policy.booleanNames).map { "did you mean `\($0)`?" }
        diagnostics.append(Diagnostic(.system.unknownBoolean, .error,
          "the policy has no boolean `\(name)`", span: spec.booleanSpans[name], help: hint))
        continue
      }
      guard policy.booleanDefaults[index] != value else { continue }
      server.setBoolean(index, to: value, commit: false)
      changedBooleans = true
    }
    if changedBooleans { server.commitBooleans() }

    var domains: [HostDomain] = []
    var contexts: [Int: SecurityContext] = [:]
    for d in spec.domains {
      if let context = policy.context(d.context) {
        if policy.isValid(context) {
          contexts[d.domid] = context
        } else {
          diagnostics.append(Diagnostic(.system.invalidContext, .error,
            "the policy rejects the context `\(d.context)` of `\(d.name)`", span: d.spans["context"],
            help: "the user must be allowed the role and the role the type (see the policy's `users` and `role` statements)"))
        }
      } else {
        diagnostics.append(Diagnostic(.system.unknownContext, .error,
          "`\(d.context)` is not a context of the policy: " + explainUnknown(d.context, policy),
          span: d.spans["context"], help: closestType(d.context, policy).map { "did you mean `\($0)`?" }))
      }
      domains.append(HostDomain(domid: d.domid, name: d.name, flags: d.flags, targetDomid: nil, iommu: d.iommu,
        kind: d.kind, contextText: d.context))
    }
    // Targets by name or domN.
    for (i, d) in spec.domains.enumerated() {
      guard let target = d.target else { continue }
      let found = spec.domains.first { $0.name == target || "dom\($0.domid)" == target }
      domains[i].targetDomid = found?.domid
    }
    guard !diagnostics.contains(where: { $0.severity == .error }) else { return (nil, diagnostics) }

    // Every domain's own SIDs first, then device models' target SIDs, so SID
    // numbers follow the order of the system file.
    for i in domains.indices {
      guard let context = contexts[domains[i].domid] else { continue }
      domains[i].apply(server.labels(context: context))
    }
    for i in domains.indices {
      guard let context = contexts[domains[i].domid], let targetDomid = domains[i].targetDomid,
        let targetContext = contexts[targetDomid]
      else { continue }
      domains[i].apply(server.labels(context: context, targetContext: targetContext))
    }
    var ruleSources = RuleSources.binaryWithoutMap
    if given == nil, !spec.usesEmbeddedPolicy, let path = spec.policyPath {
      ruleSources = await policies.ruleSources(at: path, mls: spec.mls, binary: binary)
    }
    let host = XenHost(spec: spec, catalog: catalog, server: server, domains: domains, digest: sha256Hex(binary),
      binary: binary, source: source, ruleSources: ruleSources)
    return (host, diagnostics + host.targetRelationWarnings())
  }

  /// The binary policy of a system: embedded, a binary file, or a tree or
  /// policy.conf that `policies` builds.
  static func policyBinary(for spec: SystemSpec, from policies: PolicyProvider) async -> ([UInt8]?, String, [Diagnostic]) {
    guard let written = spec.policy, let path = spec.policyPath else {
      return (EmbeddedDefaults.policyBinary, SystemFile.embeddedPolicy, [])
    }
    guard FileManager.default.fileExists(atPath: path) else {
      return (nil, written, [Diagnostic(.system.policyNotFound, .error,
        "the policy `\(written)` does not exist (looked for `\(path)`)", span: spec.spans["policy"])])
    }
    let (built, buildDiagnostics) = await policies.binary(at: path, mls: spec.mls)
    guard let binary = built else {
      var diagnostics = buildDiagnostics
      diagnostics.append(Diagnostic(.system.badPolicy, .error,
        "the policy `\(written)` does not build", span: spec.spans["policy"]))
      return (nil, written, diagnostics)
    }
    return (binary, written, [])
  }

  /// Why `text` is not a context of `policy`: the first of user, role, type or range it does not know.
  public static func explainUnknown(_ text: String, _ policy: FlaskPolicy) -> String {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 3 else { return "a context is `user:role:type`" }
    if policy.userValue(parts[0]) == nil { return "no user `\(parts[0])`" }
    if policy.roleValue(parts[1]) == nil { return "no role `\(parts[1])`" }
    if policy.typeValue(parts[2]) == nil { return "no type `\(parts[2])`" }
    return "its MLS range is not valid"
  }

  private static func closestType(_ text: String, _ policy: FlaskPolicy) -> String? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count >= 3, policy.typeValue(parts[2]) == nil else { return nil }
    return Suggestion.closest(to: parts[2], in: policy.typeNames)
  }
}

/// Why a domain cannot be labelled on a host.
public struct DomainError: Error, Sendable, Equatable {
  public var code: String
  public var message: String
}
