import ArgumentParser
import Foundation
import XSMProtocol
import XSMEngine
import XSMCommandLine

// `xsmq flask <command>`: every flask_op command (xen-xsm-facts §d), sent
// to xsmd as the calling domain (--as, default dom0, or the domain of the
// token in $XSMQ_TOKEN). xsmd applies Xen's
// guard for the caller, so a guest that may not load a policy gets
// "denied" and exit status 1, as Xen gives it -EACCES.

/// Options every flask command shares: the server, the caller and the output.
struct FlaskOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("xsmd's URL (default: $XSMQ_SERVER, else `server` in the config file).", valueName: "url"))
  var server: String?

  @Option(
    name: .customLong("as"),
    help: ArgumentHelp(
      "The calling domain (domN or name) whose permissions Xen checks (default: the token's domain with $XSMQ_TOKEN, else dom0).",
      valueName: "domain"))
  var callingDomain: String?

  @Flag(name: .long, help: "Print xsmd's reply as JSON on stdout.")
  var json = false

  /// The client, or a usage error when no server is named.
  func client() throws -> ServiceClient {
    let env = ProcessInfo.processInfo.environment["XSMQ_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
    guard let url = server ?? env ?? (try? ClientDefaults.current.get())?.server else {
      throw usageError(
        "flask_op commands change state and need xsmd: give --server URL or set XSMQ_SERVER (start one with `xsmd`)")
    }
    // With a token the caller is the token's domain; xsmd refuses a Xen-Caller naming another.
    let caller = try callingDomain ?? (ServiceClient.token(ProcessInfo.processInfo.environment) == nil ? "dom0" : nil)
    return try ServiceClient(server: url, caller: caller)
  }

  /// Prints `reply` as JSON with --json, else `human` (nothing when empty)
  /// in flask-utils' and xl's format, with the host line on standard error
  /// so that a script reading `Enforcing` or `NAME: 1` reads only that.
  func emit(_ reply: some Encodable, _ human: @autoclosure () -> String) async {
    if json {
      Console.current.say(reply is EmptyV1 ? "{}" : encodeJSON(reply))
    } else {
      let text = human()
      if !text.isEmpty { Console.current.say(text) }
      if let client = try? client() { Console.current.complain(await client.hostLabel().line) }
    }
  }
}

/// Aligned `name  value` lines.
private func table(_ rows: [(String, String)]) -> String {
  let width = (rows.map(\.0.count).max() ?? 0) + 2
  return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
}

/// A number in decimal or, with 0x, hex.
func parseNumber(_ text: String) -> UInt64? {
  let lower = text.lowercased()
  return lower.hasPrefix("0x") ? UInt64(lower.dropFirst(2), radix: 16) : UInt64(lower)
}

/// A SID given as a number, or a security context turned into one with
/// FLASK_CONTEXT_TO_SID (which Xen checks as security:check_context).
func resolveSID(_ text: String, role: String, _ client: ServiceClient) async throws -> UInt32 {
  if let n = parseNumber(text) {
    guard n <= UInt64(UInt32.max) else { throw usageError("\(role) `\(text)` is not a SID (a 32-bit number or a context)") }
    return UInt32(n)
  }
  guard text.split(separator: ":").count >= 3 else {
    throw usageError("\(role) `\(text)` is neither a SID nor a context (user:role:type)")
  }
  let reply: SIDReplyV1 = try await client.send(.flaskContextToSID, ContextRequestV1(context: text))
  return reply.sid
}

func parseBool(_ text: String, what: String) throws -> Bool {
  switch text.lowercased() {
  // flask-set-bool's words (enabled/disabled, y/n) and flask-setenforce's (Enforcing/Permissive) too.
  case "1", "on", "true", "yes", "y", "enabled", "enforcing": return true
  case "0", "off", "false", "no", "n", "disabled", "permissive": return false
  default: throw usageError("\(what) must be 1 or 0 (on/off, enabled/disabled, Enforcing/Permissive), not `\(text)`")
  }
}

/// The ocontext kinds of FLASK_ADD_OCONTEXT, by name and by Xen's number.
private func parseKind(_ text: String) throws -> String {
  let kinds = ["pirq", "ioport", "iomem", "pcidevice"]
  if let n = Int(text), (1...4).contains(n) { return kinds[n - 1] }
  let lower = text.lowercased()
  if kinds.contains(lower) { return lower }
  if lower == "pci" { return "pcidevice" }
  throw usageError("unknown ocontext kind `\(text)` (pirq, ioport, iomem or pcidevice)")
}

/// LOW or HIGH of an ocontext: a number (0x for hex), or for pcidevice SEG:BUS:DEV.FN.
private func parseBound(_ text: String, kind: String) throws -> UInt64 {
  if let n = parseNumber(text) { return n }
  if kind == "pcidevice", let sbdf = OpQuestion.parseSBDF(text) { return UInt64(sbdf) }
  throw usageError("`\(text)` is not a number\(kind == "pcidevice" ? " or a PCI device (SEG:BUS:DEV.FN)" : "")")
}

extension XSMQ {
  struct Flask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send a flask_op command to xsmd as a domain: load, getenforce, setbool, access, ...",
      discussion: """
        Each command is FLASK_* of Xen's xsm_op hypercall, sent to xsmd (--server URL or XSMQ_SERVER) as \
        the calling domain (--as, default dom0). xsmd applies Xen's check for it (security:load_policy, \
        setenforce, setbool, compute_av, ...): a caller without the permission is denied with -EACCES \
        and xsmq exits 1. SIDs may be given as numbers or as contexts (converted with context-to-sid). \
        Exit status: 0 done, 1 denied by the guard (or, for access with PERMS, a permission not \
        granted), 2 usage or server errors.
        """,
      subcommands: [
        Load.self, GetEnforce.self, SetEnforce.self, ContextToSID.self, SIDToContext.self, Access.self,
        Create.self, Relabel.self, Member.self, PolicyVers.self, GetBool.self, SetBool.self, CommitBools.self,
        MLS.self, GetAVCThreshold.self, SetAVCThreshold.self, AVCHashStats.self, AVCCacheStats.self,
        AddOcontext.self, DelOcontext.self, GetPeerSID.self, RelabelDomain.self, DeviceTreeLabel.self,
        LabelPCI.self, LabelRange<IRQLabel>.self, LabelRange<IOMemLabel>.self, LabelRange<IOPortLabel>.self,
      ])
  }
}

extension XSMQ.Flask {
  struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "FLASK_LOAD: replace the policy with a binary policy file (security:load_policy).",
      aliases: ["loadpolicy"])
    @Argument(help: "The binary policy (xsmc build -o FILE).") var file: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let client = try options.client()
      guard let data = FileManager.default.contents(atPath: file) else { throw usageError("cannot read `\(file)`") }
      let reply: EmptyV1 = try await client.upload(.flaskLoad, data)
      await options.emit(reply, "loaded `\(file)` (\(data.count) bytes)")
    }
  }

  struct GetEnforce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "getenforce", abstract: "FLASK_GETENFORCE: print Enforcing or Permissive.")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: EnforceReplyV1 = try await options.client().get(.flaskGetEnforce)
      await options.emit(reply, reply.enforcing ? "Enforcing" : "Permissive")
    }
  }

  struct SetEnforce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "setenforce",
      abstract: "FLASK_SETENFORCE: 1 enforcing, 0 permissive (security:setenforce, checked only on a change).")
    @Argument(help: "1 or Enforcing, 0 or Permissive (any case).") var mode: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let enforcing = try parseBool(mode, what: "the mode")
      let reply: EnforceReplyV1 = try await options.client().send(
        .flaskSetEnforce, SetEnforceRequestV1(enforcing: enforcing))
      await options.emit(reply, reply.enforcing ? "Enforcing" : "Permissive")
    }
  }

  struct ContextToSID: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "context-to-sid", abstract: "FLASK_CONTEXT_TO_SID: the SID of a context (security:check_context).")
    @Argument(help: "A security context, e.g. system_u:system_r:domU_t.") var context: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: SIDReplyV1 = try await options.client().send(
        .flaskContextToSID, ContextRequestV1(context: context))
      await options.emit(reply, "\(reply.sid)")
    }
  }

  struct SIDToContext: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "sid-to-context", abstract: "FLASK_SID_TO_CONTEXT: the context of a SID (security:check_context).")
    @Argument(help: "A SID.") var sid: UInt32
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: ContextReplyV1 = try await options.client().send(
        .flaskSIDToContext, SIDRequestV1(sid: sid))
      await options.emit(reply, reply.context)
    }
  }

  struct Access: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "FLASK_ACCESS: the permissions SSID has on TSID in CLASS (security:compute_av).",
      discussion: """
        Without PERMS, prints the allowed, auditallow and auditdeny vectors and the allowed permissions \
        by name. With PERMS (names, or a bit mask such as 0x4), prints whether each is granted and exits 1 \
        when one is not.
        """)
    @Argument(help: "The source SID or context.") var ssid: String
    @Argument(help: "The target SID or context.") var tsid: String
    @Argument(help: "The class, by name (domain, event, ...) or number.") var tclass: String
    @Argument(help: "Permissions to ask about, by name or as a bit mask.") var perms: [String] = []
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let client = try options.client()
      let source = try await resolveSID(ssid, role: "SSID", client)
      let target = try await resolveSID(tsid, role: "TSID", client)
      var mask: UInt32?
      var names: [String] = []
      for perm in perms {
        if let n = parseNumber(perm), n <= UInt64(UInt32.max) {
          mask = (mask ?? 0) | UInt32(n)
        } else {
          names.append(perm)
        }
      }
      let reply: AccessReplyV1 = try await client.send(
        .flaskAccess,
        AccessRequestV1(ssid: source, tsid: target, tclass: ClassRefV1(tclass), requested: names.isEmpty ? mask : nil))
      let hex = { (v: UInt32) in String(format: "0x%08x", v) }
      var granted = true
      var rows: [(String, String)] = []
      if perms.isEmpty {
        rows = [
          ("allowed", hex(reply.allowed) + (reply.allowedNames.isEmpty ? "" : "  " + reply.allowedNames.joined(separator: " "))),
          ("auditallow", hex(reply.auditAllow)), ("auditdeny", hex(reply.auditDeny)), ("seqno", "\(reply.sequence)"),
        ]
      } else {
        if let mask {
          let ok = reply.allowed & mask == mask
          granted = granted && ok
          rows.append((hex(mask), ok ? "allowed" : "denied (allowed \(hex(reply.allowed & mask)))"))
        }
        let allowedNames = Set(reply.allowedNames)
        for name in names {
          let ok = allowedNames.contains(name)
          granted = granted && ok
          rows.append((name, ok ? "allowed" : "denied"))
        }
      }
      await options.emit(reply, table(rows))
      if !granted { throw ExitCode(1) }
    }
  }

  struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "FLASK_CREATE: the SID type_transition gives (security:compute_create).")
    @OptionGroup var compute: ComputeArguments
    func run() async throws { try await compute.run(.flaskCreate) }
  }

  struct Relabel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "FLASK_RELABEL: the SID type_change gives (security:compute_relabel).")
    @OptionGroup var compute: ComputeArguments
    func run() async throws { try await compute.run(.flaskRelabel) }
  }

  struct Member: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "FLASK_MEMBER: the SID type_member gives (security:compute_member).")
    @OptionGroup var compute: ComputeArguments
    func run() async throws { try await compute.run(.flaskMember) }
  }

  struct ComputeArguments: ParsableArguments {
    @Argument(help: "The source SID or context.") var ssid: String
    @Argument(help: "The target SID or context.") var tsid: String
    @Argument(help: "The class, by name or number.") var tclass: String
    @OptionGroup var options: FlaskOptions

    func run(_ route: RouteV1) async throws {
      let client = try options.client()
      let source = try await resolveSID(ssid, role: "SSID", client)
      let target = try await resolveSID(tsid, role: "TSID", client)
      let reply: SIDReplyV1 = try await client.send(
        route, ComputeRequestV1(ssid: source, tsid: target, tclass: ClassRefV1(tclass)))
      await options.emit(reply, "\(reply.sid)")
    }
  }

  struct PolicyVers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "policyvers", abstract: "FLASK_POLICYVERS: the policy version the hypervisor speaks.")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: PolicyVersionReplyV1 = try await options.client().get(.flaskPolicyVersion)
      await options.emit(reply, "\(reply.version)")
    }
  }

  struct GetBool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "getbool", abstract: "FLASK_GETBOOL: a boolean's value and pending value (unchecked in Xen).",
      discussion: "Prints `NAME: 1`, or `NAME: 1 (pending 0)` while a new value waits for commitbools, as flask-get-bool does.",
      aliases: ["get-bool"])
    @Argument(help: "The boolean, by name or id.") var boolean: String?
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Every boolean, in id order (flask-get-bool -a).")
    var all = false
    @OptionGroup var options: FlaskOptions

    func validate() throws {
      guard all != (boolean != nil) else { throw ValidationError("give a boolean's name or id, or -a for all of them") }
    }

    func run() async throws {
      let client = try options.client()
      guard all else {
        let ref = boolean.flatMap(Int.init).map { BooleanRefV1(id: $0) } ?? BooleanRefV1(name: boolean)
        let reply: BooleanReplyV1 = try await client.send(.flaskGetBool, ref)
        return await options.emit(reply, render(reply))
      }
      // As flask-get-bool -a walks ids until ENOENT: the identity says how many there are.
      let identity: IdentityV1 = try await client.get(.xsmIdentity)
      var replies: [BooleanReplyV1] = []
      for id in 0..<identity.booleans.count {
        replies.append(try await client.send(.flaskGetBool, BooleanRefV1(id: id)))
      }
      await options.emit(replies, replies.map(render).joined(separator: "\n"))
    }
  }

  struct SetBool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "setbool",
      abstract: "FLASK_SETBOOL: set a boolean, committed unless --no-commit (security:setbool).",
      aliases: ["set-bool"])
    @Argument(help: "The boolean, by name or id.") var boolean: String
    @Argument(help: "1 or 0 (on/off, enabled/disabled, y/n, true/false).") var value: String
    @Flag(name: .long, help: "Leave the new value pending until commitbools.") var noCommit = false
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let newValue = try parseBool(value, what: "the value")
      let id = Int(boolean)
      let reply: BooleanReplyV1 = try await options.client().send(
        .flaskSetBool,
        SetBooleanRequestV1(id: id, name: id == nil ? boolean : nil, value: newValue, commit: !noCommit))
      await options.emit(reply, render(reply))
    }
  }

  /// `name: 1`, with the pending value when it differs: flask-get-bool's format
  /// (tools/flask/utils/get-bool.c, main and all_bools).
  static func render(_ b: BooleanReplyV1) -> String {
    "\(b.name): \(b.enforcing ? 1 : 0)" + (b.pending == b.enforcing ? "" : " (pending \(b.pending ? 1 : 0))")
  }

  struct CommitBools: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "commitbools", abstract: "FLASK_COMMITBOOLS: put pending boolean values in force (security:setbool).")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: EmptyV1 = try await options.client().send(.flaskCommitBools, EmptyV1())
      await options.emit(reply, "booleans committed")
    }
  }

  struct MLS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "mls", abstract: "FLASK_MLS: whether the policy is MLS.")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: MLSReplyV1 = try await options.client().get(.flaskMLS)
      await options.emit(reply, reply.mls ? "MLS enabled" : "MLS disabled")
    }
  }

  struct GetAVCThreshold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "get-avc-threshold", abstract: "FLASK_GETAVC_THRESHOLD: the AVC cache threshold.")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: ThresholdReplyV1 = try await options.client().get(.flaskGetAVCThreshold)
      await options.emit(reply, "\(reply.threshold)")
    }
  }

  struct SetAVCThreshold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "set-avc-threshold",
      abstract: "FLASK_SETAVC_THRESHOLD: set the AVC cache threshold (security:setsecparam, only on a change).")
    @Argument(help: "The new threshold.") var threshold: Int
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: ThresholdReplyV1 = try await options.client().send(
        .flaskSetAVCThreshold, ThresholdRequestV1(threshold: threshold))
      await options.emit(reply, "\(reply.threshold)")
    }
  }

  struct AVCHashStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "avc-hashstats", abstract: "FLASK_AVC_HASHSTATS: entries and chain lengths of the AVC.")
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let r: HashStatsReplyV1 = try await options.client().get(.flaskAVCHashStats)
      await options.emit(r, table([
        ("entries", "\(r.entries)"), ("buckets used", "\(r.bucketsUsed)/\(r.bucketsTotal)"),
        ("longest chain", "\(r.maxChainLength)"),
      ]))
    }
  }

  struct AVCCacheStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "avc-cachestats", abstract: "FLASK_AVC_CACHESTATS: AVC lookups, hits and misses of a CPU.")
    @Option(name: .long, help: "The CPU (default: xsmd's choice, CPU 0).") var cpu: Int?
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let query = cpu.map { [URLQueryItem(name: "cpu", value: "\($0)")] } ?? []
      let r: CacheStatsReplyV1 = try await options.client().get(.flaskAVCCacheStats, query: query)
      await options.emit(r, table([
        ("cpu", "\(r.cpu)"), ("lookups", "\(r.lookups)"), ("hits", "\(r.hits)"), ("misses", "\(r.misses)"),
        ("allocations", "\(r.allocations)"), ("reclaims", "\(r.reclaims)"), ("frees", "\(r.frees)"),
      ]))
    }
  }

  struct AddOcontext: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add-ocontext",
      abstract: "FLASK_ADD_OCONTEXT: label a pirq, ioport, iomem or pcidevice range (security:add_ocontext).")
    @Argument(help: "pirq, ioport, iomem or pcidevice.") var kind: String
    @Argument(help: "The label: a SID or a context.") var sid: String
    @Argument(help: "The first number (0x for hex; SEG:BUS:DEV.FN for pcidevice).") var low: String
    @Argument(help: "The last number (default: LOW).") var high: String?
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let kind = try parseKind(self.kind)
      let (low, high) = (try parseBound(self.low, kind: kind), try high.map { try parseBound($0, kind: kind) })
      let client = try options.client()
      let label = try await resolveSID(sid, role: "SID", client)
      let reply: EmptyV1 = try await client.send(
        .flaskAddOcontext, OcontextRequestV1(kind: kind, sid: label, low: low, high: high))
      await options.emit(reply, "labelled \(kind) \(self.low)\(self.high.map { "-\($0)" } ?? "")")
    }
  }

  struct DelOcontext: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "del-ocontext", abstract: "FLASK_DEL_OCONTEXT: remove a label (security:del_ocontext).")
    @Argument(help: "pirq, ioport, iomem or pcidevice.") var kind: String
    @Argument(help: "The first number (0x for hex; SEG:BUS:DEV.FN for pcidevice).") var low: String
    @Argument(help: "The last number (default: LOW).") var high: String?
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let kind = try parseKind(self.kind)
      let (low, high) = (try parseBound(self.low, kind: kind), try high.map { try parseBound($0, kind: kind) })
      let reply: EmptyV1 = try await options.client().send(
        .flaskDelOcontext, OcontextRequestV1(kind: kind, sid: nil, low: low, high: high))
      await options.emit(reply, "unlabelled \(kind) \(self.low)\(self.high.map { "-\($0)" } ?? "")")
    }
  }

  struct GetPeerSID: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "get-peer-sid", abstract: "FLASK_GET_PEER_SID: the SID of the domain at the other end of a port.")
    @Argument(help: "The caller's own interdomain event channel port.") var port: Int
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let reply: SIDReplyV1 = try await options.client().send(.flaskGetPeerSID, PeerSIDRequestV1(port: port))
      await options.emit(reply, "\(reply.sid)")
    }
  }

  struct RelabelDomain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "relabel-domain",
      abstract: "FLASK_RELABEL_DOMAIN: give a domain a new SID (domain2:relabelfrom/relabelto or relabelself).")
    @Argument(help: "The domain id, or `self` (DOMID_SELF).") var domain: String
    @Argument(help: "The new label: a SID or a context.") var sid: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      var domid: Int?
      if domain.lowercased() != "self" {
        let digits = domain.hasPrefix("dom") ? String(domain.dropFirst(3)) : domain
        guard let n = Int(digits), n >= 0 else { throw usageError("`\(domain)` is not a domain id or `self`") }
        domid = n
      }
      let client = try options.client()
      let label = try await resolveSID(sid, role: "SID", client)
      let reply: EmptyV1 = try await client.send(
        .flaskRelabelDomain, RelabelDomainRequestV1(domid: domid, sid: label))
      await options.emit(reply, "relabelled \(domid.map { "dom\($0)" } ?? "self") to SID \(label)")
    }
  }

  struct DeviceTreeLabel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "devicetree-label",
      abstract: "FLASK_DEVICETREE_LABEL: label a device tree path; SID 0 removes the label (security:add/del_ocontext).")
    @Argument(help: "The label: a SID or a context; 0 removes it.") var sid: String
    @Argument(help: "The device tree path.") var path: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      let client = try options.client()
      let label = try await resolveSID(sid, role: "SID", client)
      let reply: EmptyV1 = try await client.send(
        .flaskDeviceTreeLabel, DeviceTreeLabelRequestV1(sid: label, path: path))
      await options.emit(reply, label == 0 ? "unlabelled `\(path)`" : "labelled `\(path)` with SID \(label)")
    }
  }
}
