/// The formatter's second pass: writes the pieces again, line by line, with
/// the indentation their nesting gives, the new lines and sorted names the
/// analysis chose, and uniform spacing where m4 cannot tell the difference.
struct FormatEmitter {
  let pieces: [SourcePiece]
  let analysis: FormatAnalysis
  let indentUnit: String
  /// Lines written exactly as they are.
  let verbatimLines: Set<Int>

  /// Open brackets and quotes with the indentation level of the line that opened each.
  private var stack: [(frame: FormatFrame, indent: Int)] = []
  private var out = ""

  init(pieces: [SourcePiece], analysis: FormatAnalysis, indentUnit: String, verbatimLines: Set<Int>) {
    self.pieces = pieces
    self.analysis = analysis
    self.indentUnit = indentUnit
    self.verbatimLines = verbatimLines
  }

  mutating func emit() -> String {
    var blankPending = false
    var wroteLine = false
    var start = 0
    while start < pieces.count {
      var end = start
      while end < pieces.count && pieces[end].kind != .newline { end += 1 }
      let line = start..<end
      let number = pieces[start].line
      if verbatimLines.contains(number) {
        if blankPending { out += "\n" }
        blankPending = false
        let indent = stack.last.map { $0.indent + 1 } ?? 0
        for i in line {
          out += pieces[i].text
          track(i, indent: indent)
        }
        out += "\n"
        wroteLine = true
      } else if !line.contains(where: { pieces[$0].kind != .space }) {
        blankPending = wroteLine
      } else {
        if blankPending { out += "\n" }
        blankPending = false
        emitLine(line)
        wroteLine = true
      }
      start = end + 1
    }
    return out
  }

  /// The indentation level of a new line.
  private var baseIndent: Int { stack.last.map { $0.indent + 1 } ?? 0 }

  private mutating func track(_ i: Int, indent: Int) {
    let piece = pieces[i]
    guard !analysis.unstructured.contains(i) else { return }
    if piece.kind == .openQuote || piece.isPunct("(") || piece.isPunct("{") {
      stack.append((analysis.frames[i] ?? .paren, indent))
    } else if piece.isCloser, !stack.isEmpty {
      stack.removeLast()
    }
  }

  /// Writes one line of the input, split where the analysis starts new lines.
  private mutating func emitLine(_ line: Range<Int>) {
    var segments: [Range<Int>] = []
    var segmentStart = line.lowerBound
    for i in line where i > segmentStart && analysis.breakBefore.contains(i) {
      segments.append(segmentStart..<i)
      segmentStart = i
    }
    segments.append(segmentStart..<line.upperBound)
    for (n, segment) in segments.enumerated() { emitSegment(segment, startsInputLine: n == 0) }
  }

  private mutating func emitSegment(_ segment: Range<Int>, startsInputLine: Bool) {
    var k = segment.lowerBound
    let originalIndent = pieces[k].kind == .space ? pieces[k].text : ""
    while k < segment.upperBound && pieces[k].kind == .space { k += 1 }
    guard k < segment.upperBound else { return }
    let first = k
    // m4 keeps the whitespace before an argument's `,` or `)` as part of the argument.
    let endsArgument = startsInputLine && stack.last?.frame == .call && (pieces[k].isPunct(",") || pieces[k].isPunct(")"))
    // Closers at the start of the line close before its indentation is chosen.
    var text = ""
    var previous: Int?
    var space = ""
    while let next = nextCode(&k, in: segment, space: &space), pieces[next].isCloser {
      if previous != nil { text += space }
      space = ""
      text += pieces[next].text
      track(next, indent: 0)
      previous = next
      k = next + 1
    }
    var level = baseIndent
    if analysis.continuation.contains(first) { level += 1 }
    var indent = String(repeating: indentUnit, count: level)
    let firstPiece = pieces[first]
    if startsInputLine && analysis.lineSensitiveLines.contains(firstPiece.line) {
      // refpolicy's Makefile finds these by a line start: keep it at column 1, or off it.
      if firstPiece.column == 1 {
        indent = ""
      } else if level == 0 {
        indent = originalIndent
      }
    } else if endsArgument {
      indent = originalIndent
    }
    while let next = nextCode(&k, in: segment, space: &space) {
      if let previous { text += spacing(previous, next, space) }
      space = ""
      text += analysis.replacement[next] ?? pieces[next].text
      track(next, indent: level)
      previous = next
      k = next + 1
    }
    while let last = text.unicodeScalars.last, last == " " || last == "\t" || last == "\r" {
      text.unicodeScalars.removeLast()
    }
    out += indent + text + "\n"
  }

  /// The next piece from `k` on that is not a space (comments included), adding the spaces passed to `space`.
  private func nextCode(_ k: inout Int, in segment: Range<Int>, space: inout String) -> Int? {
    while k < segment.upperBound && pieces[k].kind == .space {
      space += pieces[k].text
      k += 1
    }
    return k < segment.upperBound ? k : nil
  }

  /// The whitespace to write between `previous` and `next`, given what the input has (`original`).
  private func spacing(_ previous: Int, _ next: Int, _ original: String) -> String {
    let p = pieces[previous]
    let n = pieces[next]
    let collapsed = original.isEmpty ? "" : " "
    // m4 sees whitespace next to its quotes, and the formatter does not know what other characters mean.
    if p.kind == .openQuote || p.kind == .closeQuote || n.kind == .openQuote || n.kind == .closeQuote { return original }
    if p.kind == .other || n.kind == .other { return original }
    if stack.last?.frame == .call {
      // Inside a macro call's arguments: m4 drops whitespace before an
      // argument but keeps it before the `,` or `)` that ends one.
      if n.isPunct(",") || n.isPunct(")") || n.kind == .comment { return original }
      if p.isPunct("(") && analysis.frames[previous] == .call { return "" }
      if p.isPunct(",") { return " " }
      return collapsed
    }
    if n.kind == .comment { return " " }
    if n.isPunct(";") || n.isPunct(",") { return "" }
    if p.isPunct(",") { return " " }
    if p.isPunct(":") || n.isPunct(":") { return "" }
    if p.isPunct("{") { return n.isPunct("}") ? collapsed : " " }
    if n.isPunct("}") { return " " }
    if n.isPunct("{") { return p.isPunct("~") || p.isPunct("(") || p.isPunct("-") ? original : " " }
    if n.isPunct(")") { return collapsed }
    if p.isPunct("}") { return " " }
    return collapsed
  }
}
