extension DiagnosticID {
  /// `docs.*`: a catalog that loads but cannot be turned into bindings.
  public static let docs = Docs()

  /// Ids `xsmc docs` reports before it writes the reference and the bindings.
  public struct Docs: DiagnosticIDGroup {
    public static let phase = "docs"
    public static let title = "Generated reference and bindings"
    public static let summary = """
      Reported by `xsmc docs` for a catalog that loads but whose ops cannot get distinct numeric ids or \
      identifiers. Tests: `Tests/XSMCatalogTests/GeneratedTests.swift`.
      """

    public let idOverflow = DiagnosticID(
      "docs.id-overflow", "a hypercall, sub-op or split number that does not fit its field of the op id")
    public let idCollision = DiagnosticID("docs.id-collision", "two ops get the same op id (note at the first)")
    public let identifierClash = DiagnosticID(
      "docs.identifier-clash",
      "two ops (or aliases) get the same C, Rust or Go identifier, or a hypercall is given two numbers")
  }
}
