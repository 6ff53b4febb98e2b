extension DiagnosticID {
  /// `tree.*`: a policy tree's files and its m4 expansion.
  public static let tree = Tree()

  /// Ids for the files of a policy tree and for running m4 over them.
  public struct Tree: DiagnosticIDGroup {
    public static let phase = "tree"
    public static let title = "Policy trees"
    public static let summary = """
      Reported when the input is a policy tree (a directory in one of the layouts xsmc reads: its own, Xen's \
      tools/flask/policy, refpolicy's). Tests: `Tests/XSMBuildTests/TreeDiagnosticsTests.swift`, \
      `Tests/XSMBuildTests/TreeLayoutTests.swift`, `Tests/XSMBuildTests/MacroDiagnosticsTests.swift`.
      """

    public let unknownLayout = DiagnosticID(
      "tree.unknown-layout", "a directory in none of the layouts xsmc reads", exit: .unreadableInput)
    public let missingClasses = DiagnosticID(
      "tree.missing-classes",
      "the hypervisor's classes are not where the layout (or `--classes`/`--xen-root`) says", exit: .unreadableInput)
    public let missingFile = DiagnosticID(
      "tree.missing-file", "a required file of a policy tree is missing", exit: .unreadableInput)
    public let badModulesLine = DiagnosticID(
      "tree.bad-modules-line", "a modules.conf line is not `name = on|off` (`base|module|off` in refpolicy trees), or repeats a module; "
        + "a warning where the layout's Makefile silently skips the line")
    public let unknownModule = DiagnosticID(
      "tree.unknown-module", "modules.conf enables a module with no `.te` file (did-you-mean); a warning in refpolicy trees, whose Makefile "
        + "leaves it out")
    public let m4 = DiagnosticID(
      "tree.m4", "m4 complained, located at m4's file and line (a warning when m4 says so)")
    public let m4Failed = DiagnosticID("tree.m4-failed", "m4 could not run, or failed without saying why")
    public let m4TimeLimit = DiagnosticID(
      "tree.m4-time-limit", "m4 ran past its time limit (`--m4-time-limit`), as a macro that calls itself without end does, and was stopped")
    public let m4OutputLimit = DiagnosticID(
      "tree.m4-output-limit", "m4 wrote more than its output limit (`--m4-output-limit`), as a macro that doubles its text does, and was stopped")
    public let m4MemoryLimit = DiagnosticID(
      "tree.m4-memory-limit", "m4 ran out of its memory limit (`--m4-memory-limit`)")
    public let m4ShellRefused = DiagnosticID(
      "tree.m4-shell-refused", "the tree calls m4's `esyscmd` or `syscmd`, which run shell commands at build time; refused without "
        + "`--allow-m4-shell`")
    public let macroArity = DiagnosticID(
      "tree.macro-arity", "a macro call passes fewer arguments than the highest `$N` its body uses")
    public let m4Quote = DiagnosticID(
      "tree.m4-quote",
      "an apostrophe in a `#` comment inside a `define` body ends the body's quote early (a warning when nothing calls the macro)")
  }
}
