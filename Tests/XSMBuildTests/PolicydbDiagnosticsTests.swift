import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// What the policydb backend refuses, each at its statement, and the same
/// verdict from the CIL backend and (where installed) checkpolicy.
@Suite("Policydb backend diagnostics")
struct PolicydbDiagnosticsTests {
  static let head = """
    class xen
    class domain
    sid xen
    sid dom0
    class xen { settime readconsole }
    class domain { pause unpause create }
    attribute domain_type;
    type xen_t;
    type dom0_t, domain_type;
    type domU_t, domain_type;
    role system_r;
    role system_r types { domain_type xen_t };
    bool guest_ok true;

    """
  static let tail = """

    user system_u roles { system_r };
    sid xen system_u:system_r:xen_t
    sid dom0 system_u:system_r:dom0_t

    """
  /// The line where `rules` start in the policy text.
  static let firstRuleLine = head.count { $0 == "\n" } + 1

  /// Builds `rules` between the declarations and the users with both
  /// backends; checks that they and checkpolicy agree on whether it builds.
  func build(_ rules: String, tail: String = PolicydbDiagnosticsTests.tail) async throws -> BuildOutcome {
    let text = Self.head + rules + tail
    let direct = await PolicyBuilder.build(.text(name: "rules.conf", text: text), options: BuildOptions())
    var cil = BuildOptions()
    cil.backend = .cil
    let viaCIL = await PolicyBuilder.build(.text(name: "rules.conf", text: text), options: cil)
    #expect(direct.diagnostics.hasErrors == viaCIL.diagnostics.hasErrors,
      "policydb: \(direct.diagnostics.items.map(\.message)); cil: \(viaCIL.diagnostics.items.map(\.message))")
    if Checkpolicy.shouldRun {
      let checkpolicyBuilds = (try? Checkpolicy.compile(text)) != nil
      #expect(checkpolicyBuilds == !direct.diagnostics.hasErrors, "checkpolicy and xsmc disagree on:\n\(rules)")
    }
    return direct
  }

  func errors(_ outcome: BuildOutcome) -> [Diagnostic] { outcome.diagnostics.items.filter { $0.severity == .error } }

  /// One neverallow error at rule line `line` (0-based within the rules) with a note at `neverallowLine`.
  func expectViolation(_ outcome: BuildOutcome, line: Int, neverallowLine: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = errors(outcome)
    #expect(found.count == 1, "\(found.map(\.message))", sourceLocation: sourceLocation)
    guard let error = found.first else { return }
    #expect(error.id == .sepol.neverallow, sourceLocation: sourceLocation)
    #expect(error.span?.line == Self.firstRuleLine + line, sourceLocation: sourceLocation)
    #expect(error.notes.first?.span?.line == Self.firstRuleLine + neverallowLine, sourceLocation: sourceLocation)
    #expect(outcome.binary == nil, sourceLocation: sourceLocation)
  }

  @Test func allowSelfBreaksANeverallowOnSelf() async throws {
    let outcome = try await build("neverallow domain_type self:domain pause;\nallow dom0_t self:domain { pause create };\n")
    expectViolation(outcome, line: 1, neverallowLine: 0)
  }

  @Test func allowOnTheSameTypeBreaksANeverallowOnSelf() async throws {
    let outcome = try await build("neverallow domain_type self:domain pause;\nallow dom0_t dom0_t:domain pause;\n")
    expectViolation(outcome, line: 1, neverallowLine: 0)
  }

  @Test func allowOnAnotherTypeKeepsANeverallowOnSelf() async throws {
    let outcome = try await build("neverallow domain_type self:domain pause;\nallow dom0_t domU_t:domain pause;\n")
    #expect(errors(outcome).isEmpty && outcome.binary != nil)
  }

  @Test func allowSelfOnAnAttributeKeepsANeverallowBetweenTwoTypes() async throws {
    let outcome = try await build("neverallow dom0_t domU_t:domain pause;\nallow domain_type self:domain pause;\n")
    #expect(errors(outcome).isEmpty && outcome.binary != nil)
  }

  @Test func allowSelfOnAnAttributeBreaksANeverallowOnOneOfItsTypes() async throws {
    let outcome = try await build("neverallow dom0_t dom0_t:domain pause;\nallow domain_type self:domain pause;\n")
    expectViolation(outcome, line: 1, neverallowLine: 0)
  }

  @Test func otherPermissionsKeepANeverallow() async throws {
    let outcome = try await build("neverallow dom0_t domU_t:domain pause;\nallow domain_type domain_type:domain unpause;\n")
    #expect(errors(outcome).isEmpty && outcome.binary != nil)
  }

  @Test func aConditionalAllowBreaksANeverallow() async throws {
    let outcome = try await build("""
      neverallow dom0_t domU_t:domain pause;
      if (guest_ok) {
        allow dom0_t domain_type:domain { pause create };
      }

      """)
    expectViolation(outcome, line: 2, neverallowLine: 0)
  }

  @Test func aContextTheRoleMayNotTakeIsLocated() async throws {
    let outcome = try await build("type other_t;\n", tail: Self.tail + "pirqcon 3 system_u:system_r:other_t\n")
    let error = try #require(errors(outcome).first)
    #expect(error.id == .check.invalidContext && error.message.contains("role `system_r` may not take type `other_t`"))
    #expect(error.span?.line == Self.firstRuleLine + 5, "\(error.span?.description ?? "")")
  }

  /// Without its `role … types` line, an initial SID's context is refused at
  /// the `sid` line by both backends (the CIL route's libsepol names no line).
  @Test func aSidContextWithoutItsRoleTypesIsLocatedOnBothBackends() async throws {
    let text = Self.head.replacingOccurrences(of: "role system_r types { domain_type xen_t };\n", with: "") + Self.tail
    let sidLine = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("sid xen system_u") }! + 1
    for backend in [Backend.policydb, .cil] {
      var options = BuildOptions()
      options.backend = backend
      let outcome = await PolicyBuilder.build(.text(name: "rules.conf", text: text), options: options)
      let error = try #require(errors(outcome).first)
      #expect(error.id == .check.invalidContext && error.span?.line == sidLine, "\(backend): \(error.id) \(error.span?.description ?? "-") \(error.message)")
    }
    if Checkpolicy.shouldRun { #expect((try? Checkpolicy.compile(text)) == nil, "checkpolicy refuses it too") }
  }

  /// Nesting at the parser's limit (`parse.too-deep` past it) builds on both
  /// backends and with checkpolicy: the limit is below libsepol's own.
  @Test func nestingAtTheParserLimitBuilds() async throws {
    let limit = Parser.maximumExpressionDepth
    let conditions = [
      String(repeating: "!", count: limit) + "guest_ok",
      String(repeating: "(", count: limit - 1) + "guest_ok" + String(repeating: ")", count: limit - 1),
      "guest_ok" + String(repeating: " && guest_ok", count: limit),
    ]
    for condition in conditions {
      let outcome = try await build("allow dom0_t xen_t:xen readconsole;\nif (\(condition)) { allow dom0_t xen_t:xen settime; }\n")
      #expect(errors(outcome).isEmpty && outcome.binary != nil, "\(condition.prefix(20)): \(errors(outcome).map(\.message))")
    }
    let constraint = "constrain domain pause " + String(repeating: "not ", count: limit) + "u1 == u2;\n"
      + "constrain domain unpause u1 == u2" + String(repeating: " and u1 == u2", count: limit) + ";\n"
    let users = "\nuser system_u roles { system_r };\n"
    let outcome = try await build("allow dom0_t xen_t:xen readconsole;\n", tail: Self.tail.replacingOccurrences(of: users, with: users + constraint))
    #expect(errors(outcome).isEmpty && outcome.binary != nil, "\(errors(outcome).map(\.message))")
  }

  @Test func aConditionalTypeTransitionConflictingWithAnotherIsLocated() async throws {
    let outcome = try await build("""
      type_transition dom0_t domU_t:domain domU_t;
      if (guest_ok) {
        type_transition dom0_t domU_t:domain xen_t;
      }

      """)
    let error = try #require(errors(outcome).first)
    #expect(error.id == .sepol.compile && error.message.contains("conflicting type_transition rules"))
    #expect(error.span?.line == Self.firstRuleLine + 2 && error.label == "from this statement")
  }

  @Test func aTypeBeyondItsBoundsIsReportedAtTheTypebounds() async throws {
    let outcome = try await build("typebounds dom0_t domU_t;\nallow domU_t xen_t:xen settime;\n")
    let error = try #require(errors(outcome).first)
    #expect(error.id == .sepol.compile && error.message.contains("domU_t exceeds bounds of parent dom0_t"), "\(error.message)")
    #expect(error.span?.line == Self.firstRuleLine)
  }

  /// A `.` in a type name is refused before libsepol sees it, as checkpolicy and CIL refuse it.
  @Test func aDottedTypeNameIsRefused() async throws {
    let outcome = try await build("type a.b_t;\n")
    let error = try #require(errors(outcome).first)
    #expect(error.id == .lower.unsupportedName && error.span?.line == Self.firstRuleLine && outcome.binary == nil)
  }
}
