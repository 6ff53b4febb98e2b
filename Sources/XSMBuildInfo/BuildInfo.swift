/// What a binary was built from, for `--version`: the git revision of the
/// checkout (nil outside a git checkout) and the libsepol it was compiled
/// against. The values come from `Scripts/build-info.sh`, run before each build.
public enum BuildInfo {
  /// The release of xsmtools these sources carry.
  public static let version = "0.1.0"
  /// Short git revision, `+changes` appended when the work tree had uncommitted changes.
  public static var gitRevision: String? { GeneratedBuildInfo.gitRevision.isEmpty ? nil : GeneratedBuildInfo.gitRevision }
  /// libsepol's version as pkg-config reported it at build time.
  public static var libsepolVersion: String? {
    GeneratedBuildInfo.libsepolVersion.isEmpty ? nil : GeneratedBuildInfo.libsepolVersion
  }
}
