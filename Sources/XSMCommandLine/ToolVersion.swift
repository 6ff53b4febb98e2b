import XSMBuildInfo
import XSMPolicy

/// The text `--version` prints for each of the three programs: the release,
/// the git revision it was built from, the libsepol it links and what it reads
/// and writes.
public enum ToolVersion {
  /// `xsmc 0.1.0 (git 444a5d4c1e2f)` and lines naming libsepol, the binary
  /// policy versions and the Xen releases the classes are checked against.
  public static func text(for tool: String) -> String {
    var head = "\(tool) \(BuildInfo.version)"
    if let revision = BuildInfo.gitRevision { head += " (git \(revision))" }
    let releases = XenABIHistory.releases
    let xen = "\(releases.first?.version ?? "?") to \(XenABIHistory.newestRelease.version) and dev (\(XenABIHistory.development.version))"
    return """
      \(head)
      libsepol \(BuildInfo.libsepolVersion ?? "(version unknown at build time)")
      binary policy versions xsmc writes: 30 (default) and 24
      Xen releases known: \(xen)
      """
  }
}
