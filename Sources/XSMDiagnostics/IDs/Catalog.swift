extension DiagnosticID {
  /// `catalog.*`: the op catalog's `.ops` files.
  public static let catalog = Catalog()

  /// Ids for loading and checking the op catalog.
  public struct Catalog: DiagnosticIDGroup {
    public static let phase = "catalog"
    public static let title = "Op catalog"
    public static let summary = """
      Reported by every command that loads the catalog (`xsmc ops`, `xsmc docs`, `xsmc build` when the policy \
      has op rules), located in the `.ops` file. Tests: `Tests/XSMCatalogTests/LoaderTests.swift`. The format is \
      in [catalog-format.md](catalog-format.md).
      """

    public let io = DiagnosticID(
      "catalog.io", "the catalog directory or a file cannot be read", exit: .unreadableInput)
    public let outsideOp = DiagnosticID("catalog.outside-op", "a key before any `op`/`split` line")
    public let unknownKey = DiagnosticID("catalog.unknown-key", "a key the format does not have (did-you-mean)")
    public let repeatedKey = DiagnosticID("catalog.repeated-key", "a single-valued key given twice")
    public let missingArgument = DiagnosticID("catalog.missing-argument", "a key without its value")
    public let extraArgument = DiagnosticID("catalog.extra-argument", "a key with words left over after its value")
    public let badName = DiagnosticID("catalog.bad-name", "an op name or alias that is not `family.name`")
    public let badHypercall = DiagnosticID(
      "catalog.bad-hypercall", "a `hypercall` line that is not `__HYPERVISOR_name NUMBER` or `none`")
    public let badSubop = DiagnosticID(
      "catalog.bad-subop", "a `subop` line that is not `CONSTANT NUMBER [| CONSTANT NUMBER...]`")
    public let badNumber = DiagnosticID("catalog.bad-number", "a sub-op or split number that is not a number or range")
    public let badHook = DiagnosticID("catalog.bad-hook", "a hook name that is not `xsm_*` (or `none`)")
    public let badFlask = DiagnosticID("catalog.bad-flask", "`flask` with a word other than `none` or `unclassified`")
    public let badSilo = DiagnosticID("catalog.bad-silo", "a `silo` line that does not name two domains")
    public let badClass = DiagnosticID(
      "catalog.bad-class", "an op class other than privileged, logical or mixed (did-you-mean)")
    public let badCondition = DiagnosticID("catalog.bad-condition", "`if` or `unless` without a condition word")
    public let badInherit = DiagnosticID("catalog.bad-inherit", "`inherit` on an op that is not a `split` op")
    public let badArg = DiagnosticID(
      "catalog.bad-arg", "an `arg` line that does not follow its form (unknown kind, with did-you-mean)")
    public let badGate = DiagnosticID(
      "catalog.bad-gate", "a `gate` line that does not follow its form (unknown requirement, with did-you-mean)")
    public let badDenial = DiagnosticID(
      "catalog.bad-denial", "a `denial` line that does not follow its form (unknown channel)")
    public let missingSource = DiagnosticID(
      "catalog.missing-source", "a `gate` or `denial` without `at FILE FUNCTION` citing Xen's source")
    public let undeclaredArgument = DiagnosticID(
      "catalog.undeclared-argument",
      "an op with `arg` lines whose checks, dummy steps, silo rule or gates name a party none of them declares; "
        + "an `other-vcpu` gate without a `vcpu` argument")
    public let badDummy = DiagnosticID(
      "catalog.bad-dummy", "a dummy step that does not follow `ACTION [S -> O] [if|unless C]`")
    public let badCheck = DiagnosticID("catalog.bad-check", "a check that does not follow `CLASS:PERM S -> O [if C]`")
    public let unknownEndpoint = DiagnosticID(
      "catalog.unknown-endpoint", "a subject or object outside the vocabulary (did-you-mean)")
    public let unknownTarget = DiagnosticID(
      "catalog.unknown-target", "a target kind outside the vocabulary (did-you-mean)")
    public let duplicateName = DiagnosticID(
      "catalog.duplicate-name", "an op name or alias defined twice (note at the first)")
    public let duplicateNumber = DiagnosticID(
      "catalog.duplicate-number",
      "two legacy ops with the same sub-op numbers in one hypercall, or two split ops with one number in a family")
    public let missingKey = DiagnosticID(
      "catalog.missing-key",
      "an entry without `class`, `summary`, `hook`, `dummy` (hooked), `hypercall` (legacy) or `number` (split); "
        + "a coverage block without `summary`")
    public let splitKey = DiagnosticID("catalog.split-key", "`replaces`, `inherit` or `number` on a legacy op")
    public let noFlask = DiagnosticID(
      "catalog.no-flask", "a hooked op with neither checks nor `flask none|unclassified`, or with both")
    public let checkWithoutHook = DiagnosticID("catalog.check-without-hook", "checks on a path without a hook")
    public let dummyWithoutHook = DiagnosticID("catalog.dummy-without-hook", "a dummy rule on a path without a hook")
    public let unknownOp = DiagnosticID(
      "catalog.unknown-op", "`replaces` or `inherit` naming an op that is not a legacy op")
    public let uncovered = DiagnosticID(
      "catalog.uncovered", "a legacy op that no split op replaces and no `unsplit`/`retire` block covers")
    public let splitMixed = DiagnosticID("catalog.split-mixed", "(warning) a split op still classed `mixed`")
    public let unusedCoverage = DiagnosticID(
      "catalog.unused-coverage", "(warning) an `unsplit`/`retire` pattern that matches no legacy op")
    public let badLayout = DiagnosticID(
      "catalog.bad-layout",
      "a `layout`, `field` or `reserved` line that does not follow its form, or a key outside a layout's keys")
    public let layoutUnknownType = DiagnosticID(
      "catalog.layout-unknown-type", "a payload field of a type the layout rules do not have (did-you-mean)")
    public let layoutMisaligned = DiagnosticID(
      "catalog.layout-misaligned", "a payload field whose offset is not a multiple of its type's size")
    public let layoutHole = DiagnosticID(
      "catalog.layout-hole", "bytes of a payload layout that no field covers (padding must be a `reserved` field)")
    public let layoutOverlap = DiagnosticID(
      "catalog.layout-overlap", "a payload field that starts inside the previous one, or a field name used twice")
    public let layoutSize = DiagnosticID(
      "catalog.layout-size", "a layout whose stated size is not its last field's end, or not a multiple of 8")
    public let layoutBufferWithoutLength = DiagnosticID(
      "catalog.layout-buffer-without-length",
      "a `handle` field without `in|out LENGTH`, or whose length field is missing or not a plain `u32`")
    public let layoutReservedType = DiagnosticID(
      "catalog.layout-reserved-type", "a `reserved` field of a type whose only valid value is not zero (not u8-u64)")
    public let layoutVersion = DiagnosticID(
      "catalog.layout-version", "a request layout that does not start with `u32 version`, or a reply that has one")
    public let layoutOp = DiagnosticID(
      "catalog.layout-op",
      "a layout for an op that is not a split op, given twice, or without its other half (request or reply)")
    public let unknownClass = DiagnosticID(
      "catalog.unknown-class", "a check naming a class the compiled policy does not declare (`xsmc ops --policy`)")
    public let unknownPermission = DiagnosticID(
      "catalog.unknown-permission",
      "a check naming a permission the compiled policy does not declare (`xsmc ops --policy`)")
  }
}
