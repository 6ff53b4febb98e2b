import Foundation
import XSMDiagnostics

// A system file (docs/system-format.md) decoded into a `SystemSpec`: the
// host as written, before any policy is loaded. Structure is checked here;
// whether contexts and booleans exist in the policy is checked by whoever
// loads the policy, using the spans kept here.

/// The XSM module Xen was booted with (`xsm=` on the command line).
public enum XSMModule: String, Sendable, Codable, CaseIterable { case dummy, silo, flask }

/// Capabilities a domain may hold (xen-xsm-facts §a.1).
public enum DomainFlag: String, Sendable, Codable, CaseIterable {
  /// `is_control_domain`: the dummy and silo modules' "privileged".
  case control
  /// `is_hardware_domain`: owns the hardware; never consulted by dummy.
  case hardware
  /// `is_xenstore_domain`: XSM_XS_PRIV holds for it.
  case xenstore
}

/// How the domain's IOMMU is set up; picks the resource permission a
/// device assignment checks: `use_iommu`, `use_iommu_nointremap` or `use_noiommu`.
public enum IOMMUMode: String, Sendable, Codable, CaseIterable { case intremap, nointremap, none }

/// How a domain is virtualised, which decides Xen's non-XSM refusals:
/// `is_hvm_domain` holds for HVM and PVH, `is_pv_domain` for PV, and the
/// physmap is translated (`paging_mode_translate`) for HVM and PVH.
public enum DomainKind: String, Sendable, Codable, CaseIterable {
  case pv, hvm, pvh

  /// `is_hvm_domain`: HVM and PVH guests.
  public var isHVM: Bool { self != .pv }
  /// `paging_mode_translate`: the guest sees its own physical address space.
  public var isTranslated: Bool { self != .pv }
}

/// One `[[domain]]` table.
public struct DomainSpec: Sendable, Codable, Hashable {
  public var domid: Int
  public var name: String
  /// The security context as written, or the default (see `SystemFile.defaultContext`).
  public var context: String
  public var flags: Set<DomainFlag>
  /// The domain this one is the device model for, as written (a name or `domN`).
  public var target: String?
  public var iommu: IOMMUMode
  /// PV, HVM or PVH (`kind`); PV when not written, as for dom0 on x86.
  public var kind: DomainKind
  /// Where each key's value is written ("domid", "name", "context", "flags",
  /// "target", "iommu", and "flags.control" etc. per flag); "" is the
  /// `[[domain]]` header. A key that was not written has no span (so a
  /// defaulted context has no "context" span).
  public var spans: [String: SourceSpan]

  public init(
    domid: Int, name: String, context: String, flags: Set<DomainFlag> = [], target: String? = nil,
    iommu: IOMMUMode = .intremap, kind: DomainKind = .pv, spans: [String: SourceSpan] = [:]
  ) {
    self.kind = kind
    self.domid = domid
    self.name = name
    self.context = context
    self.flags = flags
    self.target = target
    self.iommu = iommu
    self.spans = spans
  }

  public var isControl: Bool { flags.contains(.control) }
  public var isHardware: Bool { flags.contains(.hardware) }
  public var isXenstore: Bool { flags.contains(.xenstore) }
}

/// A decoded system file: the host, not yet tied to a loaded policy.
public struct SystemSpec: Sendable, Codable, Hashable {
  public var name: String
  public var module: XSMModule
  /// The policy path as written, relative to the system file's directory;
  /// nil or "embedded" means the project's built-in policy.
  public var policy: String?
  public var enforcing: Bool
  public var mls: Bool
  /// Boolean values to set after loading the policy (the others keep their defaults).
  public var booleans: [String: Bool]
  /// Where each boolean's *name* is written.
  public var booleanSpans: [String: SourceSpan]
  public var domains: [DomainSpec]
  /// Who may call xsmd over its Unix socket: a peer's uid and the domain
  /// (name or `domN`) it calls as, from the `[callers]` table.
  public var callers: [UInt32: String]
  /// The file as named when it was parsed.
  public var file: String
  /// Where each top-level value is written ("name", "module", "policy",
  /// "enforcing", "mls", "booleans", "domain"); "" is the start of the file.
  public var spans: [String: SourceSpan]

  public init(
    name: String, module: XSMModule, policy: String? = nil, enforcing: Bool = true, mls: Bool = false,
    booleans: [String: Bool] = [:], booleanSpans: [String: SourceSpan] = [:], domains: [DomainSpec],
    callers: [UInt32: String] = [:], file: String, spans: [String: SourceSpan] = [:]
  ) {
    self.callers = callers
    self.name = name
    self.module = module
    self.policy = policy
    self.enforcing = enforcing
    self.mls = mls
    self.booleans = booleans
    self.booleanSpans = booleanSpans
    self.domains = domains
    self.file = file
    self.spans = spans
  }

  /// True when `policy` names the project's built-in policy.
  public var usesEmbeddedPolicy: Bool { policy == nil || policy == SystemFile.embeddedPolicy }

  /// Where the policy is on disk (`policy` as written, relative to the
  /// system file's directory); nil for the built-in policy.
  public var policyPath: String? {
    guard let policy, !usesEmbeddedPolicy else { return nil }
    return SystemFile.path(policy, relativeTo: file)
  }

  /// The domain a reference names: a domain name first, then `domN` as a domid.
  public func domain(named reference: String) -> DomainSpec? {
    if let d = domains.first(where: { $0.name == reference }) { return d }
    if let n = SystemFile.domidOfDomN(reference) { return domains.first { $0.domid == n } }
    return nil
  }

  /// The domain `domain` is device model for, if it has a target.
  public func target(of domain: DomainSpec) -> DomainSpec? { domain.target.flatMap { self.domain(named: $0) } }
}

public enum SystemFile {
  public static let topLevelKeys = ["name", "module", "policy", "enforcing", "mls", "booleans", "callers", "domain"]
  public static let domainKeys = ["domid", "name", "context", "flags", "target", "iommu", "kind"]
  /// The last domid a domain may have (DOMID_FIRST_RESERVED - 1).
  public static let maxDomid = 0x7FEF
  /// The `policy` value that names the built-in policy.
  public static let embeddedPolicy = "embedded"

  /// A path as a file names it: absolute as written, else relative to the
  /// directory of `file` (system files and policy test files name paths so).
  public static func path(_ written: String, relativeTo file: String) -> String {
    let base = (file as NSString).deletingLastPathComponent
    return written.hasPrefix("/") || base.isEmpty ? written : (base as NSString).appendingPathComponent(written)
  }

  /// The context a domain gets without a `context` key (non-flask systems
  /// only). It mirrors what Xen gives an unlabelled domain: the dom0 initial
  /// SID for a control domain, the domDM initial SID for a stub device model
  /// (libxl's device_model_stubdomain_seclabel default), and the domU initial
  /// SID for everything else (libxl and init-xenstore-domain without a label).
  public static func defaultContext(flags: Set<DomainFlag>, hasTarget: Bool) -> String {
    if flags.contains(.control) { return "system_u:system_r:dom0_t" }
    if hasTarget { return "system_u:system_r:dm_dom_t" }
    return "system_u:system_r:domU_t"
  }

  /// N for a string `domN` (digits only), else nil.
  /// The longest domain name, in bytes of UTF-8.
  public static let maximumNameLength = 255

  /// Why `name` cannot name domain `domid`, with help; nil when it can. A name
  /// is not empty, has no white space or control characters (queries take it
  /// on the command line), is at most ``maximumNameLength`` bytes, and is not
  /// `domN` for another domid (queries read `domN` as domid N).
  public static func nameProblem(_ name: String, domid: Int?) -> (message: String, help: String)? {
    let help = "queries name domains on the command line; use letters, digits, `-`, `_` and `.`"
    if name.isEmpty { return ("a domain name cannot be empty", help) }
    if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
      return ("the domain name `\(name.debugDescription.dropFirst().dropLast())` contains white space or a control character", help)
    }
    if name.utf8.count > maximumNameLength {
      return ("the domain name is \(name.utf8.count) bytes long; at most \(maximumNameLength) are allowed", help)
    }
    if let n = domidOfDomN(name), let domid, n != domid {
      return ("the name `\(name)` reads as domain \(n), but this domain is domid \(domid)",
        "queries take `domN` as domid N; name it `dom\(domid)` or something not of the form `domN`")
    }
    return nil
  }

  public static func domidOfDomN(_ s: String) -> Int? {
    guard s.hasPrefix("dom") else { return nil }
    let digits = s.dropFirst(3)
    guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(digits)
  }

  /// Decodes system-file text; spans name `file`. The spec is nil when there is any error.
  public static func parse(text: String, file: String) -> (SystemSpec?, [Diagnostic]) {
    TOMLParser.decode(SystemDecoder.self, text: text, file: file)
  }

  /// Reads and decodes a system file.
  public static func load(path: String) -> (SystemSpec?, [Diagnostic]) {
    TOMLParser.load(SystemDecoder.self, path: path, what: "system file", id: .system.io)
  }

  /// The system file at `path`, or the embedded default host when there is none.
  public static func load(pathOrDefault path: String?) -> (SystemSpec?, [Diagnostic]) {
    path.map { load(path: $0) } ?? EmbeddedDefaults.system()
  }
}

// MARK: - Decoding

private struct SystemDecoder: TOMLDocumentDecoder {
  let file: String
  let lines: SourceLines
  var diagnostics: [Diagnostic] = []

  init(file: String, lines: SourceLines) {
    self.file = file
    self.lines = lines
  }

  private func sourceLine(_ span: SourceSpan) -> String? { lines.line(of: span) }

  private mutating func report(
    _ id: DiagnosticID, _ message: String, _ at: SourceSpan, severity: Severity = .error, label: String? = nil,
    help: String? = nil, notes: [(String, SourceSpan)] = []
  ) {
    diagnostics.append(
      Diagnostic(
        id, severity, message, span: at, label: label, help: help,
        notes: notes.map { DiagnosticNote($0.0, span: $0.1, sourceLine: sourceLine($0.1)) },
        sourceLine: sourceLine(at)))
  }

  private mutating func wrongType(_ key: String, _ value: TOMLValue, expected: String, help: String? = nil) {
    var hint = help
    if hint == nil, let s = value.stringValue {
      if s == "true" || s == "false" || Int(s) != nil { hint = "write `\(s)` without quotes" }
    }
    report(
      .system.wrongType, "`\(key)` must be \(expected), not \(value.typeName)", value.span,
      label: value.typeName, help: hint)
  }

  private mutating func unknownKey(_ entry: TOMLTable.Entry, in candidates: [String], context: String, other: [String]) {
    var help: String
    if other.contains(entry.key) {
      help =
        context == "a `[[domain]]` table"
        ? "`\(entry.key)` is a top-level key: write it before the first `[[domain]]` header"
        : "`\(entry.key)` is a key of a `[[domain]]` table"
    } else if let s = Suggestion.closest(to: entry.key, in: candidates) {
      help = "did you mean `\(s)`?"
    } else {
      help = "the keys of \(context) are " + candidates.map { "`\($0)`" }.joined(separator: ", ")
    }
    report(.system.unknownKey, "unknown key `\(entry.key)` in \(context)", entry.keySpan, help: help)
  }

  // MARK: Top level

  mutating func decode(_ root: TOMLTable) -> SystemSpec {
    var spans: [String: SourceSpan] = ["": root.span]
    for entry in root.entries {
      if SystemFile.topLevelKeys.contains(entry.key) {
        spans[entry.key] = entry.value.span
      } else {
        unknownKey(entry, in: SystemFile.topLevelKeys, context: "the system file", other: SystemFile.domainKeys)
      }
    }

    var name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    if let v = root["name"] {
      if let s = v.stringValue {
        if s.isEmpty { report(.system.badName, "the system name is empty", v.span) } else { name = s }
      } else {
        wrongType("name", v, expected: "a string")
      }
    }

    var module: XSMModule?
    if let v = root["module"] {
      if let s = v.stringValue {
        module = XSMModule(rawValue: s)
        if module == nil {
          let all = XSMModule.allCases.map(\.rawValue)
          let hint = Suggestion.closest(to: s, in: all).map { "did you mean `\($0)`?" }
          report(
            .system.unknownModule, "unknown XSM module `\(s)`", v.span,
            help: hint ?? "the modules are `dummy`, `silo` and `flask`")
        }
      } else {
        wrongType("module", v, expected: "a string (`\"dummy\"`, `\"silo\"` or `\"flask\"`)")
      }
    } else {
      report(
        .system.missingKey, "the system does not say which XSM module is in force", root.span,
        help: "add `module = \"flask\"` (or \"dummy\", \"silo\") at the top of the file")
    }

    var policy: String?
    if let v = root["policy"] {
      if let s = v.stringValue {
        if s.isEmpty {
          report(
            .system.badPolicy, "the policy path is empty", v.span,
            help: "leave `policy` out, or write \"embedded\", for the project's built-in policy")
        }
        policy = s
      } else {
        wrongType("policy", v, expected: "a string (a path, or \"embedded\")")
      }
    }

    let enforcing = bool(root, "enforcing") ?? true
    let mls = bool(root, "mls") ?? false

    var booleans: [String: Bool] = [:]
    var booleanSpans: [String: SourceSpan] = [:]
    if let v = root["booleans"] {
      if let t = v.tableValue {
        for entry in t.entries {
          if let b = entry.value.boolValue {
            booleans[entry.key] = b
            booleanSpans[entry.key] = entry.keySpan
          } else {
            wrongType("booleans.\(entry.key)", entry.value, expected: "a boolean (`true` or `false`)")
          }
        }
      } else {
        wrongType("booleans", v, expected: "a table", help: "write `[booleans]` and then one `name = true|false` per line")
      }
    }

    var domains: [DomainSpec] = []
    var incomplete = false
    if let v = root["domain"] {
      if let elements = v.arrayValue {
        for element in elements {
          guard let t = element.tableValue else {
            wrongType("domain", element, expected: "a table", help: "write each domain as a `[[domain]]` table")
            continue
          }
          if let d = decodeDomain(t, module: module) { domains.append(d) } else { incomplete = true }
        }
        if elements.isEmpty {
          report(.system.noDomains, "the system has no domains", v.span, help: "add a `[[domain]]` table per domain")
        }
      } else {
        wrongType(
          "domain", v, expected: "an array of tables",
          help: v.tableValue != nil ? "write `[[domain]]`, with two brackets, for each domain" : nil)
      }
    } else {
      report(
        .system.noDomains, "the system has no domains", root.span,
        help: "add a `[[domain]]` table per domain, with at least `domid` and `name`")
    }

    // A device model's target is HVM unless the file says otherwise: Xen sets a target only on HVM or PVH guests.
    for d in domains {
      guard let target = d.target,
        // As `SystemSpec.domain(named:)` resolves a reference: a name first, then `domN`.
        let i = domains.firstIndex(where: { $0.name == target })
          ?? SystemFile.domidOfDomN(target).flatMap({ n in domains.firstIndex { $0.domid == n } }),
        domains[i].spans["kind"] == nil
      else { continue }
      domains[i].kind = .hvm
    }
    checkDomains(domains, complete: !incomplete)
    let callers = decodeCallers(root, domains: domains)

    return SystemSpec(
      name: name, module: module ?? .dummy, policy: policy, enforcing: enforcing, mls: mls, booleans: booleans,
      booleanSpans: booleanSpans, domains: domains, callers: callers, file: file, spans: spans)
  }

  /// `[callers]`: `UID = "domain"` lines, each domain a name or `domN` of the file.
  private mutating func decodeCallers(_ root: TOMLTable, domains: [DomainSpec]) -> [UInt32: String] {
    guard let v = root["callers"] else { return [:] }
    guard let t = v.tableValue else {
      wrongType("callers", v, expected: "a table", help: "write `[callers]` and then one `UID = \"domain\"` per line")
      return [:]
    }
    var callers: [UInt32: String] = [:]
    for entry in t.entries {
      guard let uid = UInt32(entry.key) else {
        report(.system.badCaller, "`\(entry.key)` is not a uid", entry.keySpan,
          help: "each key of `[callers]` is a numeric uid, e.g. `0 = \"dom0\"`")
        continue
      }
      guard let domain = entry.value.stringValue else {
        wrongType("callers.\(entry.key)", entry.value, expected: "a string (a domain name or `domN`)")
        continue
      }
      let named = domains.contains { $0.name == domain || SystemFile.domidOfDomN(domain) == $0.domid }
      guard named else {
        let hint = Suggestion.closest(to: domain, in: domains.map(\.name)).map { "did you mean `\($0)`?" }
        report(.system.badCaller, "uid \(uid) calls as `\(domain)`, which is no domain of the system", entry.value.span,
          help: hint ?? "name a domain of the file, by its name or as `domN`")
        continue
      }
      callers[uid] = domain
    }
    return callers
  }

  private mutating func bool(_ table: TOMLTable, _ key: String) -> Bool? {
    guard let v = table[key] else { return nil }
    guard let b = v.boolValue else {
      wrongType(key, v, expected: "a boolean (`true` or `false`)")
      return nil
    }
    return b
  }

  // MARK: Domains

  private mutating func decodeDomain(_ t: TOMLTable, module: XSMModule?) -> DomainSpec? {
    var spans: [String: SourceSpan] = ["": t.span]
    for entry in t.entries {
      if SystemFile.domainKeys.contains(entry.key) {
        spans[entry.key] = entry.value.span
      } else {
        unknownKey(entry, in: SystemFile.domainKeys, context: "a `[[domain]]` table", other: SystemFile.topLevelKeys)
      }
    }
    var ok = true

    var domid: Int?
    if let v = t["domid"] {
      if let n = v.intValue {
        if n < 0 || n > SystemFile.maxDomid {
          report(
            .system.badDomid, "domid \(n) is out of range", v.span,
            help: "domids go from 0 to \(SystemFile.maxDomid); 32752 (0x7ff0, DOMID_FIRST_RESERVED) and above are reserved")
          ok = false
        } else {
          domid = n
        }
      } else {
        wrongType("domid", v, expected: "an integer")
        ok = false
      }
    } else {
      report(.system.missingKey, "the domain has no `domid`", t.span, help: "add `domid = N` (0 to \(SystemFile.maxDomid))")
      ok = false
    }

    var name: String?
    if let v = t["name"] {
      if let s = v.stringValue {
        if let problem = SystemFile.nameProblem(s, domid: domid) {
          report(.system.badName, problem.message, v.span, help: problem.help)
          ok = false
        } else {
          name = s
        }
      } else {
        wrongType("name", v, expected: "a string")
        ok = false
      }
    } else {
      report(
        .system.missingKey, "the domain has no `name`", t.span,
        help: domid.map { "add `name = \"dom\($0)\"` or a name of your choice" } ?? "add `name = \"...\"`")
      ok = false
    }

    var flags: Set<DomainFlag> = []
    if let v = t["flags"] {
      if let elements = v.arrayValue {
        for element in elements {
          guard let s = element.stringValue else {
            wrongType("flags", element, expected: "an array of strings")
            continue
          }
          guard let flag = DomainFlag(rawValue: s) else {
            let aliases = ["privileged": "control", "priv": "control", "dom0": "control", "hwdom": "hardware",
              "hw": "hardware", "xs": "xenstore", "xs_domain": "xenstore"]
            let guess = aliases[s.lowercased()] ?? Suggestion.closest(to: s, in: DomainFlag.allCases.map(\.rawValue))
            report(
              .system.unknownFlag, "unknown domain flag `\(s)`", element.span,
              help: guess.map { "did you mean `\($0)`?" } ?? "the flags are `control`, `hardware` and `xenstore`")
            continue
          }
          if flags.contains(flag) {
            report(
              .system.duplicateFlag, "flag `\(s)` is given twice", element.span, severity: .warning,
              notes: spans["flags.\(s)"].map { [("first given here", $0)] } ?? [])
          } else {
            flags.insert(flag)
            spans["flags.\(s)"] = element.span
          }
        }
      } else {
        wrongType("flags", v, expected: "an array of strings", help: "write `flags = [\"control\", \"hardware\"]`")
      }
    }

    var target: String?
    if let v = t["target"] {
      if let s = v.stringValue {
        target = s
      } else {
        wrongType(
          "target", v, expected: "a string",
          help: v.intValue.map { "write `target = \"dom\($0)\"` or the domain's name" })
      }
    }

    var context: String?
    if let v = t["context"] {
      if let s = v.stringValue {
        let fields = s.split(separator: ":", omittingEmptySubsequences: false)
        if fields.count < 3 || fields.prefix(3).contains(where: \.isEmpty) || s.contains(where: \.isWhitespace) {
          report(
            .system.badContext, "`\(s)` is not a security context", v.span,
            help: "a context is `user:role:type` (and `:level` with MLS), e.g. `system_u:system_r:domU_t`")
        } else {
          context = s
        }
      } else {
        wrongType("context", v, expected: "a string (`user:role:type`)")
      }
    } else if module == .flask {
      let who = name.map { "domain `\($0)`" } ?? "the domain"
      report(
        .system.missingKey, "\(who) has no `context`; the flask module needs one", t.span,
        help: "add `context = \"\(SystemFile.defaultContext(flags: flags, hasTarget: target != nil))\"` or another label of the policy")
      ok = false
    }

    var iommu = IOMMUMode.intremap
    if let v = t["iommu"] {
      if let s = v.stringValue {
        if let m = IOMMUMode(rawValue: s) {
          iommu = m
        } else {
          let hint = Suggestion.closest(to: s, in: IOMMUMode.allCases.map(\.rawValue)).map { "did you mean `\($0)`?" }
          report(
            .system.unknownIommu, "unknown IOMMU mode `\(s)`", v.span,
            help: hint ?? "the modes are `intremap` (default), `nointremap` and `none`")
        }
      } else {
        wrongType("iommu", v, expected: "a string (`\"intremap\"`, `\"nointremap\"` or `\"none\"`)")
      }
    }

    var kind = DomainKind.pv
    if let v = t["kind"] {
      if let s = v.stringValue {
        if let k = DomainKind(rawValue: s) {
          kind = k
        } else {
          let hint = Suggestion.closest(to: s, in: DomainKind.allCases.map(\.rawValue)).map { "did you mean `\($0)`?" }
          report(
            .system.unknownKind, "unknown domain kind `\(s)`", v.span,
            help: hint ?? "the kinds are `pv` (default), `hvm` and `pvh`")
        }
      } else {
        wrongType("kind", v, expected: "a string (`\"pv\"`, `\"hvm\"` or `\"pvh\"`)")
      }
    }

    guard ok, let domid, let name else { return nil }
    return DomainSpec(
      domid: domid, name: name,
      context: context ?? SystemFile.defaultContext(flags: flags, hasTarget: target != nil), flags: flags,
      target: target, iommu: iommu, kind: kind, spans: spans)
  }

  /// Rules between domains: unique domids and names, one hardware domain, targets that exist.
  /// Targets are resolved only when every domain decoded (`complete`), so a
  /// domain with a broken `name` does not also make its device model's target unknown.
  private mutating func checkDomains(_ domains: [DomainSpec], complete: Bool) {
    var byDomid: [Int: DomainSpec] = [:]
    var byName: [String: DomainSpec] = [:]
    var hardware: DomainSpec?
    for d in domains {
      if let first = byDomid[d.domid] {
        report(
          .system.duplicateDomid, "domid \(d.domid) is given to `\(first.name)` and `\(d.name)`", d.spans["domid"]!,
          notes: [("first given here", first.spans["domid"]!)])
      } else {
        byDomid[d.domid] = d
      }
      if let first = byName[d.name] {
        report(
          .system.duplicateName, "two domains are named `\(d.name)` (domids \(first.domid) and \(d.domid))",
          d.spans["name"]!, notes: [("first used here", first.spans["name"]!)])
      } else {
        byName[d.name] = d
      }
      if d.isHardware {
        if let first = hardware {
          report(
            .system.duplicateHardware, "`\(d.name)` and `\(first.name)` are both flagged `hardware`",
            d.spans["flags.hardware"] ?? d.spans[""]!,
            help: "Xen has one hardware domain; keep `hardware` on one of them",
            notes: [("first flagged here", first.spans["flags.hardware"] ?? first.spans[""]!)])
        } else {
          hardware = d
        }
      }
    }
    for d in domains {
      guard let target = d.target, let at = d.spans["target"] else { continue }
      let resolved = byName[target] ?? SystemFile.domidOfDomN(target).flatMap { byDomid[$0] }
      guard let resolved else {
        guard complete else { continue }
        let candidates = domains.map(\.name) + domains.map { "dom\($0.domid)" }
        let hint = Suggestion.closest(to: target, in: candidates).map { "did you mean `\($0)`?" }
        report(
          .system.unknownTarget, "`target` names no domain of this system: `\(target)`", at,
          help: hint ?? "name a domain by its `name` or as `domN`")
        continue
      }
      if resolved.domid == d.domid && resolved.name == d.name {
        report(
          .system.selfTarget, "`\(d.name)` cannot be its own device model", at,
          help: "Xen refuses XEN_DOMCTL_set_target with the device model as its own target")
      } else if !resolved.kind.isHVM {
        // xen/common/domctl.c do_domctl, XEN_DOMCTL_set_target: !is_hvm_domain(e) -> -EOPNOTSUPP.
        report(
          .system.targetNotHvm,
          "`\(d.name)` serves `\(resolved.name)`, a \(resolved.kind.rawValue.uppercased()) domain; Xen sets a device-model target only on HVM or PVH guests",
          at, severity: .warning,
          help: "give `\(resolved.name)` `kind = \"hvm\"`, or drop this `target` (XEN_DOMCTL_set_target returns -EOPNOTSUPP)")
      }
    }
  }
}
