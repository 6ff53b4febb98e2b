import XSMDiagnostics

/// Moves a policy's permission names from one Xen release to another
/// (`xsmc port`): renames are applied, removals and additions reported.
///
/// Rewriting is by token: every whole word (letters, digits, `_`) outside a
/// `#` comment that is a renamed permission's old name becomes the new name,
/// in any file (.te, .if, .spt, .cons, access_vectors, policy.conf). A name
/// renamed in one class that another class of the target release still has
/// under the old name is left alone and reported, since a token rewrite
/// cannot tell the two apart.
public struct XenABIPort: Sendable {
  public let from: XenRelease
  public let to: XenRelease
  /// Old name → new name, with the changes that lead there.
  public let renames: [String: (newName: String, via: [XenABIChange])]
  /// Permissions `to` no longer has (removed going forward; added after `to` going backward), by name.
  public let removals: [String: XenABIChange]
  /// Permissions (and classes and initial SIDs) `to` has that `from` lacked:
  /// a policy that declares Xen's classes must declare them too.
  public let additions: [XenABIChange]
  /// Renamed names left alone because another class of `to` still uses the old name.
  public let ambiguous: [String: XenABIChange]

  /// One rewritten word.
  public struct Edit: Sendable, Hashable, Codable {
    public var line: Int
    public var column: Int
    public var old: String
    public var new: String
    /// The commit of the (last) rename.
    public var commit: String
  }

  /// A word that names a permission `to` does not have, or a rename left alone.
  public struct Unported: Sendable, Hashable, Codable {
    /// `port.removed-permission` or `port.ambiguous-rename`.
    public var id: DiagnosticID
    public var line: Int
    public var column: Int
    public var permission: String
    /// `removed in Xen 4.13 (commit c492e19fdd ("xen: remove tmem from hypervisor"))`: why it cannot be ported.
    public var reason: String
    public var instead: String?
  }

  /// The result for one file.
  public struct FileResult: Sendable {
    public var path: String
    public var original: String
    public var ported: String
    public var edits: [Edit]
    public var unported: [Unported]
    public var changed: Bool { original != ported }

    /// One warning per word that could not be ported, at the word.
    public func diagnostics(target: XenRelease) -> [Diagnostic] {
      let lines = original.split(separator: "\n", omittingEmptySubsequences: false)
      return unported.map { item in
        let span = SourceSpan(file: path, line: item.line, column: item.column, endColumn: item.column + item.permission.count)
        return Diagnostic(item.id, .warning, "`\(item.permission)` cannot be ported to \(target): \(item.reason)", span: span,
          label: item.id == .port.ambiguousRename ? "left as it is" : "not in \(target)", help: item.instead,
          sourceLine: item.line <= lines.count ? String(lines[item.line - 1]) : nil)
      }
    }

    /// The change as a unified diff (`--- a/PATH`, `+++ b/PATH`, hunks with
    /// three lines of context); empty when nothing changed. A port rewrites
    /// words inside lines, so both sides have the same lines.
    public var unifiedDiff: String {
      guard changed else { return "" }
      let old = original.split(separator: "\n", omittingEmptySubsequences: false)
      let new = ported.split(separator: "\n", omittingEmptySubsequences: false)
      let changedLines = old.indices.filter { $0 < new.count && old[$0] != new[$0] }
      var hunks: [ClosedRange<Int>] = []
      for line in changedLines {
        let range = max(0, line - 3)...min(old.count - 1, line + 3)
        if let last = hunks.last, range.lowerBound <= last.upperBound + 1 {
          hunks[hunks.count - 1] = last.lowerBound...range.upperBound
        } else {
          hunks.append(range)
        }
      }
      var out = "--- a/\(path)\n+++ b/\(path)\n"
      for hunk in hunks {
        // A file ending in a newline splits into a last empty "line" that is not a line.
        let upper = old[hunk.upperBound].isEmpty && hunk.upperBound == old.count - 1 ? hunk.upperBound - 1 : hunk.upperBound
        let count = upper - hunk.lowerBound + 1
        out += "@@ -\(hunk.lowerBound + 1),\(count) +\(hunk.lowerBound + 1),\(count) @@\n"
        // The last line of a file without a final newline says so, as diff does.
        func text(_ lines: [Substring], _ line: Int) -> String {
          line == lines.count - 1 && !lines[line].isEmpty ? "\(lines[line])\n\\ No newline at end of file\n" : "\(lines[line])\n"
        }
        var line = hunk.lowerBound
        while line <= upper {
          guard old[line] != new[line] else {
            out += " " + text(old, line)
            line += 1
            continue
          }
          // A run of changed lines: the old ones, then the new ones.
          var end = line
          while end + 1 <= upper && old[end + 1] != new[end + 1] { end += 1 }
          for changedLine in line...end { out += "-" + text(old, changedLine) }
          for changedLine in line...end { out += "+" + text(new, changedLine) }
          line = end + 1
        }
      }
      return out
    }
  }

  /// The port from `from` to `to` (either may be the newer) through `history`.
  public init(from: XenRelease, to: XenRelease, history: [XenRelease] = XenABIHistory.releases) {
    self.from = from
    self.to = to
    let forward = history.firstIndex(of: from) ?? 0 <= history.firstIndex(of: to) ?? 0
    let changes = forward
      ? XenABIHistory.changes(from: from, to: to, in: history)
      : XenABIHistory.changes(from: to, to: from, in: history).reversed()
    var renames: [String: (newName: String, via: [XenABIChange])] = [:]
    var removals: [String: XenABIChange] = [:]
    var additions: [XenABIChange] = []
    for change in changes {
      // Going backward a rename runs new → old, an addition is a removal and a removal an addition.
      let kind: XenABIChange.Kind
      switch (change.kind, forward) {
      case (.added, false): kind = .removed
      case (.removed, false): kind = .added
      default: kind = change.kind
      }
      switch kind {
      case .renamed:
        guard let newName = change.newName else { continue }
        let (old, new) = forward ? (change.permission, newName) : (newName, change.permission)
        // Compose with an earlier rename of the same permission (a → b, then b → c).
        if let earlier = renames.first(where: { $0.value.newName == old }) {
          renames[earlier.key] = (new, earlier.value.via + [change])
        } else {
          renames[old] = (new, [change])
        }
      case .removed:
        let name = change.permission
        if to.classes.contains(where: { $0.permissions.contains(name) }) { continue }
        removals[name] = change
        renames = renames.filter { $0.value.newName != name }
      case .added:
        additions.append(change)
        removals[change.permission] = nil
      case .addedClass, .addedSID:
        if forward { additions.append(change) }
      default:
        continue
      }
    }
    var ambiguous: [String: XenABIChange] = [:]
    for (old, rename) in renames where to.classes.contains(where: { $0.permissions.contains(old) }) {
      ambiguous[old] = rename.via[0]
    }
    self.renames = renames.filter { ambiguous[$0.key] == nil }
    self.removals = removals
    self.additions = additions
    self.ambiguous = ambiguous
  }

  /// Whether `text` declares classes or initial SIDs (`class NAME`, `sid
  /// NAME` at the start of a line, as security_classes, initial_sids,
  /// access_vectors and a policy.conf do), so Xen's additions concern it.
  public static func declaresClasses(_ text: String) -> Bool {
    text.split(separator: "\n").contains { line in
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard words.count >= 2, words[0] == "class" || words[0] == "sid" else { return false }
      return words.count == 2 || words[2].hasPrefix("{") || words[2] == "inherits"
    }
  }

  /// Ports one file's text.
  public func port(path: String, text: String) -> FileResult {
    var edits: [Edit] = []
    var unported: [Unported] = []
    var output = ""
    output.reserveCapacity(text.utf8.count)
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if index > 0 { output += "\n" }
      var column = 1
      var word = ""
      var wordColumn = 1
      var inComment = false
      func flush() {
        guard !word.isEmpty else { return }
        defer { word = "" }
        if let rename = renames[word] {
          edits.append(Edit(line: index + 1, column: wordColumn, old: word, new: rename.newName,
            commit: rename.via[rename.via.count - 1].commit))
          output += rename.newName
          return
        }
        if let removal = removals[word] {
          unported.append(Unported(id: .port.removedPermission, line: index + 1, column: wordColumn, permission: word,
            reason: describe(removal: removal), instead: removal.kind == .removed ? removal.instead : nil))
        } else if let change = ambiguous[word] {
          unported.append(Unported(id: .port.ambiguousRename, line: index + 1, column: wordColumn, permission: word,
            reason: "renamed in class `\(change.className)` in Xen \(change.release) (\(change.citation)), but another class of \(to) still has `\(word)`; rename it by hand where it is a `\(change.className)` permission"))
        }
        output += word
      }
      for character in line {
        if !inComment && (character.isLetter || character.isNumber || character == "_") && character.isASCII {
          if word.isEmpty { wordColumn = column }
          word.append(character)
        } else {
          flush()
          if character == "#" { inComment = true }
          output.append(character)
        }
        column += 1
      }
      flush()
    }
    return FileResult(path: path, original: text, ported: output, edits: edits, unported: unported)
  }

  /// Why `removal` cannot be ported, citing its commit.
  private func describe(removal change: XenABIChange) -> String {
    if change.kind == .added {
      return "\(to) has no `\(change.permission)`: it was added to class `\(change.className)` in Xen \(change.release) (\(change.citation))"
    }
    return "removed from class `\(change.className)` in Xen \(change.release) (\(change.citation))"
  }
}
