extension DiagnosticID {
  /// `check.*`: well-formed statements that make no valid Xen policy.
  public static let check = Check()

  /// Ids for the semantic checks run after names resolve.
  public struct Check: DiagnosticIDGroup {
    public static let phase = "check"
    public static let title = "Checks"
    public static let summary = """
      Well-formed statements that make no valid Xen policy. Tests: `Tests/XSMPolicyTests/NegativeTests.swift`.
      """

    public let expectedType = DiagnosticID(
      "check.expected-type",
      "an attribute where one type is needed (type rule result, context, typeattribute subject)")
    public let expectedAttribute = DiagnosticID("check.expected-attribute", "a type where an attribute is needed")
    public let misplacedSelf = DiagnosticID("check.misplaced-self", "`self` outside a rule's target")
    public let statementInConditional = DiagnosticID(
      "check.statement-in-conditional", "declarations, neverallow or nested `if` inside an `if` block")
    public let mlsDisabled = DiagnosticID(
      "check.mls-disabled", "MLS statements or ranges in a non-MLS build (use `--mls`)")
    public let mlsRangeMissing = DiagnosticID(
      "check.mls-range-missing", "a context or user without a range in an MLS build")
    public let mlsRequired = DiagnosticID(
      "check.mls-required", "an MLS build without sensitivities, or a sensitivity missing from dominance")
    public let mlsOperand = DiagnosticID("check.mls-operand", "a constraint compares a level with something else")
    public let constraintOperator = DiagnosticID(
      "check.constraint-operator", "a constraint operator that cannot compare its operands")
    public let constraintOperand = DiagnosticID(
      "check.constraint-operand", "constraint operands that cannot be compared with each other")
    public let needsPolicyVersion = DiagnosticID(
      "check.needs-policy-version",
      "devicetreecon with `--policy-version 24` (a warning: the label is dropped, as checkpolicy does) "
        + "or 64-bit iomem (an error)")
    public let invalidContext = DiagnosticID(
      "check.invalid-context",
      "a context (initial SID or device label) whose user may not take its role or whose role may not take its type")
    public let outOfRange = DiagnosticID("check.out-of-range", "an I/O port beyond 0xffff or an IRQ beyond 32 bits")
    public let mlsWithoutConstraints = DiagnosticID(
      "check.mls-without-constraints",
      "(warning) an MLS policy with no `mlsconstrain` or `mlsvalidatetrans`: xsmc and Xen accept it, "
        + "checkpolicy's grammar rejects it")
    public let classWithoutPermissions = DiagnosticID(
      "check.class-without-permissions", "a class declared but never given an access vector")
    public let sidWithoutContext = DiagnosticID(
      "check.sid-without-context", "an initial SID without a context (Xen refuses such a policy)")
    public let missingDeclarations = DiagnosticID(
      "check.missing-declarations", "no classes, no initial SIDs or no users at all")
    public let emptyPermissionSet = DiagnosticID(
      "check.empty-permission-set", "(warning) a rule whose permission set is empty after `~`/`-`")
    public let xenAbi = DiagnosticID(
      "check.xen-abi",
      "(warning) the first 13 classes or their permission bits differ from Xen's, "
        + "so Xen's `validate_classes` will refuse the policy")
  }
}
