/// One Xen release's FLASK ABI: the classes (with permissions in bit order)
/// and initial SIDs its hypervisor checks a policy against, and what changed
/// since the release before it.
public struct XenRelease: Sendable, Hashable, CustomStringConvertible {
  /// As `--xen` takes it: `4.17`, or `4.23-unstable` for the development branch.
  public var version: String
  /// The git tag (`RELEASE-4.17.0`), or `master` for the development branch.
  public var tag: String
  /// The commit the tag points to (short hash).
  public var commit: String
  /// Initial SIDs in number order (SID 1 first).
  public var initialSIDs: [String] = []
  /// Classes in number order (class 1 first).
  public var classes: [XenABI.Class] = []
  /// What changed since the previous release (empty for the first).
  public var changes: [XenABIChange] = []

  /// True for Xen's development branch (`master`).
  public var isDevelopment: Bool { version.hasSuffix("-unstable") }
  /// `Xen 4.17`, `Xen 4.23-unstable`.
  public var description: String { "Xen \(version)" }

  /// This release's classes, initial SIDs and access vectors as policy
  /// statements, in the order Xen numbers them (what security_classes,
  /// initial_sids and access_vectors declare, without their comments).
  public var declarations: String {
    classes.map { "class \($0.name)\n" }.joined() + initialSIDs.map { "sid \($0)\n" }.joined()
      + classes.map { "class \($0.name) { \($0.permissions.joined(separator: " ")) }\n" }.joined()
  }

  /// The permissions of `className` in bit order, or nil when this release has no such class.
  public func permissions(of className: String) -> [String]? {
    classes.first { $0.name == className }?.permissions
  }
}

/// A difference between a policy's classes and a release's that makes Xen
/// refuse the policy (`validate_classes`, xen/xsm/flask/ss/services.c):
/// Xen's class i must be the policy's class i, and each of Xen's permissions
/// must sit at the same bit of that class. Extra classes and permissions are
/// fine.
public enum XenClassMismatch: Sendable, Hashable, CustomStringConvertible {
  /// The policy has only `classCount` classes; Xen's class `number` is `expected`.
  case missingClass(number: Int, expected: String, classCount: Int)
  /// The policy's class `number` is `found`, Xen's is `expected`.
  case wrongClass(number: Int, expected: String, found: String)
  /// Xen's permission bit `bit` of `className` is `expected`; the policy has
  /// `found` there, or nil when its class ends before that bit.
  case wrongPermission(className: String, bit: Int, expected: String, found: String?)

  /// Whether this is about a class rather than a permission (Xen checks every class first).
  public var isClass: Bool {
    if case .wrongPermission = self { return false }
    return true
  }

  /// `class 3 is `hvm` but Xen expects `resource``, in Xen's terms.
  public var description: String {
    switch self {
    case .missingClass(let number, let expected, let count):
      "class \(number) `\(expected)` is not defined in the policy (it has \(count) classes)"
    case .wrongClass(let number, let expected, let found):
      "class \(number) is `\(found)`, but Xen expects `\(expected)`"
    case .wrongPermission(let cls, let bit, let expected, let found):
      "permission bit \(bit) of class `\(cls)` is " + (found.map { "`\($0)`" } ?? "not defined")
        + ", but Xen expects `\(expected)`"
    }
  }
}

extension XenRelease {
  /// What `validate_classes` would find in a policy with classes
  /// `classOrder` (class 1 first) and `permissions` (in bit order): the
  /// first wrong or missing class ends the list, and each class contributes
  /// its first wrong permission. Empty when this release loads the policy.
  public func classMismatches(classOrder: [String], permissions: (String) -> [String]) -> [XenClassMismatch] {
    var found: [XenClassMismatch] = []
    for (index, expected) in classes.enumerated() {
      guard index < classOrder.count else {
        found.append(.missingClass(number: index + 1, expected: expected.name, classCount: classOrder.count))
        break
      }
      let actual = classOrder[index]
      guard actual == expected.name else {
        found.append(.wrongClass(number: index + 1, expected: expected.name, found: actual))
        break
      }
      let ours = permissions(actual)
      if let bit = expected.permissions.indices.first(where: { $0 >= ours.count || ours[$0] != expected.permissions[$0] }) {
        found.append(.wrongPermission(className: actual, bit: bit, expected: expected.permissions[bit],
          found: bit < ours.count ? ours[bit] : nil))
      }
    }
    return found
  }

  /// The difference Xen reports first (it checks every class before any permission), nil when it loads the policy.
  public func refusal(classOrder: [String], permissions: (String) -> [String]) -> XenClassMismatch? {
    let all = classMismatches(classOrder: classOrder, permissions: permissions)
    return all.first(where: \.isClass) ?? all.first
  }
}

/// One change between two consecutive releases, with the Xen commit that made it.
public struct XenABIChange: Sendable, Hashable {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    case renamed, removed, added
    case addedClass = "added-class"
    case removedClass = "removed-class"
    case addedSID = "added-sid"
    case removedSID = "removed-sid"
  }
  public var kind: Kind
  /// The first release with the change.
  public var release: String
  /// The permission's class; for class and SID changes, the class or SID itself.
  public var className: String
  /// The permission (the old name of a renamed one); empty for class and SID changes.
  public var permission: String
  /// The new name of a renamed permission.
  public var newName: String?
  /// Short hash of the Xen commit.
  public var commit: String
  /// The commit's subject line.
  public var subject: String
  /// For a removed permission: what to use instead, in words.
  public var instead: String?

  /// `commit a58cad2d36 ("Rename PSR ...")`.
  public var citation: String { "commit \(commit) (\"\(subject)\")" }
}

/// Xen's FLASK ABI from 4.8 to the development branch, read from
/// `data/xen-abi-history.txt` (compiled in as ``XenABIHistoryData``;
/// `Scripts/xen-abi-history.sh` regenerates the file from Xen's git history).
public enum XenABIHistory {
  /// Where the history lives in the repository.
  public static let dataPath = "data/xen-abi-history.txt"
  /// Where `xsmc docs` writes the history as a page.
  public static let pagePath = "docs/xen-abi-history.md"

  /// Every release, oldest first; the development branch last.
  public static let releases: [XenRelease] = parse(XenABIHistoryData.text).releases

  /// Xen's development branch.
  public static var development: XenRelease { releases[releases.count - 1] }

  /// The newest tagged release (not the development branch).
  public static var newestRelease: XenRelease { releases.last { !$0.isDevelopment } ?? development }

  /// The names `--xen` accepts, for usage messages: each version, then `dev`.
  public static var knownNames: [String] { releases.map(\.version) + ["dev"] }

  /// The release `name` stands for: `4.17`, `4.17.0`, `RELEASE-4.17.0`, or
  /// `dev`/`unstable`/`master`/`4.23`/`4.23-unstable` for the development branch.
  public static func release(named name: String) -> XenRelease? {
    var text = name.lowercased()
    if ["dev", "unstable", "master", "development"].contains(text) { return development }
    if text.hasPrefix("release-") { text.removeFirst("release-".count) }
    if text.hasPrefix("xen-") { text.removeFirst("xen-".count) }
    if text.hasSuffix(".0"), text.split(separator: ".").count == 3 { text.removeLast(2) }
    return releases.first { $0.version == text || ($0.isDevelopment && $0.version == text + "-unstable") }
  }

  /// The changes after `from` up to and including `to` (oldest first; empty when `to` is not later).
  public static func changes(from: XenRelease, to: XenRelease, in history: [XenRelease] = releases) -> [XenABIChange] {
    guard let start = history.firstIndex(of: from), let end = history.firstIndex(of: to), start < end else { return [] }
    return history[(start + 1)...end].flatMap(\.changes)
  }

  /// The last rename or removal of `permission` in `className` (at or before
  /// `release` when one is given), or nil when no release renamed or removed it.
  public static func fate(of permission: String, in className: String, upTo release: XenRelease? = nil) -> XenABIChange? {
    let end = release.flatMap { releases.firstIndex(of: $0) } ?? releases.count - 1
    return releases[...end].flatMap(\.changes).last {
      ($0.kind == .renamed || $0.kind == .removed) && $0.className == className && $0.permission == permission
    }
  }

  /// What `permission` of `className` is called after every rename from the
  /// change `change` on (up to `release`): `psr_cat_op` → `psr_alloc`. Nil when it was removed on the way.
  public static func currentName(after change: XenABIChange, upTo release: XenRelease? = nil) -> (name: String, via: [XenABIChange])? {
    guard change.kind == .renamed, var name = change.newName else { return nil }
    var via = [change]
    let end = release.flatMap { releases.firstIndex(of: $0) } ?? releases.count - 1
    guard let start = releases.firstIndex(where: { $0.version == change.release }), start < end else { return (name, via) }
    for later in releases[(start + 1)...end] {
      for next in later.changes where next.className == change.className && next.permission == name {
        if next.kind == .removed { return nil }
        if next.kind == .renamed, let newName = next.newName {
          name = newName
          via.append(next)
        }
      }
    }
    return (name, via)
  }

  /// The releases, oldest first, whose classes `classOrder`/`permissions`
  /// are exactly (same classes first, same permissions at the same bits, no more).
  public static func releasesMatching(classOrder: [String], permissions: (String) -> [String]) -> [XenRelease] {
    releases.filter { release in
      release.classes.count <= classOrder.count
        && zip(release.classes, classOrder).allSatisfy { $0.name == $1 && $0.permissions == permissions($1) }
    }
  }

  /// `4.15 and 4.16`, `4.17 to 4.19`: consecutive releases as ranges.
  public static func describe(_ matching: [XenRelease]) -> String {
    var runs: [[XenRelease]] = []
    for release in matching {
      if let last = runs.last?.last, let index = releases.firstIndex(of: last), index + 1 < releases.count,
        releases[index + 1] == release
      {
        runs[runs.count - 1].append(release)
      } else {
        runs.append([release])
      }
    }
    let parts = runs.map { run -> String in
      switch run.count {
      case 1: run[0].version
      case 2: "\(run[0].version) and \(run[1].version)"
      default: "\(run[0].version) to \(run[run.count - 1].version)"
      }
    }
    return "Xen " + (parts.count <= 1 ? parts.joined() : parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1])
  }

  // MARK: The text format

  /// Reads the history file: releases with their classes and changes, and
  /// one message per line that does not fit the format (`line N: ...`).
  public static func parse(_ text: String) -> (releases: [XenRelease], problems: [String]) {
    var releases: [XenRelease] = []
    var problems: [String] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      func problem(_ message: String) { problems.append("line \(index + 1): \(message)") }
      if words[0] == "release" {
        guard words.count == 4 else { problem("`release` takes VERSION TAG COMMIT"); continue }
        releases.append(XenRelease(version: words[1], tag: words[2], commit: words[3]))
        continue
      }
      guard !releases.isEmpty else { problem("`\(words[0])` before the first `release`"); continue }
      let current = releases.count - 1
      let version = releases[current].version
      /// The commit and subject after `count` leading words.
      func cited(after count: Int) -> (String, String)? {
        guard words.count > count + 1 else { return nil }
        return (words[count], words[(count + 1)...].joined(separator: " "))
      }
      switch words[0] {
      case "sids":
        releases[current].initialSIDs = Array(words.dropFirst())
      case "class":
        guard words.count >= 2 else { problem("`class` takes NAME PERMISSION..."); continue }
        releases[current].classes.append(XenABI.Class(name: words[1], permissions: Array(words.dropFirst(2))))
      case "renamed":
        guard let (commit, subject) = cited(after: 4) else { problem("`renamed` takes CLASS OLD NEW COMMIT SUBJECT"); continue }
        releases[current].changes.append(XenABIChange(kind: .renamed, release: version, className: words[1],
          permission: words[2], newName: words[3], commit: commit, subject: subject))
      case "removed", "added":
        guard let (commit, subject) = cited(after: 3) else { problem("`\(words[0])` takes CLASS PERMISSION COMMIT SUBJECT"); continue }
        releases[current].changes.append(XenABIChange(kind: words[0] == "added" ? .added : .removed, release: version,
          className: words[1], permission: words[2], commit: commit, subject: subject))
      case "added-class", "removed-class", "added-sid", "removed-sid":
        guard let kind = XenABIChange.Kind(rawValue: words[0]), let (commit, subject) = cited(after: 2) else {
          problem("`\(words[0])` takes NAME COMMIT SUBJECT")
          continue
        }
        releases[current].changes.append(XenABIChange(kind: kind, release: version, className: words[1],
          permission: "", commit: commit, subject: subject))
      case "instead":
        guard words.count >= 4,
          let change = releases[current].changes.lastIndex(where: {
            $0.kind == .removed && $0.className == words[1] && $0.permission == words[2]
          })
        else { problem("`instead` names no removal of this release"); continue }
        releases[current].changes[change].instead = words[3...].joined(separator: " ")
      default:
        problem("unknown line `\(words[0])`")
      }
    }
    if releases.isEmpty { problems.append("no release") }
    return (releases, problems)
  }

  /// The Swift source that compiles the history into the tools (what `xsmc
  /// docs` writes to `Sources/XSMPolicy/Resolve/XenABIHistoryData.swift`).
  public static func swiftSource(text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    return """
      // Generated by `xsmc docs` from \(dataPath). Do not edit.

      enum XenABIHistoryData {
        static let text = \(hashes)\"\"\"
      \(text)
      \"\"\"\(hashes)
      }

      """
  }

  /// docs/xen-abi-history.md: the releases and what changed in each.
  public static func markdown(_ releases: [XenRelease] = releases) -> String {
    var out = """
      # Xen's FLASK ABI, release by release

      <!-- Generated by `xsmc docs` from \(dataPath). Do not edit: rerun Scripts/xen-abi-history.sh and `xsmc docs`. -->

      Xen refuses a FLASK policy whose first classes or permission bits differ from its own
      (`validate_classes`), and every release may rename, remove or add permissions. `xsmc build` and
      `xsmc check` compare a policy with one release (`--xen VERSION`, or the release whose classes the
      policy has), an unknown permission that an older release had is reported with its rename or
      removal, and `xsmc port --from A --to B` rewrites a policy's permission names from one release to
      another. The data is `\(dataPath)`, regenerated from Xen's git history by
      `Scripts/xen-abi-history.sh`.

      | release | tag | classes | permissions | initial SIDs | changes |
      |---|---|---|---|---|---|

      """
    for release in releases {
      let permissions = release.classes.reduce(0) { $0 + $1.permissions.count }
      out += "| \(release.version) | `\(release.tag)` (\(release.commit)) | \(release.classes.count) | \(permissions) | \(release.initialSIDs.count) | \(release.changes.count) |\n"
    }
    for release in releases.dropFirst() {
      out += "\n## \(release)\n\n"
      if release.changes.isEmpty {
        out += "No change to the classes, permissions or initial SIDs.\n"
        continue
      }
      for change in release.changes {
        let what: String
        switch change.kind {
        case .renamed: what = "`\(change.className):\(change.permission)` renamed `\(change.newName ?? "")`"
        case .removed: what = "`\(change.className):\(change.permission)` removed" + (change.instead.map { ": \($0)" } ?? "")
        case .added: what = "`\(change.className):\(change.permission)` added"
        case .addedClass: what = "class `\(change.className)` added"
        case .removedClass: what = "class `\(change.className)` removed"
        case .addedSID: what = "initial SID `\(change.className)` added"
        case .removedSID: what = "initial SID `\(change.className)` removed"
        }
        out += "- \(what) — \(change.commit) \"\(change.subject)\"\n"
      }
    }
    return out
  }
}
