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

  /// A self-contained HTML page with an SVG heatmap per module: rows are
  /// callers, columns ops, and each cell's colour the share of targets the
  /// caller may invoke the op on.
  public static func html(_ matrix: AccessMatrix, title: String) -> String {
    let cell = 14
    let labelWidth = 8 * (matrix.domains.map(\.label.count).max() ?? 8) + 10
    let headerHeight = 8 * (matrix.rows.map(\.op.count).max() ?? 8) + 10
    var body = ""
    let readers = matrix.rows.indices.map { matrix.reader(row: $0) }
    for (m, module) in matrix.modules.enumerated() {
      let width = labelWidth + cell * matrix.rows.count + 10
      let height = headerHeight + cell * matrix.domains.count + 10
      var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"monospace\" font-size=\"11\">\n"
      for (j, row) in matrix.rows.enumerated() {
        let x = labelWidth + j * cell + cell / 2 + 4
        svg += "<text transform=\"translate(\(x),\(headerHeight - 4)) rotate(-90)\">\(escape(row.op))</text>\n"
      }
      for (i, caller) in matrix.domains.enumerated() {
        let y = headerHeight + i * cell
        svg += "<text x=\"4\" y=\"\(y + cell - 3)\">\(escape(caller.label))</text>\n"
        for (j, row) in matrix.rows.enumerated() {
          var allowed = 0
          var invalid = 0
          var asked = 0
          for t in matrix.domains.indices {
            guard let v = readers[j](i, t, m) else { continue }
            asked += 1
            if v == .allowed { allowed += 1 } else if v == .invalid { invalid += 1 }
          }
          // An op without a domain argument is one question per caller: its share is of that one question.
          let share = Double(allowed) / Double(max(1, asked))
          let colour = allowed == 0 ? (invalid == asked ? "#dddddd" : "#f4f4f4") : heat(share)
          let tip = asked == 1 && matrix.domains.count > 1
            ? "\(caller.label) \(row.op) (no target): \(allowed == 1 ? "allowed" : invalid == 1 ? "invalid" : "denied") under \(module.rawValue)"
            : "\(caller.label) \(row.op): allowed on \(allowed) of \(asked) targets under \(module.rawValue)"
          svg += "<rect x=\"\(labelWidth + j * cell)\" y=\"\(y)\" width=\"\(cell - 1)\" height=\"\(cell - 1)\" fill=\"\(colour)\"><title>\(escape(tip))</title></rect>\n"
        }
      }
      svg += "</svg>\n"
      body += "<h2>\(escape(module.rawValue))</h2>\n" + svg
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>body{font-family:sans-serif;margin:1.5em}h2{margin-top:1.5em}p{max-width:60em}</style></head>
      <body><h1>\(escape(title))</h1>
      <p>Rows are calling domains, columns are ops. A cell's colour is the share of the host's \
      \(matrix.domains.count) domains the caller may invoke the op on (white: none, dark red: all; grey: \
      Xen refuses the op whatever the module). Hover a cell for the count.</p>
      \(body)</body></html>

      """
  }

  static func heat(_ share: Double) -> String {
    // White-to-red ramp.
    let t = max(0.15, min(1, share))
    let g = Int(235 - 200 * t)
    return "rgb(220,\(g),\(g))"
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
