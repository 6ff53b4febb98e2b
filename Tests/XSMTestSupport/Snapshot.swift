import Foundation

/// Golden files for command output and JSON: the expected text lives in
/// `Tests/Snapshots/NAME`, so a renamed field or a changed line shows up as
/// a failing comparison. `XSM_UPDATE_SNAPSHOTS=1` writes the actual text
/// instead (then review the diff before committing).
public enum Snapshot {
  /// The directory of every golden file.
  public static let directory = TestEnvironment.path("Tests/Snapshots")

  /// Nil when `actual` equals the golden file `name` (or it was just
  /// written on request), else what differs: the first differing line of
  /// each, or that the golden file is missing.
  public static func difference(_ actual: String, named name: String) -> String? {
    let path = directory + "/" + name
    if ProcessInfo.processInfo.environment["XSM_UPDATE_SNAPSHOTS"] == "1" {
      do {
        try FileManager.default.createDirectory(
          atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try actual.write(toFile: path, atomically: true, encoding: .utf8)
        return nil
      } catch {
        return "cannot write the snapshot `\(path)`: \(error)"
      }
    }
    guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
      return "no snapshot `Tests/Snapshots/\(name)`; run the test with XSM_UPDATE_SNAPSHOTS=1 to record it"
    }
    guard expected != actual else { return nil }
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for (number, (want, got)) in zip(expectedLines, actualLines).enumerated() where want != got {
      return "`Tests/Snapshots/\(name)` line \(number + 1): expected `\(want)`, got `\(got)`"
    }
    return "`Tests/Snapshots/\(name)` has \(expectedLines.count) lines, the output \(actualLines.count)"
  }
}
