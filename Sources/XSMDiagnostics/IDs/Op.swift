extension DiagnosticID {
  /// `op.*`: op rules in the policy language.
  public static let op = Op()

  /// Ids for `allow`, `auditallow`, `dontaudit` and `neverallow` rules on the pseudo-class `op`.
  public struct Op: DiagnosticIDGroup {
    public static let phase = "op"
    public static let title = "Op rules"
    public static let summary = """
      `allow`, `auditallow`, `dontaudit` and `neverallow` with the pseudo-class `op` name ops instead of \
      permissions (`allow dom0_t domU_t : op { domctl.pause domctl.unpause };`). Each op expands through the op \
      catalog into the class rules its Flask checks need. Tests: `Tests/XSMCatalogTests/OpRuleTests.swift`.
      """

    public let noCatalog = DiagnosticID("op.no-catalog", "the policy has op rules but no op catalog could be loaded")
    public let unknownOp = DiagnosticID(
      "op.unknown-op", "an op name the catalog does not know (did-you-mean over names and aliases)")
    public let mixedClasses = DiagnosticID("op.mixed-classes", "an op rule that names another class besides `op`")
    public let badSet = DiagnosticID("op.bad-set", "`*`, `~` or `-` in an op rule's op list")
    public let noHook = DiagnosticID("op.no-hook", "(warning) the op passes no XSM hook; no rule grants or forbids it")
    public let unclassified = DiagnosticID(
      "op.unclassified", "(warning) flask has no case for the op; handle_unknown decides it")
    public let noCheck = DiagnosticID("op.no-check", "(warning) the op's hook checks nothing under flask")
    public let partialExpansion = DiagnosticID(
      "op.partial-expansion",
      "(warning) checks an op rule cannot express (device labels, checks made for a third domain), named one by one")
  }
}
