/// Did-you-mean suggestions: the closest names by edit distance, limited to
/// a distance that still looks like a typo of the input.
public enum Suggestion {
  /// The best candidate for `name` among `candidates`, or nil if none is close.
  public static func closest(to name: String, in candidates: some Sequence<String>) -> String? {
    let limit = max(1, min(3, name.count / 3))
    let folded = name.lowercased()
    if let exact = candidates.first(where: { $0 != name && $0.lowercased() == folded }) { return exact }
    var best: (name: String, distance: Int)?
    for candidate in candidates where candidate != name {
      guard abs(candidate.count - name.count) <= limit else { continue }
      let distance = editDistance(name, candidate, limit: limit)
      if distance <= limit, best.map({ distance < $0.distance || (distance == $0.distance && candidate < $0.name) }) ?? true {
        best = (candidate, distance)
      }
    }
    return best?.name
  }

  /// Levenshtein distance with transpositions counted as one edit; gives up
  /// (returns `limit + 1`) once every path exceeds `limit`.
  public static func editDistance(_ a: String, _ b: String, limit: Int = .max) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous2 = [Int](repeating: 0, count: y.count + 1)
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
      current[0] = i
      var rowMinimum = current[0]
      for j in 1...y.count {
        let cost = x[i - 1] == y[j - 1] ? 0 : 1
        var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
          value = min(value, previous2[j - 2] + 1)
        }
        current[j] = value
        rowMinimum = min(rowMinimum, value)
      }
      if rowMinimum > limit { return limit + 1 }
      (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[y.count]
  }
}
