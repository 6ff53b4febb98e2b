/// What kind of bracket or quote a piece opens.
enum FormatFrame: Equatable {
  /// `{` of a block of statements: `if (...) {`, `else {`, `require {`, `optional {`.
  case block
  /// `{` of a set: permissions, classes, types, a class's own permissions.
  case set
  /// `(` right after a macro's name: m4 collects its arguments.
  case call
  /// Any other `(`: a condition or a constraint expression.
  case paren
  /// m4's `` ` ``: a quoted string, the body of a define, say.
  case quote

  /// Whether statements inside it are statements of their own.
  var holdsStatements: Bool { self != .set && self != .paren }
}

/// The formatter's first pass over the pieces of a file: brackets and quotes
/// matched, statements found (by `;`, blocks, statement keywords and macro
/// calls at the start of a line), where new lines go, which set names are
/// sorted, and which lines continue a statement.
struct FormatAnalysis {
  /// Brackets or quotes that do not match.
  struct Problem {
    var line: Int
    var column: Int
    var width: Int
    var message: String
    var label: String
  }

  let pieces: [SourcePiece]
  let kind: PolicyFormatter.FileKind
  private(set) var problems: [Problem] = []
  /// Pieces that start a new line although the input has them after code on the same line.
  private(set) var breakBefore = Set<Int>()
  /// New text of pieces: the names of sorted sets.
  private(set) var replacement: [Int: String] = [:]
  /// What each `{`, `(` and `` ` `` opens.
  private(set) var frames: [Int: FormatFrame] = [:]
  /// First pieces of lines that continue the statement of the line before.
  private(set) var continuation = Set<Int>()
  /// Lines that start with a statement refpolicy's Makefile finds by the start of a line.
  private(set) var lineSensitiveLines = Set<Int>()
  /// Brackets m4 quotes split: opened inside a quoted string and closed
  /// after it, or closing one opened before it. They shape no indentation,
  /// and the quoted string around them is kept as it is.
  private(set) var unstructured = Set<Int>()
  /// Lines kept as they are: a line-sensitive keyword followed by something else than one space.
  private(set) var keptLines = Set<Int>()

  /// Why a new line may start at the next piece.
  private enum PendingBreak {
    case afterSemicolon, afterBlockOpen, afterBlockClose, afterCallStatement
  }

  /// The statement being read inside one frame that holds statements (or at the top).
  private struct Level {
    var frame: FormatFrame?
    /// How many frames are open where its statements start.
    var depth: Int
    var tokens: [Int] = []
  }

  init(pieces: [SourcePiece], kind: PolicyFormatter.FileKind) {
    self.pieces = pieces
    self.kind = kind
    analyze()
  }

  private func isCall(_ i: Int) -> Bool {
    pieces[i].kind == .word && !PolicyFormatter.nonCallWords.contains(pieces[i].text)
      && i + 1 < pieces.count && pieces[i + 1].isPunct("(")
  }

  private func isLineSensitive(_ piece: SourcePiece) -> Bool {
    piece.kind == .word && PolicyFormatter.lineSensitiveKeyword(piece.text, kind: kind)
  }

  private mutating func analyze() {
    var stack: [(frame: FormatFrame, piece: Int)] = []
    var levels = [Level(frame: nil, depth: 0)]
    var lineHasContent = false
    var firstOnLine = true
    var lineSensitive = false
    var pending: PendingBreak?
    var lastCode: Int?
    var lastCodeOnLine: Int?

    func flush() {
      analyzeStatement(levels[levels.count - 1].tokens)
      levels[levels.count - 1].tokens = []
    }
    func append(_ i: Int) { levels[levels.count - 1].tokens.append(i) }
    func push(_ frame: FormatFrame, _ i: Int) {
      frames[i] = frame
      stack.append((frame, i))
      if frame.holdsStatements { levels.append(Level(frame: frame, depth: stack.count)) }
    }

    for i in pieces.indices {
      let piece = pieces[i]
      switch piece.kind {
      case .newline:
        if !lineHasContent { flush() }  // a blank line ends a statement
        lineHasContent = false
        firstOnLine = true
        pending = nil
        lastCodeOnLine = nil
        continue
      case .space:
        continue
      case .comment:
        lineHasContent = true
        pending = nil
        continue
      default:
        break
      }
      lineHasContent = true
      if firstOnLine {
        firstOnLine = false
        // Only a line that starts at column 1, or would, is found by its start.
        lineSensitive = isLineSensitive(piece) && (piece.column == 1 || stack.isEmpty)
        if lineSensitive {
          lineSensitiveLines.insert(piece.line)
          if i + 1 < pieces.count, pieces[i + 1].kind == .space, pieces[i + 1].text != " " { keptLines.insert(piece.line) }
        }
        if piece.kind == .word && (PolicyFormatter.statementKeywords.contains(piece.text) || isCall(i)) { flush() }
        let level = levels[levels.count - 1]
        if !level.tokens.isEmpty, stack.count == level.depth, level.frame != .call, !piece.isCloser, !piece.isPunct("{") {
          continuation.insert(i)
        }
      } else if let reason = pending {
        let breaks: Bool
        switch reason {
        case .afterSemicolon: breaks = !piece.isCloser
        case .afterBlockOpen: breaks = !piece.isPunct("}")
        case .afterBlockClose: breaks = !piece.isCloser && !piece.isPunct(";") && !(piece.kind == .word && piece.text == "else")
        case .afterCallStatement: breaks = piece.kind == .word && pieces[i - 1].kind == .space  // never inside a name m4 glues
        }
        // A new line inside a frame is indented, so no line-sensitive statement can start it.
        // Nor inside a macro call's unquoted arguments, where m4 would keep the new line in the argument.
        if breaks && !lineSensitive && !(isLineSensitive(piece) && stack.isEmpty) && levels[levels.count - 1].frame != .call {
          breakBefore.insert(i)
        }
      }
      pending = nil
      defer {
        lastCode = i
        lastCodeOnLine = i
      }

      if piece.kind == .openQuote {
        append(i)
        push(.quote, i)
      } else if piece.kind == .closeQuote {
        // Brackets still open were text of the quoted string: m4 rescans it later, in another place.
        while let open = stack.last, open.frame != .quote {
          unstructured.insert(open.piece)
          stack.removeLast()
          if open.frame.holdsStatements { levels.removeLast() }
        }
        guard case .closed = close(i, expecting: [.quote], stack: &stack) else { return }
        flush()
        levels.removeLast()
      } else if piece.isPunct("(") {
        append(i)
        push(i > 0 && isCall(i - 1) ? .call : .paren, i)
      } else if piece.isPunct(")") {
        let closing = close(i, expecting: [.call, .paren], stack: &stack)
        if case .failed = closing { return }
        guard case .closed(let frame) = closing else { continue }
        if frame == .call {
          flush()
          levels.removeLast()
          append(i)
          // A call that makes a statement of its own ends it.
          if levels[levels.count - 1].tokens.count == 3 {
            pending = .afterCallStatement
            flush()
          }
        } else {
          append(i)
        }
      } else if piece.isPunct("{") {
        let after = lastCode.map { pieces[$0] }
        let isBlock =
          (after?.isPunct(")") == true && lastCode.flatMap { closedParens[$0] } == .paren)
          || (after?.kind == .word && PolicyFormatter.blockWords.contains(after!.text))
        if isBlock {
          flush()
          push(.block, i)
          pending = .afterBlockOpen
        } else {
          append(i)
          push(.set, i)
        }
      } else if piece.isPunct("}") {
        let closing = close(i, expecting: [.block, .set], stack: &stack)
        if case .failed = closing { return }
        guard case .closed(let frame) = closing else { continue }
        if frame == .block {
          if lastCodeOnLine != nil && !lineSensitive && levels[levels.count - 2].frame != .call { breakBefore.insert(i) }
          flush()
          levels.removeLast()
          flush()
          pending = .afterBlockClose
        } else {
          append(i)
        }
      } else if piece.isPunct(";") {
        append(i)
        flush()
        if stack.last.map({ $0.frame == .block || $0.frame == .quote }) ?? true { pending = .afterSemicolon }
      } else {
        append(i)
      }
    }
    if let open = stack.last {
      let piece = pieces[open.piece]
      problems.append(Problem(line: piece.line, column: piece.column, width: piece.text.count,
        message: "\(Self.code(piece.text)) is never closed", label: "opened here"))
    }
  }

  /// `text` in backticks as diagnostics write code; m4's open quote needs double ones.
  static func code(_ text: String) -> String { text == "`" ? "`` ` ``" : "`\(text)`" }

  /// The frame each closer closed.
  private var closedParens: [Int: FormatFrame] = [:]

  /// What a closer did.
  private enum Closing {
    case closed(FormatFrame)
    /// Nothing: inside a quoted string, a bracket opened outside it (or of another kind) is text.
    case text
    /// It matches nothing outside quotes: a problem was recorded.
    case failed
  }

  /// Pops the frame `closer` closes, or says why it does not.
  private mutating func close(_ closer: Int, expecting: [FormatFrame], stack: inout [(frame: FormatFrame, piece: Int)])
    -> Closing
  {
    let piece = pieces[closer]
    if let open = stack.last, expecting.contains(open.frame) {
      stack.removeLast()
      closedParens[closer] = open.frame
      return .closed(open.frame)
    }
    if stack.contains(where: { $0.frame == .quote }) && piece.kind != .closeQuote {
      unstructured.insert(closer)
      return .text
    }
    guard let open = stack.last else {
      problems.append(Problem(line: piece.line, column: piece.column, width: piece.text.count,
        message: "\(Self.code(piece.text)) closes nothing", label: "no opening bracket before it"))
      return .failed
    }
    let opener = pieces[open.piece]
    problems.append(Problem(line: opener.line, column: opener.column, width: opener.text.count,
      message: "\(Self.code(opener.text)) is not closed before \(Self.code(piece.text)) at \(piece.line):\(piece.column)",
      label: "opened here"))
    return .failed
  }

  // MARK: Sorting sets

  /// Sorts the class and permission sets of an access rule or a constraint.
  private mutating func analyzeStatement(_ tokens: [Int]) {
    guard let first = tokens.first, pieces[first].kind == .word else { return }
    let keyword = pieces[first].text
    var k = 1
    if PolicyFormatter.accessRules.contains(keyword) {
      guard term(tokens, &k) != nil, term(tokens, &k) != nil, k < tokens.count, pieces[tokens[k]].isPunct(":") else { return }
      k += 1
      guard let classes = term(tokens, &k), let permissions = term(tokens, &k), k == tokens.count - 1,
        pieces[tokens[k]].isPunct(";")
      else { return }
      sortSet(tokens, classes)
      sortSet(tokens, permissions)
    } else if PolicyFormatter.constraintRules.contains(keyword) {
      guard let classes = term(tokens, &k), let permissions = term(tokens, &k) else { return }
      sortSet(tokens, classes)
      sortSet(tokens, permissions)
    }
  }

  /// One operand of a rule at `tokens[k]`: a name (or a macro call), `*`,
  /// `~name`, `{ ... }` or `~{ ... }`; the range of positions it covers.
  private func term(_ tokens: [Int], _ k: inout Int) -> Range<Int>? {
    let start = k
    guard k < tokens.count else { return nil }
    if pieces[tokens[k]].isPunct("~") { k += 1 }
    guard k < tokens.count else { return nil }
    let piece = pieces[tokens[k]]
    if piece.kind == .word {
      k += 1
      if k + 1 < tokens.count, pieces[tokens[k]].isPunct("("), pieces[tokens[k + 1]].isPunct(")") { k += 2 }
      return start..<k
    }
    if piece.isPunct("*") {
      k += 1
      return start..<k
    }
    guard piece.isPunct("{") else { return nil }
    k += 1
    while k < tokens.count, !pieces[tokens[k]].isPunct("}") {
      let inner = pieces[tokens[k]]
      if inner.isPunct("{") || inner.isPunct(";") || inner.kind == .openQuote { return nil }
      k += 1
    }
    guard k < tokens.count else { return nil }
    k += 1
    return start..<k
  }

  /// Sorts the names of a `{ ... }` term when every element is a plain name
  /// on the line of its braces.
  private mutating func sortSet(_ tokens: [Int], _ range: Range<Int>) {
    var lower = range.lowerBound
    if pieces[tokens[lower]].isPunct("~") { lower += 1 }
    guard pieces[tokens[lower]].isPunct("{") else { return }
    let elements = Array(tokens[(lower + 1)..<(range.upperBound - 1)])
    let line = pieces[tokens[lower]].line
    guard elements.count >= 2, pieces[tokens[range.upperBound - 1]].line == line,
      elements.allSatisfy({ pieces[$0].kind == .word && !pieces[$0].text.hasPrefix("$") && pieces[$0].line == line })
    else { return }
    let sorted = elements.map { pieces[$0].text }.sorted()
    for (element, name) in zip(elements, sorted) where pieces[element].text != name { replacement[element] = name }
  }

  // MARK: Regions m4 reads differently

  /// The lines of the outermost quoted string around the piece at `line`,
  /// `column` (or from that piece to where m4's quotes close again).
  func quotedRegion(line: Int, column: Int) -> ClosedRange<Int> {
    guard let index = pieces.firstIndex(where: { $0.line == line && $0.column <= column && $0.column + $0.text.unicodeScalars.count > column })
    else { return line...line }
    var start = line
    if pieces[index].depth > 0,
      let open = pieces[..<index].lastIndex(where: { $0.kind == .openQuote && $0.depth == 0 })
    {
      start = pieces[open].line
    }
    var end = pieces.last?.line ?? line
    if let after = pieces[(index + 1)...].firstIndex(where: { $0.depth == 0 }) { end = pieces[after].line }
    return start...max(start, end)
  }
}
