/// Text, CSV and HTML forms of an access matrix (JSON is its Codable form).
public enum MatrixRendering {
  /// One line per op: allowed pairs out of all pairs, per module; with one
  /// op and a small host, a caller × target grid per module as well.
  public static func text(_ matrix: AccessMatrix) -> String {
    // Questions per op: every (caller, target) pair, or every caller for an op without a domain argument.
    let totals = matrix.rows.map { row in row.cells.reduce(0) { $0 + $1.pairs } }
    var lines: [[String]] = [["OP"] + matrix.modules.map { "\($0.rawValue) allowed" }]
    for (row, total) in zip(matrix.rows, totals) {
      lines.append([row.op] + row.allowed.indices.map { m in
        "\(row.allowed[m])/\(total)" + (row.invalid[m] > 0 ? " (\(row.invalid[m]) invalid)" : "")
      })
    }
    var out = table(lines)
    let pairs = matrix.domains.count * matrix.domains.count
    let perCaller = totals.filter { $0 != pairs }.count
    out += "\n\(matrix.rows.count) op\(matrix.rows.count == 1 ? "" : "s") × \(pairs) (caller, target) pairs"
      + (perCaller > 0 ? " (\(perCaller) without a domain argument: one question per caller)" : "") + "; "
      + "\(matrix.classes.count) classes of interchangeable domains; \(matrix.decisions) decisions made"
    if matrix.rows.count == 1, matrix.domains.count <= 40 {
      for (m, module) in matrix.modules.enumerated() {
        out += "\n\n\(matrix.rows[0].op) under \(module.rawValue) (rows: caller, columns: target; "
          + "A allowed, . denied, x invalid, - not asked)\n"
        out += grid(matrix, module: m)
      }
    }
    return out
  }

  static func grid(_ matrix: AccessMatrix, module m: Int) -> String {
    let header = matrix.domains.map { "\($0.domid)" }
    let width = max(3, header.map(\.count).max() ?? 1)
    let nameWidth = matrix.domains.map(\.label.count).max() ?? 4
    var out = String(repeating: " ", count: nameWidth + 1)
      + header.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined(separator: "") + "\n"
    let read = matrix.reader(row: 0)
    for (ci, caller) in matrix.domains.enumerated() {
      out += caller.label.padding(toLength: nameWidth + 1, withPad: " ", startingAt: 0)
      for ti in matrix.domains.indices {
        let v = read(ci, ti, m)
        // No question for a pair: the op takes no domain argument, so only the caller's own cell is asked.
        let mark = v == nil ? "-" : v == .allowed ? "A" : v == .invalid ? "x" : "."
        out += mark.padding(toLength: width, withPad: " ", startingAt: 0)
      }
      out += "\n"
    }
    return String(out.dropLast())
  }

  /// `op,module,caller,target,verdict`, one line per pair.
  public static func csv(_ matrix: AccessMatrix) -> String {
    var out = "op,module,caller_domid,caller,target_domid,target,verdict\n"
    for (r, row) in matrix.rows.enumerated() {
      let read = matrix.reader(row: r)
      for (m, module) in matrix.modules.enumerated() {
        for (ci, caller) in matrix.domains.enumerated() {
          for (ti, target) in matrix.domains.enumerated() {
            guard let v = read(ci, ti, m) else { continue }
            out += "\(row.op),\(module.rawValue),\(caller.domid),\(field(caller.name)),\(target.domid),"
              + "\(field(target.name)),\(v.rawValue)\n"
          }
        }
      }
    }
    return out
  }

  /// A self-contained HTML page: an overview of every op under every module,
  /// and per-op caller × target grids, module disagreements and per-family
  /// summaries drawn by a small script in the page (see `MatrixHTML`).
  public static func html(_ matrix: AccessMatrix, title: String) -> String {
    MatrixHTML.page(matrix, title: title)
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func field(_ s: String) -> String {
    s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }

  static func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    let widths = first.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
    return rows.map { row in
      row.enumerated().map { i, c in i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
        .joined(separator: "  ")
    }.joined(separator: "\n")
  }
}
