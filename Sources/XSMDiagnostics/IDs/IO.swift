extension DiagnosticID {
  /// `io.*`: the policy input cannot be read.
  public static let io = IO()

  /// Ids for a policy file or tree that cannot be read at all.
  public struct IO: DiagnosticIDGroup {
    public static let phase = "io"
    public static let title = "Reading the input"
    public static let summary = """
      Reported by `xsmc build` and `xsmc check` before anything is parsed. Tests: \
      `Tests/XSMBuildTests/TreeDiagnosticsTests.swift`.
      """

    public let notFound = DiagnosticID("io.not-found", "the input does not exist", exit: .unreadableInput)
    public let unreadable = DiagnosticID("io.unreadable", "the input exists but cannot be read", exit: .unreadableInput)
    public let notUtf8 = DiagnosticID(
      "io.not-utf8", "the input is not UTF-8 text: a binary policy, for example", exit: .unreadableInput)
    public let tooLarge = DiagnosticID(
      "io.too-large", "the input (a policy.conf, or m4's output for a tree) is larger than `--max-input-size`",
      exit: .unreadableInput)
  }
}
