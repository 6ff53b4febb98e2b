import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy

/// Errors made inside m4 macros of a tree: each is reported once, where the
/// text that holds it is written, with the calls as notes.
@Suite("Macro-aware tree diagnostics", .serialized)
struct MacroDiagnosticsTests {
  /// Builds a copy of the project policy after replacing, in each named file
  /// (relative to the tree), the first occurrence of a text.
  func build(replacing edits: [(file: String, old: String, new: String)]) async throws -> (BuildOutcome, String) {
    let root = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let tree = root + "/policy"
    try FileManager.default.copyItem(atPath: projectPolicyDir, toPath: tree)
    for edit in edits {
      let path = tree + "/" + edit.file
      let text = try String(contentsOfFile: path, encoding: .utf8)
      let range = try #require(text.range(of: edit.old), "`\(edit.old)` is not in \(edit.file)")
      try text.replacingCharacters(in: range, with: edit.new).write(toFile: path, atomically: true, encoding: .utf8)
    }
    return (await PolicyBuilder.build(.tree(tree), options: BuildOptions()), tree)
  }

  func errors(_ outcome: BuildOutcome) -> [Diagnostic] { outcome.diagnostics.items.filter { $0.severity == .error } }

  /// The one error of `outcome` (the test fails when there are more).
  func onlyError(_ outcome: BuildOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> Diagnostic {
    let all = errors(outcome)
    #expect(all.count == 1, "\(summary(outcome))", sourceLocation: sourceLocation)
    return try #require(all.first, sourceLocation: sourceLocation)
  }

  func summary(_ outcome: BuildOutcome) -> String {
    outcome.diagnostics.items.map { "\($0.id) \($0.span?.description ?? "-") \($0.message)" }.joined(separator: "\n")
  }

  /// A misspelt permission in `toolstack_build_steps`, which `toolstack_builds`
  /// calls: one error in the inner body, one note per call of the outer macro.
  @Test func errorInANestedMacroBodyIsReportedOnceAtTheDefinition() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("support/toolstack.spt", "allow $1 $2:domain2 { set_cpu_policy", "allow $1 $2:domain2 { set_cpuid")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "resolve.unknown-permission")
    #expect(error.span == SourceSpan(file: tree + "/support/toolstack.spt", line: 17, column: 23, endColumn: 32))
    #expect(error.sourceLine?.hasPrefix("allow $1 $2:domain2 { set_cpuid") == true)
    let definitions = "`toolstack_build_steps` (\(tree)/support/toolstack.spt:15), from `toolstack_builds` (\(tree)/support/toolstack.spt:26)"
    let messages = error.notes.map(\.message)
    #expect(messages.contains("in expansion of \(definitions), called from \(tree)/modules/domU.te:15"), "\(messages)")
    #expect(messages.contains("in expansion of \(definitions), called from \(tree)/modules/xenstore.te:11"), "\(messages)")
    #expect(messages.contains { $0.contains("from `staged_build`") }, "\(messages)")
    #expect(messages.count >= 5 && Set(messages).count == messages.count)
  }

  /// `opt_call(`xenstore_client', T)` calls the macro its argument names:
  /// the error is in `xenstore_client`'s body, the notes go through `opt_call`.
  @Test func errorInAMacroCalledThroughOptCall() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/xenstore.if", "allow xenstore_t $1:domain getdomaininfo;", "allow xenstore_t $1:domain getdomaininf;")
    ])
    let error = try onlyError(outcome)
    #expect(error.span == SourceSpan(file: tree + "/modules/xenstore.if", line: 14, column: 28, endColumn: 40))
    let viaOptCall = "in expansion of `xenstore_client` (\(tree)/modules/xenstore.if:10), from `opt_call` (\(tree)/support/util.spt:19), called from \(tree)/modules/domU.te:23"
    #expect(error.notes.map(\.message).contains(viaOptCall), "\(error.notes.map(\.message))")
  }

  /// A misspelt type passed to a macro stays at the argument, even on the
  /// second line of a call m4 attributes to its first line; the six rules
  /// that use it give one error.
  @Test func argumentTokenStaysAtTheCallsArgument() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.te", "toolstack_manages(dom0_t, domU_t)", "toolstack_manages(dom0_t,\n    domU_tt)")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "resolve.unknown-type")
    #expect(error.span == SourceSpan(file: tree + "/modules/domU.te", line: 17, column: 5, endColumn: 12))
    #expect(error.notes.isEmpty)
  }

  /// A name m4 builds from an argument (`$1_chan`) is written nowhere: the
  /// error names the call's line with no column, rather than a caret under unrelated text.
  @Test func builtNameHasTheCallLineOnly() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.if", "define(`domU_enabled')", "define(`domU_enabled')\ndefine(`bind_own_chan', `allow $1 $1_chan:event bind;')"),
      ("modules/domU.te", "toolstack_manages(dom0_t, domU_t)", "toolstack_manages(dom0_t, domU_t) bind_own_chan(domU_t)"),
    ])
    let error = try onlyError(outcome)
    #expect(error.message.contains("`domU_t_chan`"))
    #expect(error.span?.file == tree + "/modules/domU.te" && error.span?.line == 16 && error.span?.column == 0)
    #expect(error.span?.description == tree + "/modules/domU.te:16")
    let rendered = DiagnosticRenderer().human(error)
    #expect(!rendered.contains("^"), "\(rendered)")
  }

  /// A misspelt argument that m4 also builds a name from: the error at the
  /// argument stands, the line-only one about the built name follows from it.
  @Test func builtNameFromAMisspeltArgumentIsNotReportedAgain() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.if", "define(`domU_enabled')", "define(`domU_enabled')\ndefine(`bind_own_chan', `allow $1 $1_chan:event bind;')"),
      ("modules/domU.te", "toolstack_manages(dom0_t, domU_t)", "toolstack_manages(dom0_t, domU_t) bind_own_chan(domu_t)"),
    ])
    let error = try onlyError(outcome)
    #expect(error.message.contains("`domu_t`") && error.help == "did you mean `domU_t`?")
    #expect(error.span == SourceSpan(file: tree + "/modules/domU.te", line: 16, column: 49, endColumn: 55))
  }

  /// `toolstack_manages` with one argument: one arity error at the call
  /// (note at the definition) instead of an error per rule of its body.
  @Test func macroArity() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.te", "toolstack_manages(dom0_t, domU_t)", "toolstack_manages(dom0_t)")
    ])
    let error = try onlyError(outcome)
    #expect(error.id == .tree.macroArity && error.id.rawValue == "tree.macro-arity")
    #expect(error.message == "`toolstack_manages` takes 2 arguments, 1 given")
    #expect(error.span == SourceSpan(file: tree + "/modules/domU.te", line: 16, column: 1, endColumn: 26))
    #expect(error.notes.first?.span == SourceSpan(file: tree + "/support/toolstack.spt", line: 35, column: 9, endColumn: 26))
  }

  /// A call inside a macro body with too few arguments: the error is at
  /// that call (once, not once per caller), and what its expansion breaks is not reported.
  @Test func macroArityOfACallInABody() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("support/domains.spt", "toolstack_build_steps($1, $2_building)", "toolstack_build_steps($1)")
    ])
    let error = try onlyError(outcome)
    #expect(error.id == .tree.macroArity && error.message == "`toolstack_build_steps` takes 2 arguments, 1 given")
    #expect(error.span == SourceSpan(file: tree + "/support/domains.spt", line: 67, column: 1, endColumn: 26))
  }

  /// `# don't` inside a body ends the body's quote: reported at that
  /// apostrophe, and the stray text at every call is not reported again.
  @Test func apostropheInABodyComment() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("support/toolstack.spt", "allow $1 $2:domain create;\n", "allow $1 $2:domain create;\n# don't grant more here\n")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "tree.m4-quote")
    #expect(error.span == SourceSpan(file: tree + "/support/toolstack.spt", line: 28, column: 6, endColumn: 7))
    #expect(error.message == "an apostrophe in a comment ends the quoted body of `toolstack_builds`")
    #expect(error.help?.contains("no comments inside quotes") == true)
  }

  /// A `;` missing at the end of a line is reported just after that line's
  /// last token, not at the next statement (here a macro call).
  @Test func missingSemicolonAtTheEndOfItsStatement() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.te", "allow xenboot_t domU_t:domain create;", "allow xenboot_t domU_t:domain create")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "parse.expected-token" && error.message.hasPrefix("expected `;`"))
    #expect(error.span == SourceSpan(file: tree + "/modules/domU.te", line: 11, column: 37, endColumn: 38))
  }

  /// A `;` missing inside a macro body: after the body's token, with the calls as notes.
  @Test func missingSemicolonInAMacroBody() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("support/toolstack.spt", "allow $1 $2:shadow enable;", "allow $1 $2:shadow enable")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "parse.expected-token")
    #expect(error.span == SourceSpan(file: tree + "/support/toolstack.spt", line: 20, column: 26, endColumn: 27))
    #expect(error.notes.contains { $0.message.hasSuffix("called from \(tree)/modules/domU.te:15") }, "\(error.notes)")
  }

  /// libsepol's complaints are placed too: a rule in a macro body that
  /// breaks a neverallow for one caller is reported in the body, with the calls.
  @Test func neverallowViolationInAMacroBody() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("support/toolstack.spt", "define(`toolstack_manages', `\n", "define(`toolstack_manages', `\nallow $1 $2:mmu map_read;\n")
    ])
    let error = try onlyError(outcome)
    #expect(error.id.rawValue == "sepol.neverallow")
    #expect(error.span?.file == tree + "/support/toolstack.spt" && error.span?.line == 36 && error.span?.column == 1)
    #expect(error.notes.contains { $0.message.hasSuffix("called from \(tree)/modules/prot_domU.te:24") }, "\(error.notes)")
  }

  /// A permission of another class is an error; the rule granting nothing
  /// because of it is not warned about as well.
  @Test func noFollowOnWarningAfterAnError() async throws {
    let (outcome, tree) = try await build(replacing: [
      ("modules/domU.te", "allow xenboot_t domU_t:domain create;", "allow xenboot_t domU_t:domain set_cpu_policy;")
    ])
    #expect(outcome.diagnostics.items.count == 1, "\(summary(outcome))")
    let error = try #require(errors(outcome).first)
    #expect(error.id.rawValue == "resolve.unknown-permission")
    #expect(error.span == SourceSpan(file: tree + "/modules/domU.te", line: 11, column: 31, endColumn: 45))
    #expect(!outcome.diagnostics.items.contains { $0.id.rawValue == "check.empty-permission-set" })
  }

  /// The project's own policy, plain and MLS: no macro diagnostics at all.
  @Test(arguments: [false, true]) func projectPolicyHasNoMacroDiagnostics(mls: Bool) async throws {
    var options = BuildOptions()
    options.mls = mls
    let outcome = await PolicyBuilder.build(.tree(projectPolicyDir), options: options)
    #expect(outcome.diagnostics.items.isEmpty, "\(summary(outcome))")
  }
}

/// The scan itself, on texts in memory.
@Suite("Macro index")
struct MacroIndexTests {
  func index(_ files: [(String, String)]) -> MacroIndex {
    MacroIndex(scanning: files.map { M4Input(path: $0.0, text: $0.1) })
  }

  @Test func requiredArgumentsFollowTheBody() {
    let index = index([
      ("a.spt", """
        define(`plain', `allow $1 $2:domain create;')
        define(`counted', `ifelse(`$#', `1', `', `$3')')
        define(`shifting', `$1 shift($@) $4')
        define(`optional', `allow $1 $2:domain create;ifelse(`$3', `', `', `allow $1 $3:domain create;')')
        # define(`commented', `$9')
        define(`noargs', `allow a b:c d;')
        define(`passing', `plain($@) plain($1) ifdef(`x', `plain(`a', `b', `c')')')
        """)
    ])
    // Calls in bodies count too, but not those passing `$@` on; an unused
    // macro's short call is no error.
    #expect(index.calls.map(\.argumentCount) == [1, 3])
    #expect(index.shortCalls.isEmpty)
    let required = Dictionary(uniqueKeysWithValues: index.definitions.map { ($0.name, $0.requiredArguments) })
    #expect(required == ["plain": 2, "counted": 0, "shifting": 0, "optional": 2, "noargs": 0, "passing": 0])
    #expect(index.definitions.first?.nameSpan == SourceSpan(file: "a.spt", line: 1, column: 9, endColumn: 14))
    #expect(index.definitions.first { $0.name == "optional" }?.highestArgument == 3)
  }

  /// Calls are counted as m4 counts arguments, across lines, and only once
  /// the macro is defined; quoted text and comments hold no calls.
  @Test func callsAndTheirArguments() {
    let index = index([
      ("a.spt", "plain(x)\ndefine(`plain', `$1 $2')\n"),
      ("b.te", "plain(x,\n  y) plain `plain(z)' # plain(q)\nplain()\nifdef(`plain', `plain(w)')\n"),
    ])
    #expect(index.calls.map(\.argumentCount) == [2, 0, 1, 1])
    #expect(index.calls.first?.span == SourceSpan(file: "b.te", line: 1, column: 1, endLine: 2, endColumn: 5))
    #expect(index.calls.last?.span == SourceSpan(file: "b.te", line: 4, column: 17, endColumn: 25))
  }

  @Test func apostropheInACommentOfABody() {
    let index = index([
      ("a.spt", "define(`fine', `# a `quoted' word\n$1')\ndefine(`broken', `\n\t# don't\n\tallow $1 b:c d;\n')\n")
    ])
    #expect(index.quoteProblems.map(\.macro) == ["broken"])
    // Nothing calls `broken`, so the problem is a warning.
    let reported = MacroDiagnostics.apply(to: DiagnosticList(), map: MacroExpansionMap(index: index))
    #expect(reported.items.map(\.severity) == [.warning] && reported.items.first?.id.rawValue == "tree.m4-quote")
    #expect(index.quoteProblems.first?.span == SourceSpan(file: "a.spt", line: 4, column: 7, endColumn: 8))
  }
}
