import ArgumentParser
import Foundation
import XSMBuild
import XSMCommandLine
import XSMDiagnostics
import XSMPolicy
import XSMSepol

/// `xsmc`: the Xen FLASK policy compiler. The executable runs `XSMC.main()`;
/// tests run its command lines in process with `XSMC.run(capturing:)`.
public struct XSMC: AsyncParsableCommand {
  public init() {}

  public static let configuration = CommandConfiguration(
    commandName: "xsmc",
    abstract: "Compile Xen FLASK policies through libsepol, with located diagnostics.",
    discussion: """
      Input is a policy tree or a single policy.conf. A tree is read in the layout its files show: \
      Xen's tools/flask/policy (classes from ../../../xen/xsm/flask/policy), a refpolicy-style monolithic \
      tree (policy/modules.conf with base|module|off, as OpenXT's), or xsmtools' own (modules.conf and \
      flask/ at the top); each is expanded with m4 in the order and with the parameters of its Makefile \
      (`xsmc build DIR --explain-layout` shows them). Exit status: 0 built, 1 policy errors, 2 usage or I/O errors.
      """,
    version: ToolVersion.text(for: "xsmc"),
    subcommands: [Build.self, Check.self, Test.self, Port.self, Fmt.self, Ops.self, Docs.self],
    defaultSubcommand: nil
  )
}

/// Options shared by commands that read a policy.
struct PolicyOptions: ParsableArguments {
  @Argument(help: "A policy tree (Xen's tools/flask/policy, a refpolicy-style tree, xsmtools' layout, or a Xen checkout's top) or a policy.conf file.")
  var input: String

  @Option(name: .long, help: ArgumentHelp(
    "Take the hypervisor's classes (security_classes, initial_sids, access_vectors) from this directory.",
    valueName: "dir"))
  var classes: String?

  @Option(name: .long, help: ArgumentHelp(
    "The Xen checkout whose xen/xsm/flask/policy holds the classes of a Xen-layout tree that stands outside it.",
    valueName: "dir"))
  var xenRoot: String?

  @Option(name: .customLong("m4-define"), help: ArgumentHelp(
    "Hand m4 `-D NAME[=VALUE]` after the layout's own definitions (repeatable), e.g. refpolicy's enable_mcs.",
    valueName: "name[=value]"))
  var m4Definitions: [String] = []

  @Option(name: .customLong("m4-time-limit"), help: ArgumentHelp(
    "Stop m4 after this many seconds; over it: tree.m4-time-limit.",
    valueName: "seconds"))
  var m4TimeLimit: Double = Double(M4Limits.defaultTimeSeconds)

  @Option(name: .customLong("m4-output-limit"), help: ArgumentHelp(
    "Stop m4 once it has written this many MiB; over it: tree.m4-output-limit.",
    valueName: "mib"))
  var m4OutputLimit: Double = Double(M4Limits.defaultOutputMiB)

  @Option(name: .customLong("m4-memory-limit"), help: ArgumentHelp(
    "Limit m4's address space to this many MiB; over it: tree.m4-memory-limit.",
    valueName: "mib"))
  var m4MemoryLimit: Double = Double(M4Limits.defaultMemoryMiB)

  @Flag(name: .customLong("allow-m4-shell"), help: ArgumentHelp(
    "Let the tree's esyscmd and syscmd run shell commands at build time (refused by default: tree.m4-shell-refused).",
    discussion: "Without it m4 also cannot start any process (a seccomp filter on Linux). Give it only for a tree you trust."))
  var allowM4Shell = false

  @Flag(name: .long, help: "Print how the tree is read (layout, hypervisor classes, modules, m4's inputs in order and why) and stop; JSON with --json.")
  var explainLayout = false

  @Option(name: .long, help: "Binary policy version: 30 (default, device tree labels) or 24.")
  var policyVersion: Int = 30

  @Flag(name: .long, help: "Build an MLS policy (m4 gets -D enable_mls).")
  var mls = false

  @Flag(name: .long, help: "Build an MLS binary from an MCS policy, as refpolicy's TYPE=…-mcs (m4 gets -D enable_mcs instead of -D enable_mls).")
  var mcs = false

  @Option(name: .long, help: "What Xen does with permissions the policy does not define: deny, reject or allow.")
  var handleUnknown: HandleUnknown = .deny

  @Option(name: .long, help: ArgumentHelp(
    "How the binary is made: policydb (libsepol's policydb built from the checked policy, the default) or cil (through libsepol's CIL compiler, the earlier route).",
    valueName: "backend"))
  var backend: Backend = .policydb

  @Option(name: .long, help: "Show at most this many errors (0 shows all).")
  var maxErrors: Int = 20

  @Option(name: .long, help: ArgumentHelp(
    "Refuse policy text larger than this (a policy.conf, or m4's output for a tree): bytes, or with K, M or G (KiB, MiB, GiB).",
    valueName: "size"))
  var maxInputSize = ByteCount(bytes: CheckOptions.defaultMaxInputSize)

  @Option(name: .long, help: "Diagnostics format: human, plain or json.")
  var diagnosticsFormat: DiagnosticRenderer.Format = .human

  // Xen ABI history (--xen) and warnings as errors (-Werror).
  @Option(
    name: .long,
    help: ArgumentHelp(
      "The Xen release to check the policy's classes against: 4.8 to \(XenABIHistory.newestRelease.version), or dev.",
      discussion: """
        4.17 and 4.17.0 name a release; dev, unstable or master Xen's development branch \
        (\(XenABIHistory.development.version)). Without --xen, check.xen-abi compares with the releases whose \
        classes the policy has, else with the newest release (\(XenABIHistory.newestRelease.version)). An unknown \
        permission that an older release had is reported with its rename or removal either way.
        """,
      valueName: "version"))
  var xen: String?

  @Option(
    name: [.customLong("Werror", withSingleDash: true), .customLong("warnings-as-errors")],
    help: ArgumentHelp(
      "Report warnings with this id as errors, which fail the command (exit 1): -Werror=check.xen-abi.",
      discussion: "Repeat it or separate ids with commas; `all` makes every warning an error. Ids: docs/diagnostics.md.",
      valueName: "id"))
  var warningsAsErrors: [String] = []

  func validate() throws {
    guard policyVersion == 24 || policyVersion == 30 else {
      throw ValidationError("--policy-version must be 24 or 30: Xen accepts XenFlask policies only at those versions")
    }
    guard maxErrors >= 0 else { throw ValidationError("--max-errors must be 0 or more") }
    for (name, value) in [("--m4-time-limit", m4TimeLimit), ("--m4-output-limit", m4OutputLimit), ("--m4-memory-limit", m4MemoryLimit)]
    where !(value > 0 && value.isFinite) {
      throw ValidationError("\(name) must be a number above 0")
    }
    for definition in m4Definitions {
      let name = definition.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      guard let first = name.first, first.isLetter || first == "_",
        name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
      else {
        throw ValidationError("--m4-define `\(definition)`: expected NAME or NAME=VALUE, NAME a letter or `_` then letters, digits or `_`")
      }
    }
    _ = try xenRelease()
    _ = try promotedWarnings()
  }

  /// The release `--xen` names; nil without it.
  func xenRelease() throws -> XenRelease? {
    guard let xen else { return nil }
    guard let release = XenABIHistory.release(named: xen) else {
      throw ValidationError("unknown Xen release `\(xen)` for --xen; known: \(XenABIHistory.knownNames.joined(separator: ", "))")
    }
    return release
  }

  /// The ids `-Werror` names.
  func promotedWarnings() throws -> Set<DiagnosticID> {
    var ids = Set<DiagnosticID>()
    for text in warningsAsErrors.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) {
      if text == "all" {
        ids.formUnion(DiagnosticID.all)
      } else if let id = DiagnosticID(rawValue: text) {
        ids.insert(id)
      } else {
        let hint = Suggestion.closest(to: text, in: DiagnosticID.all.map(\.rawValue)).map { "; did you mean `\($0)`?" }
        throw ValidationError("unknown diagnostic id `\(text)` for -Werror\(hint ?? " (docs/diagnostics.md lists them)")")
      }
    }
    return ids
  }

  var treeOptions: TreeOptions {
    let limits = M4Limits(time: .milliseconds(Int64(m4TimeLimit * 1000)), outputBytes: Int(m4OutputLimit * 1_048_576),
      memoryBytes: Int(m4MemoryLimit * 1_048_576), allowsShell: allowM4Shell)
    return TreeOptions(classesDirectory: classes, xenRoot: xenRoot, m4Definitions: m4Definitions, mcs: mcs, m4Limits: limits)
  }

  var buildOptions: BuildOptions {
    var options = BuildOptions(policyVersion: policyVersion, mls: mls || mcs, handleUnknown: handleUnknown,
      tree: treeOptions, xenRelease: try? xenRelease(), warningsAsErrors: (try? promotedWarnings()) ?? [])
    options.backend = backend
    options.maxInputSize = maxInputSize.bytes
    return options
  }

  /// `--explain-layout`: prints how the tree is read instead of building it.
  func explainTreeLayout(json: Bool) throws {
    guard PolicyTree.isTree(input) else {
      Console.current.complain("xsmc: error: --explain-layout needs a policy tree, and `\(input)` is not a directory")
      throw ExitCode(2)
    }
    let (tree, problems) = PolicyTree.load(directory: input, options: treeOptions, mls: mls || mcs)
    let diagnostics = DiagnosticList(problems)
    report(diagnostics)
    let layout = LayoutReport(tree)
    Console.current.say(json ? encodeJSON(layout) : layout.text)
    if diagnostics.hasErrors { throw ExitCode(diagnostics.hasInputErrors ? 2 : 1) }
  }

  /// The Xen releases whose classes `model` has exactly, in words, or nil.
  static func matchingReleases(_ model: PolicyModel?) -> [XenRelease] {
    guard let model else { return [] }
    return XenABIHistory.releasesMatching(classOrder: model.classOrder, permissions: model.permissions(of:))
  }

  /// Build options with the op catalog that op rules expand through, read
  /// only when the policy has op rules. A catalog that fails to load is
  /// reported then, and the build goes on without one.
  func buildOptions(catalog catalogOptions: CatalogOptions) -> BuildOptions {
    var options = buildOptions
    options.deferredCatalog = DeferredOpCatalog(
      catalogOptions.loader(near: PolicyTree.isTree(input) ? input : nil, renderer: renderer))
    return options
  }

  var renderer: DiagnosticRenderer {
    Console.current.renderer(diagnosticsFormat, maxErrors: maxErrors)
  }

  /// Prints diagnostics to stderr (JSON diagnostics go to stderr too, so stdout stays the product).
  func report(_ diagnostics: DiagnosticList) {
    guard !diagnostics.isEmpty || diagnosticsFormat == .json else { return }
    Console.current.complain(renderer.render(diagnostics))
  }
}

/// A size in bytes as an option takes it: `1048576`, `512K`, `256M`, `1G` (binary units).
struct ByteCount: ExpressibleByArgument, CustomStringConvertible {
  var bytes: Int

  init(bytes: Int) { self.bytes = bytes }

  init?(argument: String) {
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    var digits = Substring(argument)
    var unit = 1
    if let last = digits.last?.uppercased().first, let scale = units[last] {
      unit = scale
      digits = digits.dropLast()
    }
    guard let count = Int(digits), count > 0 else { return nil }
    let (product, overflow) = count.multipliedReportingOverflow(by: unit)
    guard !overflow else { return nil }
    bytes = product
  }

  var description: String { bytes % (1 << 20) == 0 ? "\(bytes >> 20)M" : "\(bytes)" }
}

extension HandleUnknown: ExpressibleByArgument {}
extension Backend: ExpressibleByArgument {}
extension DiagnosticRenderer.Format: ExpressibleByArgument {}
extension DumpPoint: ExpressibleByArgument {}

/// What `--emit` writes instead of a binary.
enum EmitKind: String, ExpressibleByArgument, CaseIterable {
  case conf, cil
}

extension XSMC {
  struct Build: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Build a binary policy that Xen loads.",
      discussion: """
        The binary is written to a temporary file beside -o (with the replaced file's mode) and renamed, so a \
        failed or interrupted build leaves no output; -o must name a regular file or a new one (`-` streams to stdout). \
        `--emit conf` writes the m4-expanded policy.conf (op rules replaced by the class rules they \
        expand to) and `--emit cil` the CIL handed to libsepol (to -o, or stdout without it). Op rules \
        (`allow S T : op { domctl.pause };`) expand through the op catalog (see `xsmc ops`).
        """)

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var catalog: CatalogOptions

    @Option(name: .shortAndLong, help: ArgumentHelp(
      "Output file (default: xenpolicy-<version>; stdout for --emit without -o); `-` or /dev/stdout for standard output.",
      discussion: "Only a regular file is replaced: a symbolic link, directory, FIFO or device there is refused."))
    var output: String?

    @Option(name: .long, help: "Write the expanded text instead of a binary: conf or cil.")
    var emit: EmitKind?

    @Option(
      name: .long,
      help: ArgumentHelp(
        "Write what a pass produced instead of a binary: tokens, expand, parse, ops, resolve or lower.",
        discussion: """
          tokens: the lexer's tokens with their places; expand: the policy.conf after m4; parse: the \
          statements as parsed, each after its place; ops: the statements once op rules are expanded; \
          resolve: the symbol tables in the order libsepol numbers them; lower: the CIL handed to libsepol.
          """))
    var dump: DumpPoint?

    @Flag(name: .long, help: ArgumentHelp(
      "Also write OUTPUT.origins.json: each rule's source file:line and macro calls, for xsmq's citations.",
      discussion: """
        A small versioned JSON map (format xsmtools-rule-origins, version 1) holding the source the \
        binary was built from and the binary's SHA-256, so xsmq can cite source rules when a system \
        names the binary, and refuses the map once the binary is rebuilt without it.
        """))
    var origins = false

    @Flag(name: .long, help: "Print the build summary as JSON on stdout.")
    var json = false

    @Flag(name: .long, help: "Print nothing on success.")
    var quiet = false

    func validate() throws {
      if dump != nil && emit != nil { throw ValidationError("give --dump or --emit, not both") }
      if origins && (dump != nil || emit != nil) { throw ValidationError("--origins goes with a binary, not --dump or --emit") }
      if origins, let output, OutputFile.isStandardOutput(output) {
        throw ValidationError("--origins writes OUTPUT.origins.json beside the binary, so -o must name a file")
      }
    }

    func run() async throws {
      if policy.explainLayout { return try policy.explainTreeLayout(json: json) }
      let source = PolicySource.path(policy.input)
      if let dump {
        let frontend = PolicyFrontend.run(source, options: policy.buildOptions(catalog: catalog).checkOptions,
          lower: dump == .lower)
        let diagnostics = frontend.diagnostics.promotingWarnings(policy.buildOptions.warningsAsErrors)
        policy.report(diagnostics)
        guard let text = frontend.dump(dump) else {
          Console.current.complain("xsmc: error: the \(dump.pass.rawValue) pass did not run, so there is nothing to dump")
          throw ExitCode(diagnostics.hasErrors && !diagnostics.hasInputErrors ? 1 : 2)
        }
        try write(text: text)
        if diagnostics.hasErrors { throw ExitCode(diagnostics.hasInputErrors ? 2 : 1) }
        return
      }
      var options = policy.buildOptions(catalog: catalog)
      // --emit conf writes the text and --origins reads it; a plain build frees it early.
      options.keepsSourceText = emit != nil || origins
      let outcome = await PolicyBuilder.build(source, options: options, compile: emit == nil)
      policy.report(outcome.diagnostics)
      if let emit {
        let text: String?
        switch emit {
        case .conf: text = outcome.frontend.expandedTextWithOpRules
        case .cil: text = outcome.frontend.cil?.text
        }
        if let text, emit == .conf || !outcome.diagnostics.hasErrors {
          try write(text: text)
        }
        if outcome.diagnostics.hasErrors { throw ExitCode(outcome.isInputError ? 2 : 1) }
        return
      }
      guard let binary = outcome.binary, !outcome.diagnostics.hasErrors else {
        throw ExitCode(outcome.isInputError ? 2 : 1)
      }
      let path = output ?? "xenpolicy-\(policy.policyVersion)"
      try OutputFile.write(binary, to: path, reportingAs: "xsmc")
      var originsPath: String?
      if origins, let map = RuleOriginMap(outcome.frontend, source: policy.input) {
        let sidecar = RuleOriginSidecar.path(besideBinaryAt: path)
        try OutputFile.write(RuleOriginSidecar.encode(map, for: binary), to: sidecar, reportingAs: "xsmc")
        originsPath = sidecar
      }
      guard !quiet, let summary = outcome.summary else { return }
      var report = BuildReport(output: path, bytes: binary.count, summary: summary, timings: outcome.timings)
      report.origins = originsPath
      report.xenReleases = PolicyOptions.matchingReleases(outcome.frontend.model).map(\.version)
      let text = json ? report.json() : report.text(input: policy.input)
      // With the binary on standard output, the summary goes to standard error.
      if OutputFile.isStandardOutput(path) { Console.current.complain(text) } else { Console.current.say(text) }
    }

    private func write(text: String) throws {
      try OutputFile.write(Array(text.utf8), to: output ?? "-", reportingAs: "xsmc")
    }
  }

  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a policy and report diagnostics; write nothing.",
      discussion: "Runs every pass including libsepol's (neverallow checks), but writes no file.")

    @OptionGroup var policy: PolicyOptions

    @OptionGroup var catalog: CatalogOptions

    @Flag(name: .long, help: "Print the result as JSON on stdout.")
    var json = false

    func run() async throws {
      if policy.explainLayout { return try policy.explainTreeLayout(json: json) }
      let outcome = await PolicyBuilder.build(
        PolicySource.path(policy.input), options: policy.buildOptions(catalog: catalog))
      policy.report(outcome.diagnostics)
      let ok = !outcome.diagnostics.hasErrors
      let matching = PolicyOptions.matchingReleases(outcome.frontend.model)
      if json {
        struct CheckReport: Encodable {
          var ok: Bool
          var errors: Int
          var warnings: Int
          var summary: PolicySummary?
          /// The releases whose classes the policy has exactly.
          var xenReleases: [String]
        }
        let report = CheckReport(
          ok: ok, errors: outcome.diagnostics.errorCount,
          warnings: outcome.diagnostics.count { $0.severity == .warning }, summary: outcome.summary,
          xenReleases: matching.map(\.version))
        Console.current.say(encodeJSON(report))
      } else if ok {
        let warnings = outcome.diagnostics.count { $0.severity == .warning }
        let xen = matching.isEmpty ? "" : "; classes of \(XenABIHistory.describe(matching))"
        Console.current.say("\(policy.input): ok\(xen)\(warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : "")")
      }
      if !ok { throw ExitCode(outcome.isInputError ? 2 : 1) }
    }
  }
}

/// The result of a build, for people and for programs.
struct BuildReport: Encodable {
  var output: String
  var bytes: Int
  var summary: PolicySummary
  var timings: [String: Double]
  /// The Xen releases whose classes the policy has exactly.
  var xenReleases: [String] = []
  /// The rule-origin map written beside the binary (`--origins`).
  var origins: String?

  init(output: String, bytes: Int, summary: PolicySummary, timings: [(pass: FrontendPass, seconds: Double)]) {
    self.output = output
    self.bytes = bytes
    self.summary = summary
    self.timings = Dictionary(timings.map { ($0.pass.rawValue, $0.seconds) }, uniquingKeysWith: +)
  }

  func json() -> String { encodeJSON(self) }

  func text(input: String) -> String {
    let s = summary
    let total = timings.values.reduce(0, +)
    let o = s.ocontexts
    let ocontexts = o.pirq + o.ioport + o.iomem + o.pciDevice + o.deviceTree
    return """
      built \(input) -> \(output) (\(s.target) v\(s.version), \(s.mls ? "MLS" : "non-MLS"), handle_unknown \(s.handleUnknown.rawValue))
        \(s.classes) classes, \(s.permissions) permissions, \(s.types) types, \(s.attributes) attributes, \(s.roles) roles, \(s.users) users, \(s.booleans) booleans
        \(s.avRules) access-vector rules, \(s.typeRules) type rules, \(s.conditionalRules) conditional rules, \(s.constraints) constraints
        \(s.initialSIDs) initial SIDs, \(ocontexts) device labels; \(bytes) bytes in \(String(format: "%.2f", total)) s
      """ + (origins.map { "\n  rule origins -> \($0)" } ?? "") + (xenReleases.isEmpty ? "" : "\n  classes of " + XenABIHistory.describe(xenReleases.compactMap(XenABIHistory.release(named:))))
  }
}

