import ArgumentParser
import Foundation
import XSMCommandLine
import XSMCatalog
import XSMEngine
import XSMProtocol
import XSMWire

extension XSMQ {
  struct Can: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "May CALLER invoke OP on TARGET? Exit 0 allowed, 1 denied or invalid, 2 error.",
      discussion: """
        Decides under the host's module (or --module), or under dummy, silo and flask side by side \
        with --all-modules, in Xen's order: the refusals Xen makes before the hook (lookups, domain \
        kinds), the hook, then the refusals after it. --why prints the trace, each step with the Xen \
        file and function it models: the gates, the hook's dummy rule, silo's rule, and each Flask \
        check with its subject and object contexts and the rules that granted it or the reason none \
        did. When the host's policy is a tree or a policy.conf (or a binary with the map `xsmc build \
        --origins` writes beside it), each check also names its source rules: `from FILE:LINE: \
        RULE` and `via CALL at FILE:LINE` for the macro calls that produced it; a refused one names \
        the missing permission and the closest allow rules (same source, target and class), or \
        that there is none, and any neverallow that forbids it (JSON: origins, closest, \
        switched_off, forbidden_by, origin_note on the trace step). A refusal is shown as the caller sees it (a grant op's GNTST status, xen_version's \
        `<denied>`).

        Each op takes the arguments of its hypercall, in Xen's terms: TARGET fills its first domain \
        argument (the domctl's domain, the port owner of evtchn.status, the device model of \
        domctl.set_target); the others are --arg NAME=VALUE (`--arg remote=dom0`, `--arg \
        vcpu=current`, `--arg label=system_u:system_r:domU_t`), situations --situation, devices also \
        --irq/--pci/--iomem/--ioport/--dt, the second domain also --object. A domain value of `self` \
        is DOMID_SELF. A missing, unknown or extra argument is an error (exit 2) that lists the op's \
        arguments; `xsmq args OP` lists them too.
        """)

    @Argument(help: "The calling domain (domN, N or name).", completion: .custom(Completions.domains))
    var caller: String

    @Argument(help: "The op, by name or alias (domctl.pause).", completion: .custom(Completions.ops))
    var op: String

    @Argument(
      help: "The op's first domain argument (see the op's arguments; `self` is DOMID_SELF).",
      completion: .custom(Completions.domains))
    var target: String?

    @Option(name: .customLong("arg"), help: ArgumentHelp(
      "An argument of the op, NAME=VALUE (remote=dom0, vcpu=current, label=CONTEXT); repeatable.", valueName: "name=value"))
    var arguments: [String] = []

    @OptionGroup var host: HostOptions

    @Option(name: .long, help: "Decide under this module instead of the host's: dummy, silo or flask.")
    var module: XSMModule?

    @Flag(name: .long, help: "Decide under dummy, silo and flask side by side.")
    var allModules = false

    @Flag(name: .long, help: "Print the trace of each decision.")
    var why = false

    @Option(name: .long, help: "The op's second domain argument (same as --arg NAME=DOMAIN for it).")
    var object: String?

    @Option(name: .long, help: "Situations of the call that switch checks on (writable, revoke, clear...); repeatable.")
    var situation: [String] = []

    @Option(name: .long, help: "IRQ number whose label device checks use.")
    var irq: UInt32?

    @Option(name: .long, help: "PCI device as SEG:BUS:DEV.FN or a 32-bit SBDF number.")
    var pci: String?

    @Option(name: .long, help: "I/O memory frame number (hex with 0x).")
    var iomem: String?

    @Option(name: .long, help: "I/O port (hex with 0x).")
    var ioport: String?

    @Option(name: .long, help: "Device tree path.")
    var dt: String?

    func validate() throws {
      if allModules && module != nil { throw ValidationError("give --module or --all-modules, not both") }
    }

    func run() async throws {
      if let client = try self.host.client(defaultCaller: caller) { return try await ask(client) }
      let host = try await self.host.load(onlyOps: [op])
      let callerDomain = try host.resolveDomain(caller, role: "caller")
      let operation = try host.resolveOp(op)
      let question: OpQuestion
      do {
        question = try OpQuestion.bind(caller: callerDomain, op: operation, target: target,
          arguments: try namedArguments(for: operation), flags: situation, on: host)
      } catch let error as OpArgumentError {
        throw usageError(error.description)
      }
      let targetDomain = question.target
      let objects = question.objects
      let engine = DecisionEngine(host: host)
      let modules: [XSMModule] = allModules ? XSMModule.allCases : [module ?? host.module]
      let decisions = modules.map {
        engine.decide(caller: callerDomain, op: operation, target: targetDomain, module: $0, objects: objects)
      }
      let primary = decisions.first { $0.module == (module ?? host.module) } ?? decisions[0]
      let targetLabel = targetDomain?.label ?? "-"
      // The arguments beyond the target (the first bound argument when the op's target is bound).
      let shown = question.boundArguments.dropFirst(targetDomain == nil ? 0 : 1)
      Console.current.answer(
        Answer(caller: callerDomain.label, op: operation.name, target: targetLabel,
          arguments: question.boundArguments, module: primary.module, verdict: primary.verdict, decisions: decisions),
        json: self.host.json, host: self.host.label(host),
        Self.render(decisions, caller: callerDomain.label, op: operation.name,
          target: targetLabel + (shown.isEmpty ? "" : " (" + shown.joined(separator: " ") + ")"), why: why,
          sideBySide: allModules))
      if primary.verdict != .allowed { throw ExitCode(1) }
    }

    /// `--object` and the device options, as `/v1/can` takes them too.
    var options: OpQuestion.Options {
      OpQuestion.Options(object: object, irq: irq, pci: pci, iomem: iomem, ioport: ioport, dt: dt)
    }

    /// `--arg`, `--object` and the device options as (name, value) pairs for the op.
    func namedArguments(for op: Op) throws -> [(String, String)] {
      do {
        return try OpQuestion.namedArguments(arguments, for: op) + options.pairs(for: op)
      } catch {
        throw usageError(error.description)
      }
    }

    struct Answer: Encodable {
      var caller: String
      var op: String
      var target: String
      /// The op's arguments as bound, defaults included.
      var arguments: [String]?
      var module: XSMModule
      var verdict: Verdict
      var decisions: [Decision]
    }

    /// The same question answered by xsmd (POST /v1/can), printed as a local answer is.
    func ask(_ client: ServiceClient) async throws {
      let reply = try await client.can(
        CanRequestV1(caller: caller, op: op, target: target, module: module.map(ModuleV1.init),
          allModules: allModules ? true : nil, why: why || allModules || self.host.json ? true : nil,
          arguments: arguments.isEmpty ? nil : arguments, situations: situation.isEmpty ? nil : situation,
          object: object, irq: irq, pci: pci, iomem: iomem, ioport: ioport, dt: dt))
      let decisions = reply.decisions.map(Decision.init)
      guard !decisions.isEmpty else { throw usageError("xsmd answered `can` without a decision") }
      let served = await client.hostLabel()
      // The module asked for, else the host's (with --all-modules the first decision is dummy's).
      let primaryModule = module ?? (allModules ? served.module.flatMap(XSMModule.init(rawValue:)) : nil)
        ?? decisions[0].module
      // As a local answer shows them (the reply's target is `-` when none is bound).
      let shown = (reply.arguments ?? []).dropFirst(reply.target == "-" ? 0 : 1)
      Console.current.answer(
        Answer(caller: reply.caller, op: reply.op, target: reply.target, arguments: reply.arguments,
          module: primaryModule, verdict: Verdict(reply.verdict), decisions: decisions),
        json: self.host.json, host: served,
        Self.render(decisions, caller: reply.caller, op: reply.op,
          target: reply.target + (shown.isEmpty ? "" : " (" + shown.joined(separator: " ") + ")"), why: why,
          sideBySide: allModules))
      if reply.verdict != .allowed { throw ExitCode(1) }
    }

    static func render(_ decisions: [Decision], caller: String, op: String, target: String, why: Bool,
      sideBySide: Bool) -> String
    {
      var out = ""
      if sideBySide {
        out += "\(caller) -> \(op) -> \(target)\n"
        for d in decisions {
          // The step that decided: the refusal, else the module's last step, else whatever there is.
          let summary = (d.trace.last { $0.outcome == .fail || $0.outcome == .permissive }
            ?? d.trace.last { $0.outcome != .info && $0.layer != "xen" } ?? d.trace.last { $0.outcome != .info }
            ?? d.trace.last)?.text ?? ""
          out += "  " + d.module.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) + " "
            + (why ? verdictText(d) : verdictText(d).padding(toLength: 18, withPad: " ", startingAt: 0) + summary) + "\n"
          if why { out += trace(d, indent: "           ") }
        }
      } else {
        let d = decisions[0]
        out += "\(caller) \(op) \(target): \(verdictText(d)) under \(d.module.rawValue)\n"
        if why { out += trace(d, indent: "  ") }
      }
      return String(out.dropLast())
    }

    static func verdictText(_ d: Decision) -> String { d.verdictText }

    static func trace(_ d: Decision, indent: String) -> String { d.traceText(indent: indent) }
  }
}
