extension DiagnosticID {
  /// `fmt.*`: what `xsmc fmt` cannot format, or leaves as it is.
  public static let fmt = Format()

  /// Ids for the policy formatter (`xsmc fmt`).
  public struct Format: DiagnosticIDGroup {
    public static let phase = "fmt"
    public static let title = "Formatting policy sources"
    public static let summary = """
      Reported by `xsmc fmt`, located in the file it formats; a file with an error is left untouched. \
      Unreadable and non-UTF-8 files are `io.*` errors. Tests: `Tests/XSMBuildTests/FormatTests.swift`. \
      The rules are in [fmt.md](fmt.md).
      """

    public let unbalanced = DiagnosticID(
      "fmt.unbalanced",
      "a `{`, `(` or m4 quote without its partner outside quoted text, a `'` that closes no quote, a bracket closed by "
        + "another kind, or an unterminated string")
    public let leftAsIs = DiagnosticID(
      "fmt.left-as-is",
      "(warning) a region kept byte for byte because m4 reads it differently from how it looks: a quote character in a "
        + "comment or string inside a quoted body, brackets an m4 quote splits, or `changequote`")
  }
}
