/// A unified diff of two texts, line by line (Myers' shortest edit script),
/// as `diff -u` writes it: what `xsmc fmt --check --diff` shows.
public enum LineDiff {
  private enum Edit {
    case same(Int, Int)
    case delete(Int)
    case insert(Int)
  }

  /// The unified diff from `old` to `new` with `context` lines around each
  /// change, headed `--- a/PATH` and `+++ b/PATH`; empty when they are equal.
  public static func unified(old: String, new: String, path: String, context: Int = 3) -> String {
    guard old != new else { return "" }
    let a = lines(old)
    let b = lines(new)
    let edits = script(a, b)
    // Group edits into hunks: changes with `context` unchanged lines around them.
    var out = "--- a/\(path)\n+++ b/\(path)\n"
    let changed = edits.indices.filter { if case .same = edits[$0] { false } else { true } }
    var hunks: [ClosedRange<Int>] = []
    for index in changed {
      let range = max(0, index - context)...min(edits.count - 1, index + context)
      if let last = hunks.last, range.lowerBound <= last.upperBound + 1 {
        hunks[hunks.count - 1] = last.lowerBound...range.upperBound
      } else {
        hunks.append(range)
      }
    }
    for hunk in hunks {
      var oldStart: Int?
      var newStart: Int?
      var oldCount = 0
      var newCount = 0
      var body = ""
      for edit in edits[hunk] {
        switch edit {
        case .same(let i, let j):
          oldStart = oldStart ?? i
          newStart = newStart ?? j
          oldCount += 1
          newCount += 1
          body += " " + a[i] + "\n"
        case .delete(let i):
          oldStart = oldStart ?? i
          oldCount += 1
          body += "-" + a[i] + "\n"
        case .insert(let j):
          newStart = newStart ?? j
          newCount += 1
          body += "+" + b[j] + "\n"
        }
      }
      // diff numbers an empty side by the line before it.
      let oldLine = oldCount == 0 ? (oldStart ?? position(in: edits, before: hunk.lowerBound, old: true)) : (oldStart ?? 0) + 1
      let newLine = newCount == 0 ? (newStart ?? position(in: edits, before: hunk.lowerBound, old: false)) : (newStart ?? 0) + 1
      out += "@@ -\(oldLine),\(oldCount) +\(newLine),\(newCount) @@\n" + body
    }
    return out
  }

  /// How many lines of one side come before edit `index`.
  private static func position(in edits: [Edit], before index: Int, old: Bool) -> Int {
    var count = 0
    for edit in edits[..<index] {
      switch edit {
      case .same: count += 1
      case .delete: if old { count += 1 }
      case .insert: if !old { count += 1 }
      }
    }
    return count
  }

  private static func lines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
  }

  /// The edit script: common lines at both ends, and Myers' shortest edit
  /// script in between (replace-all when that needs more than `limit` edits).
  private static func script(_ a: [String], _ b: [String], limit: Int = 4000) -> [Edit] {
    var prefix = 0
    while prefix < a.count && prefix < b.count && a[prefix] == b[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < a.count - prefix && suffix < b.count - prefix && a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
      suffix += 1
    }
    let middleA = Array(a[prefix..<(a.count - suffix)])
    let middleB = Array(b[prefix..<(b.count - suffix)])
    let middle = myers(middleA, middleB, limit: limit)
      ?? (middleA.indices.map { Edit.delete($0) } + middleB.indices.map { Edit.insert($0) })
    var edits = (0..<prefix).map { Edit.same($0, $0) }
    for edit in middle {
      switch edit {
      case .same(let i, let j): edits.append(.same(i + prefix, j + prefix))
      case .delete(let i): edits.append(.delete(i + prefix))
      case .insert(let j): edits.append(.insert(j + prefix))
      }
    }
    for offset in 0..<suffix { edits.append(.same(a.count - suffix + offset, b.count - suffix + offset)) }
    return edits
  }

  /// Myers' O((N+M)D) shortest edit script, or nil when it needs more than `limit` edits.
  private static func myers(_ a: [String], _ b: [String], limit: Int) -> [Edit]? {
    let n = a.count
    let m = b.count
    let offset = n + m + 1
    var v = [Int](repeating: 0, count: 2 * offset + 2)
    // trace[d][k + d]: the frontier before step d, for k in -d...d.
    var trace: [[Int]] = []
    search: for d in 0...(n + m) {
      guard d <= limit else { return nil }
      trace.append(Array(v[(offset - d)...(offset + d)]))
      for k in stride(from: -d, through: d, by: 2) {
        var x = k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1
        var y = x - k
        while x < n && y < m && a[x] == b[y] {
          x += 1
          y += 1
        }
        v[offset + k] = x
        if x >= n && y >= m { break search }
      }
    }
    var edits: [Edit] = []
    var x = n
    var y = m
    for d in stride(from: trace.count - 1, through: 0, by: -1) {
      let k = x - y
      var previousX = 0
      var previousY = 0
      if d > 0 {
        let frontier = trace[d]
        let previousK = k == -d || (k != d && frontier[k - 1 + d] < frontier[k + 1 + d]) ? k + 1 : k - 1
        previousX = frontier[previousK + d]
        previousY = previousX - previousK
      }
      while x > previousX && y > previousY {
        x -= 1
        y -= 1
        edits.append(.same(x, y))
      }
      if d > 0 {
        if x == previousX {
          y -= 1
          edits.append(.insert(y))
        } else {
          x -= 1
          edits.append(.delete(x))
        }
      }
    }
    return edits.reversed()
  }
}
