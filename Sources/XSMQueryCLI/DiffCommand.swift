import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics
import XSMEngine

enum DiffFormat: String, ExpressibleByArgument, CaseIterable {
  case text, json, html
}

extension XSMQ {
  struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "What two policies, systems or modules let domains do differently: ops gained and lost by pair.",
      usage: """
        xsmq diff OLD NEW [--system FILE] [--module M] [--format text|json|html] [-o FILE]
        xsmq diff --systems OLD.toml NEW.toml [--module M] [--format text|json|html] [-o FILE]
        xsmq diff --modules OLD NEW [--system FILE] [--format text|json|html] [-o FILE]
        """,
      discussion: """
        OLD and NEW are policies (binary files, policy trees or policy.conf files, built as xsmc \
        builds them; `embedded` is the project's built-in policy), each put in place of the host's \
        own policy (--system, else the embedded default host) and decided under flask (or --module). \
        With --systems, two system files are compared, each under its own module unless --module \
        is given; with --modules, two modules on one host. Domains are matched by name; ops are \
        compared by op, so a permission renamed between Xen releases compares as the op it guards, \
        and a permission one side's classes lack is named as such.

        For each (caller, target) pair the ops gained (allowed by NEW, not by OLD) and lost are \
        listed by op family, with the Flask checks whose outcome changed and the rules that grant \
        them: NEW's for a gain, OLD's for a loss. When that side is a tree or a policy.conf (or a \
        binary with the map `xsmc build --origins` writes), the source rules behind those rules are \
        cited at file:line with the macro calls that produced them. Pairs with the same changes \
        from the same caller to domains of the same type are shown together. A change between \
        denied and invalid is not counted.

        --json prints {old, new, pairs: [{caller, target, gained, lost}], gained, lost, \
        ops_compared, pairs_compared, only_old, only_new, source_notes}: old and new are {name, \
        system, module, policy, policy_digest}; caller and target {name, domid, type, old_type \
        (when it differs), kind}; each gained or lost op {op, family, old, new, checks, reason}; \
        each check {check, old, new, rules, note, origins: [{kind, file, line, column, rule, \
        condition, macro_calls: [{name, call, file, line}]}]}, an outcome being granted, denied, \
        permissive, undefined-permission, undefined-class or not-made; source_notes says, by side \
        name, why a side cites no source rules.

        --format html writes a self-contained page of the same differences: the sides, lost and \
        gained counts per op family and the ops that changed most, then for each changed op a caller \
        × target grid marking what is lost, gained and unchanged, with the checks and rules \
        responsible, and a caller × op summary per family, filtered by family, op, caller and target. \
        Two sides without a difference get a page that says so. dummy and silo read no policy, so \
        two policies compared under them never differ (the page says why).

        Exit status: 0 no difference, 1 differences, 2 usage or input errors (a missing file, a \
        policy that does not build).
        """)

    @OptionGroup var host: HostOptions

    @Argument(help: ArgumentHelp("The old and the new policy.", valueName: "policy"))
    var policies: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
      "Compare two system files instead of two policies.", valueName: "system"))
    var systems: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
      "Compare two modules on one host instead of two policies (see also `xsmq compare`).", valueName: "module"))
    var modules: [XSMModule] = []

    @Option(name: .long, help: "Decide both sides under this module (default: flask for two policies, each system's own for --systems).")
    var module: XSMModule?

    @OptionGroup var selection: SelectionOptions

    @Option(name: .long, help: "Output format: text, json (as --json) or html (a self-contained page of grids).")
    var format: DiffFormat = .text

    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.")
    var output: String?

    func validate() throws {
      let modes = [!policies.isEmpty, !systems.isEmpty, !modules.isEmpty].filter { $0 }.count
      guard modes == 1 else {
        throw ValidationError("give two policies (OLD NEW), or --systems A B, or --modules A B")
      }
      if !policies.isEmpty && policies.count != 2 {
        throw ValidationError("give two policies, OLD and NEW (got \(policies.count))")
      }
      if !systems.isEmpty && systems.count != 2 { throw ValidationError("--systems takes two system files (got \(systems.count))") }
      if !modules.isEmpty && modules.count != 2 { throw ValidationError("--modules takes two modules (got \(modules.count))") }
      if !systems.isEmpty && host.systemOption != nil { throw ValidationError("--systems names both hosts; drop --system") }
      if !modules.isEmpty && module != nil { throw ValidationError("--modules names both modules; drop --module") }
      if host.server != nil { throw ValidationError("`diff` is answered locally; drop --server") }
    }

    func run() async throws {
      let catalog = try host.loadCatalog()
      let (old, new) = try await sides(catalog: catalog)
      let ops = try selection.ops(new.host)
      let domains = try selection.domains(new.host).map { Set($0.map(\.name)) }
      let diff = DecisionDiff(old: old, new: new, ops: ops, domains: domains)
      switch host.json ? .json : format {
      case .text: try emit(Self.render(diff), to: output)
      case .json: try emit(encodeJSON(diff), to: output)
      case .html: try emit(MatrixRendering.html(diff), to: output)
      }
      if !diff.isEmpty { throw ExitCode(1) }
    }

    /// The two sides the command line names, loaded.
    func sides(catalog: OpCatalog) async throws -> (DecisionDiff.Side, DecisionDiff.Side) {
      if !systems.isEmpty {
        var loaded: [DecisionDiff.Side] = []
        for path in systems {
          guard FileManager.default.fileExists(atPath: path) else { throw usageError("no system file `\(path)`") }
          let (spec, diagnostics) = SystemFile.load(path: path)
          let host = try await HostOptions.loadHost(spec, diagnostics, catalog: catalog)
          loaded.append(DecisionDiff.Side(host: host, module: module ?? host.module, name: path))
        }
        return (loaded[0], loaded[1])
      }
      let (spec, specDiagnostics) = SystemFile.load(pathOrDefault: host.system)
      if modules.count == 2 {
        let host = try await HostOptions.loadHost(spec, specDiagnostics, catalog: catalog)
        return (DecisionDiff.Side(host: host, module: modules[0], name: modules[0].rawValue),
          DecisionDiff.Side(host: host, module: modules[1], name: modules[1].rawValue))
      }
      var loaded: [DecisionDiff.Side] = []
      for (role, path) in zip(["old", "new"], policies) {
        var sideSpec = spec
        if path != SystemFile.embeddedPolicy {
          guard FileManager.default.fileExists(atPath: path) else {
            throw usageError("the \(role) policy `\(path)` does not exist")
          }
          sideSpec?.policy = path.hasPrefix("/")
            ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        } else {
          sideSpec?.policy = SystemFile.embeddedPolicy
        }
        let host: XenHost
        do {
          host = try await HostOptions.loadHost(sideSpec, specDiagnostics, catalog: catalog)
        } catch {
          throw usageError("the \(role) policy `\(path)` cannot be used on \(spec?.file ?? "the host") (see above)")
        }
        loaded.append(DecisionDiff.Side(host: host, module: module ?? .flask, name: path))
      }
      return (loaded[0], loaded[1])
    }

    /// The diff as text: pairs with the same changes from one caller to domains of one type together.
    static func render(_ diff: DecisionDiff) -> String {
      var out = "old: \(describe(diff.old))\nnew: \(describe(diff.new))\n"
      if !diff.onlyOld.isEmpty { out += "not compared, only in old: \(diff.onlyOld.joined(separator: ", "))\n" }
      if !diff.onlyNew.isEmpty { out += "not compared, only in new: \(diff.onlyNew.joined(separator: ", "))\n" }
      var groups: [(caller: DecisionDiff.Party, targets: [DecisionDiff.Party], body: String)] = []
      for pair in diff.pairs {
        let body = renderChanges(pair, old: diff.old.name, new: diff.new.name)
        if let i = groups.firstIndex(where: { $0.caller == pair.caller && $0.targets[0].type == pair.target.type && $0.body == body }) {
          groups[i].targets.append(pair.target)
        } else {
          groups.append((pair.caller, [pair.target], body))
        }
      }
      for group in groups {
        let targets = group.targets.map(\.name).joined(separator: ", ")
        out += "\n\(group.caller.name) (\(typeText(group.caller))) -> \(targets) (\(typeText(group.targets[0])))\n"
        out += group.body
      }
      for (side, note) in diff.sourceNotes.sorted(by: { $0.key < $1.key }) where !diff.isEmpty {
        out += "\n(\(side): \(note))\n"
      }
      let pairs = diff.pairs.count
      let summary = "\(diff.gained) ops gained, \(diff.lost) lost over \(pairs) (caller, target) pair\(pairs == 1 ? "" : "s")"
      out += "\n" + (diff.isEmpty ? "no difference: " : "") + summary
        + " (\(diff.opsCompared) ops × \(diff.pairsCompared) pairs compared)\n"
      return out
    }

    static func describe(_ side: DecisionDiff.SideFacts) -> String {
      "\(side.name) (policy \(side.policy) on \(side.system), under \(side.module.rawValue))"
    }

    static func typeText(_ party: DecisionDiff.Party) -> String {
      party.oldType.map { "\($0) -> \(party.type)" } ?? party.type
    }

    /// One pair's changes, by direction and op family, then the rules and notes they name.
    static func renderChanges(_ pair: DecisionDiff.PairChanges, old: String, new: String) -> String {
      var out = ""
      var notes: [String] = []
      for (title, changes, rulesTitle) in [
        ("lost", pair.lost, "rules of \(old) that granted what is lost"),
        ("gained", pair.gained, "rules of \(new) that grant what is gained"),
      ] where !changes.isEmpty {
        out += "  \(title) \(changes.count)\n"
        var rules: [String] = []
        // Each source rule once, with the permissions of the changed checks it grants.
        var origins: [(citation: RuleCitation, permissions: [String])] = []
        var families: [String] = []
        for change in changes where !families.contains(change.family) { families.append(change.family) }
        for family in families {
          out += "    \(family)\n"
          for change in changes where change.family == family {
            let why = change.checks.isEmpty ? change.reason ?? "" : change.checks.map(\.check).joined(separator: ", ")
            out += "      \(change.op.padding(toLength: max(34, change.op.count), withPad: " ", startingAt: 0)) \(why)\n"
            for check in change.checks {
              for rule in check.rules where !rules.contains(rule) { rules.append(rule) }
              let permission = check.check.split(separator: " ").first.flatMap { $0.split(separator: ":").last }.map(String.init)
              for origin in check.origins ?? [] {
                if let i = origins.firstIndex(where: { $0.citation == origin }) {
                  if let permission, !origins[i].permissions.contains(permission) { origins[i].permissions.append(permission) }
                } else {
                  origins.append((origin, permission.map { [$0] } ?? []))
                }
              }
              if let note = check.note, !notes.contains(note) { notes.append(note) }
            }
          }
        }
        if !rules.isEmpty {
          out += "    \(rulesTitle):\n" + rules.map { "      \($0)\n" }.joined()
        }
        if !origins.isEmpty {
          out += "    from the source rules:\n"
          for (origin, permissions) in origins {
            out += "      \(origin.location): \(origin.shortRule(keeping: permissions))"
              + (origin.condition.map { " [if \($0)]" } ?? "") + "\n"
            if let via = origin.viaText { out += "        \(via)\n" }
          }
        }
      }
      out += notes.map { "  note: \($0)\n" }.joined()
      return out
    }
  }
}
