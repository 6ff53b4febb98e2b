import Foundation
import XSMCatalog
import XSMDiagnostics
import XSMPolicy
import XSMSepol

/// How the checked model becomes a binary policy.
public enum Backend: String, Sendable, CaseIterable {
  /// libsepol's policydb built from the model directly (the default).
  case policydb
  /// The model lowered to CIL text and compiled by libsepol's CIL compiler,
  /// the binary read back for the summary (the earlier route, kept to compare).
  case cil
}

/// How a binary policy is built.
public struct BuildOptions: Sendable {
  public var policyVersion: Int
  public var mls: Bool
  public var handleUnknown: HandleUnknown
  /// The op catalog that op rules expand through; op rules are errors without one.
  public var catalog: OpCatalog?
  /// Used when `catalog` is nil: a catalog read only if the policy has op rules.
  public var deferredCatalog: DeferredOpCatalog?
  /// How a policy tree is read (classes directory, extra m4 definitions).
  public var tree: TreeOptions
  /// The Xen release `check.xen-abi` compares with (`--xen`); nil: the release the policy's classes match.
  public var xenRelease: XenRelease?
  /// Warnings reported as errors (`-Werror=ID`): they fail the build.
  public var warningsAsErrors: Set<DiagnosticID> = []
  /// How the model becomes a binary.
  public var backend: Backend = .policydb
  /// The largest policy text read, in bytes (`CheckOptions.maxInputSize`).
  public var maxInputSize = CheckOptions.defaultMaxInputSize
  /// False lets a build free the policy text (`FrontendResult.expandedText`, a file's
  /// text in the source map) once it is parsed, and the syntax tree (`syntax`,
  /// `parsedSyntax`, the model's `syntax`) once the policydb backend has read it, before
  /// libsepol writes the binary: lower peak memory for callers that want only the
  /// binary, its summary and its diagnostics.
  public var keepsSourceText = true

  public init(
    policyVersion: Int = 30, mls: Bool = false, handleUnknown: HandleUnknown = .deny, catalog: OpCatalog? = nil,
    tree: TreeOptions = TreeOptions(), xenRelease: XenRelease? = nil, warningsAsErrors: Set<DiagnosticID> = []
  ) {
    self.policyVersion = policyVersion
    self.mls = mls
    self.handleUnknown = handleUnknown
    self.catalog = catalog
    self.tree = tree
    self.xenRelease = xenRelease
    self.warningsAsErrors = warningsAsErrors
  }

  public var checkOptions: CheckOptions {
    let opRules: (any OpRuleExpanding)? =
      catalog.map { OpRuleExpander(catalog: $0) } ?? deferredCatalog.map { DeferredOpRuleExpander(deferred: $0) }
    var options = CheckOptions(mls: mls, policyVersion: policyVersion, opRules: opRules, tree: tree, xenRelease: xenRelease)
    options.maxInputSize = maxInputSize
    return options
  }
  var sepolOptions: SepolBuildOptions {
    SepolBuildOptions(policyVersion: policyVersion, mls: mls, handleUnknown: handleUnknown)
  }
}

/// Everything a build produced: the front end's artefacts, the binary (when
/// there were no errors), its summary, and every diagnostic.
public struct BuildOutcome: Sendable {
  public var frontend: FrontendResult
  public var binary: [UInt8]?
  public var summary: PolicySummary?
  public var diagnostics: DiagnosticList
  public var timings: [(pass: FrontendPass, seconds: Double)]

  /// True when the failure is about reaching the input, not about the policy.
  public var isInputError: Bool { diagnostics.hasInputErrors }
}

/// The compiler pipeline: the policy front end, then libsepol for the binary
/// Xen loads: by default a policydb built from the model directly
/// (`PolicydbLowering`), or through CIL (`Backend.cil`), whose messages are
/// mapped back to the policy lines their CIL lines came from.
public enum PolicyBuilder {
  /// The name libsepol sees for the generated CIL; its line numbers are mapped back.
  static let cilName = "xsmc-lowered.cil"

  /// The binary policy at `path`: a binary file (it starts with Xen's
  /// policy magic) as it is, a tree or policy.conf built. Nil with the
  /// build's diagnostics when it does not build.
  public static func binaryPolicy(at path: String, options: BuildOptions) async -> ([UInt8]?, DiagnosticList) {
    if let bytes = BinaryPolicy.bytes(ofFileAt: path) { return (bytes, DiagnosticList()) }
    return await compiledBinary(PolicySource.path(path), options: options)
  }

  /// The binary `source` compiles to; nil with the build's diagnostics when it does not build.
  public static func compiledBinary(_ source: PolicySource, options: BuildOptions) async -> ([UInt8]?, DiagnosticList) {
    let outcome = await build(source, options: options)
    return (outcome.diagnostics.hasErrors ? nil : outcome.binary, outcome.diagnostics)
  }

  public static func build(_ source: PolicySource, options: BuildOptions, compile: Bool = true) async -> BuildOutcome {
    // CIL text is made only where it is used: the CIL backend and `--emit`.
    var frontend = PolicyFrontend.run(source, options: options.checkOptions, lower: options.backend == .cil || !compile)
    // The model the policydb backend lowers; when nothing reads the syntax tree later, this is
    // its only holder, handed over so the lowering frees the tree before the binary is written.
    var lowered = compile && options.backend == .policydb ? frontend.model : nil
    if compile && !options.keepsSourceText {
      frontend.expandedText = nil
      // Lines for later diagnostics are read from the file again, as for a tree's files.
      if case .file(let path) = source { frontend.sourceMap.forget(file: path) }
      frontend.syntax = nil
      frontend.parsedSyntax = nil
      frontend.model?.syntax = PolicySyntax(statements: [])
    }
    var outcome = BuildOutcome(
      frontend: frontend, binary: nil, summary: nil,
      diagnostics: frontend.diagnostics.promotingWarnings(options.warningsAsErrors), timings: frontend.timings)
    guard compile, !outcome.diagnostics.hasErrors else { return outcome }
    switch options.backend {
    case .policydb:
      guard let model = lowered else { return outcome }
      lowered = nil
      let built = await buildPolicydb(consume model, options: options)
      outcome.binary = built.binary
      outcome.summary = built.summary
      outcome.timings += built.timings
      outcome.diagnostics.append(contentsOf: MacroDiagnostics.withExpansionNotes(built.diagnostics, map: frontend.macroExpansions))
    case .cil:
      guard let cil = frontend.cil else { return outcome }
      let start = ContinuousClock.now
      let result = await compileCIL(cil, options: options.sepolOptions)
      outcome.timings.append((.libsepol, seconds(since: start)))
      compiled(result, cil: cil, into: &outcome)
    }
    outcome.diagnostics = PolicyFrontend.attach(outcome.diagnostics, frontend.sourceMap)
      .promotingWarnings(options.warningsAsErrors)
    return outcome
  }

  private static func seconds(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start) / .seconds(1)
  }

  /// The direct backend: the policydb from the model, then its binary and
  /// summary; the policydb is freed before this returns.
  @SepolActor
  private static func buildPolicydb(_ model: consuming PolicyModel, options: BuildOptions)
    -> (binary: [UInt8]?, summary: PolicySummary?, diagnostics: [Diagnostic], timings: [(pass: FrontendPass, seconds: Double)])
  {
    let start = ContinuousClock.now
    guard var lowering = PolicydbLowering(model: consume model, options: options) else {
      return (nil, nil, [Diagnostic(.sepol.outOfMemory, .error, "libsepol could not allocate a policydb")], [])
    }
    do {
      try lowering.run()
    } catch {
      return (nil, nil, lowering.diagnostics, [(.policydb, seconds(since: start))])
    }
    let built = ContinuousClock.now
    var timings: [(pass: FrontendPass, seconds: Double)] = [(.policydb, seconds(since: start))]
    guard let policydb = lowering.policydb else { return (nil, nil, lowering.diagnostics, timings) }
    do {
      let binary = try BuiltPolicydb.binary(of: policydb)
      let summary = BuiltPolicydb.summary(of: policydb)
      timings.append((.write, seconds(since: built)))
      return (binary, summary, lowering.diagnostics, timings)
    } catch {
      return (nil, nil, lowering.diagnostics + [Diagnostic(error.id, .error, "libsepol: \(error.message)")], timings)
    }
  }

  /// What the CIL backend's result adds to `outcome`: the binary and summary,
  /// or libsepol's messages mapped back to the policy lines.
  private static func compiled(
    _ result: Result<([UInt8], PolicySummary, [SepolMessage]), SepolError>, cil: CILOutput, into outcome: inout BuildOutcome
  ) {
    let frontend = outcome.frontend
    switch result {
    case .success(let (binary, summary, messages)):
      outcome.binary = binary
      outcome.summary = summary
      let warnings = messages.map { diagnostic(for: $0, cil: cil, severity: .warning) }
      outcome.diagnostics.append(contentsOf: MacroDiagnostics.withExpansionNotes(warnings, map: frontend.macroExpansions))
    case .failure(let error):
      // libsepol reports the cause first and its consequences after
      // ("Failed to resolve AST"); keep the located ones, else all of them.
      let all = neverallowDiagnostics(error.messages, cil: cil)
        ?? error.messages.map { diagnostic(for: $0, cil: cil, severity: .error) }
      var mapped = all.filter { $0.span != nil }
      if mapped.isEmpty { mapped = all }
      if mapped.isEmpty {
        mapped = [Diagnostic(error.id, .error, "libsepol: \(error.message)")]
      }
      outcome.diagnostics.append(contentsOf: MacroDiagnostics.withExpansionNotes(mapped, map: frontend.macroExpansions))
    }
  }

  @SepolActor
  private static func compileCIL(_ cil: CILOutput, options: SepolBuildOptions) -> Result<([UInt8], PolicySummary, [SepolMessage]), SepolError> {
    do {
      let compiled = try CILCompiler.compile([(name: cilName, text: cil.text)], options: options)
      let summary = try BinaryPolicy(binary: compiled.binary).summary
      return .success((compiled.binary, summary, compiled.messages))
    } catch {
      return .failure(error)
    }
  }

  /// Turns one libsepol message into a diagnostic at the policy line its CIL line came from.
  static func diagnostic(for message: SepolMessage, cil: CILOutput, severity: Severity) -> Diagnostic {
    var text = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
    var span: SourceSpan?
    if let (range, line) = cilReference(in: text) {
      span = cil.span(ofLine: line)
      // Drop the reference to generated CIL; the span says where instead.
      var cut = text[..<range.lowerBound]
      for suffix in [" at ", " at line ", "at "] where cut.hasSuffix(suffix) { cut = cut.dropLast(suffix.count) }
      text = String(cut).trimmingCharacters(in: .whitespaces)
    }
    if text.hasSuffix(".") { text.removeLast() }
    let lower = text.prefix(1).lowercased() + text.dropFirst()
    let id: DiagnosticID = lower.contains("neverallow") ? .sepol.neverallow : .sepol.compile
    return Diagnostic(id, severity, "libsepol: \(lower)", span: span,
      label: span == nil ? nil : (id == .sepol.neverallow ? "rule violated" : "from this statement"))
  }

  /// libsepol reports a neverallow violation as "neverallow check failed at
  /// CIL:N" followed by the offending rules ("allow at CIL:M"). Each offending
  /// rule becomes one diagnostic at its policy line, with a note at the neverallow.
  static func neverallowDiagnostics(_ messages: [SepolMessage], cil: CILOutput) -> [Diagnostic]? {
    let lines = messages.flatMap { $0.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } }
    var result: [Diagnostic] = []
    var neverallow: SourceSpan?
    for (index, text) in lines.enumerated() {
      guard let (_, line) = cilReference(in: text) else { continue }
      if text.hasPrefix("neverallow check failed") {
        neverallow = cil.span(ofLine: line)
      } else if let never = neverallow, let kind = text.split(separator: " ").first,
        ["allow", "auditallow", "dontaudit"].contains(String(kind)), text.contains(" at ")
      {
        let rule = index + 1 < lines.count ? lines[index + 1] : ""
        result.append(
          Diagnostic(.sepol.neverallow, .error, "rule grants what a neverallow forbids",
            span: cil.span(ofLine: line), label: "violates a neverallow",
            help: rule.isEmpty ? nil : "libsepol's expansion of the offending rule: `\(rule)`",
            notes: [DiagnosticNote("the neverallow it violates", span: never)]))
      }
    }
    return result.isEmpty ? nil : result
  }

  /// Where `text` names a line of the generated CIL, as `xsmc-lowered.cil:N`
  /// or as CIL's parser does (`at line N of xsmc-lowered.cil`): the range of
  /// the reference and the line number.
  static func cilReference(in text: String) -> (Range<String.Index>, Int)? {
    if let range = text.range(of: "\(cilName):"), let line = Int(text[range.upperBound...].prefix { $0.isNumber }) {
      return (range, line)
    }
    guard let name = text.range(of: " of \(cilName)") else { return nil }
    let before = text[..<name.lowerBound]
    let digits = before.reversed().prefix { $0.isNumber }.count
    let lineWord = before.dropLast(digits)
    guard digits > 0, lineWord.hasSuffix("line "), let line = Int(before.suffix(digits)) else { return nil }
    return (text.index(lineWord.endIndex, offsetBy: -"line ".count)..<name.upperBound, line)
  }
}
