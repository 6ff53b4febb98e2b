import Foundation

/// What running a policy test file found: one result per case, with the
/// first question a failed case got the wrong answer to and its decision.
public struct PolicyTestReport: Sendable, Encodable {
  /// The question that broke a case, the answer and its trace.
  public struct Failure: Sendable, Encodable {
    public var caller: String
    public var op: String
    public var target: String?
    /// The op's arguments as bound, defaults included.
    public var arguments: [String]
    /// For a build case: the step of the sequence that was refused.
    public var step: String?
    public var expected: String
    public var decision: Decision
    /// For a coverage question: what was found, in words (`xsm.flask_op.load: may, but not listed: dom1`);
    /// the question above is one example of it.
    public var finding: String?
    /// `only`: callers not listed that may invoke the op; `unreachable`: the callers that may.
    public var unexpectedCallers: [String]?
    /// `only`: listed callers that may not invoke the op on any target.
    public var missingCallers: [String]?
    /// `reachable`: the ops no caller may invoke; `unreachable`: the ops some caller may.
    public var failingOps: [String]?
    /// The arguments after the target, as `xsmq can` shows them; not encoded.
    var argumentsAfterTarget: [String]

    enum CodingKeys: String, CodingKey {
      case caller, op, target, arguments, step, expected, decision, finding, unexpectedCallers, missingCallers, failingOps
    }

    init(question: OpQuestion, decision: Decision, expectedAllowed: Bool, step: String?) {
      caller = question.caller.label
      op = question.op.name
      target = question.target?.label
      arguments = question.boundArguments
      let positional = question.op.positionalArgument.map { "\($0.name)=" }
      argumentsAfterTarget = arguments.filter { argument in positional.map { !argument.hasPrefix($0) } ?? true }
      self.step = step
      expected = expectedAllowed ? "allowed" : "refused"
      self.decision = decision
    }

    /// `dom0 domctl.pausedomain dom5 (web): denied (-EACCES) under flask, expected allowed`.
    public var summary: String {
      let shown = argumentsAfterTarget
      return (step.map { "\($0): " } ?? "") + "\(caller) \(op)" + (target.map { " \($0)" } ?? "")
        + (shown.isEmpty ? "" : " (" + shown.joined(separator: " ") + ")")
        + ": \(decision.verdictText) under \(decision.module.rawValue), expected \(expected)"
    }
  }

  /// One case's outcome.
  public struct CaseResult: Sendable, Encodable {
    public var name: String
    public var expectation: PolicyTestExpectation
    /// The line of the case's `[[case]]` header.
    public var line: Int
    /// Questions asked (one per caller, op, target and module; one per build step).
    public var asked = 0
    /// Questions Xen refuses whatever the module (`invalid`): a `may-not`
    /// passes on them without the policy being asked.
    public var invalid = 0
    public var failure: Failure?
    /// Build steps left out, with why (a PV-only op on an HVM guest, no device model).
    public var skipped: [String] = []

    public var passed: Bool { failure == nil }

    init(name: String, expectation: PolicyTestExpectation, line: Int) {
      self.name = name
      self.expectation = expectation
      self.line = line
    }

    enum CodingKeys: String, CodingKey { case name, expectation, line, asked, invalid, passed, failure, skipped }

    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(name, forKey: .name)
      try container.encode(expectation, forKey: .expectation)
      try container.encode(line, forKey: .line)
      try container.encode(asked, forKey: .asked)
      if invalid > 0 { try container.encode(invalid, forKey: .invalid) }
      try container.encode(passed, forKey: .passed)
      try container.encodeIfPresent(failure, forKey: .failure)
      if !skipped.isEmpty { try container.encode(skipped, forKey: .skipped) }
    }
  }

  /// The test file as named.
  public var file: String
  /// What the cases asked, per op family and policy permission; nil unless asked for.
  public var coverage: PolicyCoverageReport?
  /// The file's `coverage` requirement, met or not; counted as one more case.
  public var requirement: PolicyCoverageResult?
  /// The host's name and the policy it ran on.
  public var host: String
  public var policy: String
  public var cases: [CaseResult]
  /// How long the cases took, host loading included; not encoded (output stays reproducible).
  public var seconds: Double

  enum CodingKeys: String, CodingKey { case file, host, policy, cases, coverageRequirement, passed, failed, coverage }

  public var passed: Int { cases.count { $0.passed } + (requirement?.passed == true ? 1 : 0) }
  public var failed: Int { cases.count { !$0.passed } + (requirement?.passed == false ? 1 : 0) }

  init(file: String, host: String, policy: String, cases: [CaseResult], seconds: Double) {
    self.file = file
    self.host = host
    self.policy = policy
    self.cases = cases
    self.seconds = seconds
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(file, forKey: .file)
    try container.encode(host, forKey: .host)
    try container.encode(policy, forKey: .policy)
    try container.encode(cases, forKey: .cases)
    try container.encodeIfPresent(requirement, forKey: .coverageRequirement)
    try container.encode(passed, forKey: .passed)
    try container.encode(failed, forKey: .failed)
    try container.encodeIfPresent(coverage, forKey: .coverage)
  }

  /// One line per case (`ok` or `FAIL` and its name); under a failure the
  /// question, the answer and its trace as `xsmq can --why` prints it.
  /// `skipped` adds the build steps left out.
  public func text(skipped showSkipped: Bool = false) -> String {
    var out = ""
    for result in cases {
      out += (result.passed ? "ok   " : "FAIL ") + result.name + "\n"
      if let failure = result.failure {
        if let finding = failure.finding {
          out += "       \(file):\(result.line): \(finding)\n"
          out += "       for example: \(failure.summary)\n"
        } else {
          out += "       \(file):\(result.line): \(failure.summary)\n"
        }
        out += failure.decision.traceText(indent: "         ")
      }
      if showSkipped { for step in result.skipped { out += "       skipped \(step)\n" } }
    }
    if let requirement {
      out += (requirement.passed ? "ok   " : "FAIL ") + requirement.name + "\n"
      for family in requirement.below { out += "       \(file):\(requirement.line): \(family)\n" }
    }
    if let coverage { out += coverage.text() }
    return out + "\(passed) passed, \(failed) failed"
  }

  /// JUnit XML for CI: one testsuite per file, one testcase per case, a
  /// `failure` with the question and the trace for each failed case.
  public static func junit(_ reports: [PolicyTestReport]) -> String {
    let tests = reports.map { $0.cases.count + ($0.requirement == nil ? 0 : 1) }.reduce(0, +)
    let failures = reports.map(\.failed).reduce(0, +)
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"\(tests)\" failures=\"\(failures)\">\n"
      + reports.map { $0.junitSuite() }.joined() + "</testsuites>\n"
  }

  /// This file's `testsuite` element.
  func junitSuite() -> String {
    func escape(_ text: String) -> String {
      text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
    var out = "  <testsuite name=\"\(escape(file))\" tests=\"\(cases.count + (requirement == nil ? 0 : 1))\" failures=\"\(failed)\" errors=\"0\" "
      + "time=\"\(String(format: "%.3f", seconds))\">\n"
    for result in cases {
      let open = "    <testcase name=\"\(escape(result.name))\" classname=\"\(escape(file))\""
      guard let failure = result.failure else {
        out += open + "/>\n"
        continue
      }
      out += open + ">\n"
      out += "      <failure message=\"\(escape(failure.finding ?? failure.summary))\" type=\"\(result.expectation.rawValue)\">"
      out += escape("\(file):\(result.line): " + (failure.finding.map { "\($0)\nfor example: " } ?? "")
        + "\(failure.summary)\n" + failure.decision.traceText(indent: "  "))
      out += "</failure>\n    </testcase>\n"
    }
    if let requirement {
      let open = "    <testcase name=\"\(escape(requirement.name))\" classname=\"\(escape(file))\""
      if requirement.passed {
        out += open + "/>\n"
      } else {
        let below = requirement.below.joined(separator: "; ")
        out += open + ">\n      <failure message=\"\(escape(below))\" type=\"coverage\">"
          + escape("\(file):\(requirement.line): \(below)") + "</failure>\n    </testcase>\n"
      }
    }
    return out + "  </testsuite>\n"
  }
}
