extension DiagnosticID {
  /// `testfile.*`: the policy test files `xsmc test` runs.
  public static let testfile = PolicyTest()

  /// Ids for policy test files (`xsmc test`, docs/policy-tests.md).
  public struct PolicyTest: DiagnosticIDGroup {
    public static let phase = "testfile"
    public static let title = "Policy test files"
    public static let summary = """
      What a policy test file (`xsmc test`) says, checked after its TOML reads, then against the host \
      and the op catalog it is run on. Tests: `Tests/XSMBuildTests/PolicyTestTests.swift`.
      """

    public let io = DiagnosticID(
      "testfile.io", "the test file is missing, a directory, unreadable or not UTF-8 text", exit: .unreadableInput)
    public let unknownKey = DiagnosticID(
      "testfile.unknown-key", "a key test files do not have, or one in the wrong table (did-you-mean)")
    public let missingKey = DiagnosticID(
      "testfile.missing-key", "no case, a case without `name` or an expectation, an expectation without `caller`, `op` or `guest`")
    public let wrongType = DiagnosticID(
      "testfile.wrong-type", "a value of the wrong type (a number for a domain, a table for `op`...)")
    public let duplicateName = DiagnosticID("testfile.duplicate-name", "two cases with one name")
    public let unknownOp = DiagnosticID("testfile.unknown-op", "an op the catalog does not have (did-you-mean)")
    public let unknownFamily = DiagnosticID(
      "testfile.unknown-family", "an op family (`family.*`, or in `coverage`) the catalog does not have (did-you-mean)")
    public let badCoverage = DiagnosticID(
      "testfile.bad-coverage", "a `coverage` requirement without `families` or `min-percent`, or a percent outside 0-100")
    public let unknownDomain = DiagnosticID(
      "testfile.unknown-domain", "a caller, target or guest no domain of the host has (did-you-mean)")
    public let badArgument = DiagnosticID(
      "testfile.bad-argument", "an op argument the op does not take, lacks or cannot read (as `xsmq can --arg`)")
    public let badHost = DiagnosticID(
      "testfile.bad-host", "the system or policy the test file names does not load")
  }
}
