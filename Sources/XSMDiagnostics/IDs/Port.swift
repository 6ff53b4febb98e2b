extension DiagnosticID {
  /// `port.*`: what `xsmc port` could not move from one Xen release to another.
  public static let port = Port()

  /// Ids for the permissions `xsmc port` leaves for a person to decide.
  public struct Port: DiagnosticIDGroup {
    public static let phase = "port"
    public static let title = "Porting between Xen releases"
    public static let summary = """
      Reported by `xsmc port --from A --to B` (warnings: the port still writes what it could). \
      Tests: `Tests/XSMBuildTests/XenABITests.swift`.
      """

    public let removedPermission = DiagnosticID(
      "port.removed-permission",
      "(warning) a permission the target release does not have: removed on the way, or added after it when porting back")
    public let ambiguousRename = DiagnosticID(
      "port.ambiguous-rename",
      "(warning) a permission renamed in one class that another class of the target still has under the old name")
  }
}
