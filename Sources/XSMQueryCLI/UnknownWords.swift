import XSMCatalog
import XSMCommandLine
import XSMEngine

/// `xsmq pause`: an op typed where a command belongs gets the question that
/// asks about it.
extension XSMQ: AdvisesOnUnknownWords {
  public static func advice(forUnknownWord word: String, after path: [String]) -> String? {
    guard path.count == 1, let catalog = EmbeddedCatalog.load().0 else { return nil }
    let lower = word.lowercased()
    let last: (String) -> Substring? = { $0.split(separator: ".").last }
    // Each op the word names, under the spelling that matched: the name or an
    // alias in full, else the last part of one (`pause` for `domctl.pause`).
    let matches: [(op: Op, spelling: String)] = catalog.ops.compactMap { op in
      let spellings = [op.name] + op.aliases
      if let exact = spellings.first(where: { $0 == lower }) { return (op, exact) }
      if let partial = spellings.first(where: { last($0) == Substring(lower) }) { return (op, partial) }
      return nil
    }
    // Today's ops before the proposed ABI's split ops.
    let ordered = matches.filter { $0.op.kind == .legacy } + matches.filter { $0.op.kind == .split }
    guard let first = ordered.first else { return nil }
    // The op's positional argument as `xsmq args` shows it (TARGET, DOMAIN, [TARGET] ...).
    let target = first.op.positionalArgument.map { $0.isRequired ? " \($0.name.uppercased())" : " [\($0.name.uppercased())]" } ?? ""
    let others = ordered.dropFirst().prefix(4).map(\.spelling)
    return "`\(word)` is an op, not a command: ask `xsmq can CALLER \(first.spelling)\(target)`"
      + (others.isEmpty ? "" : " (also \(others.joined(separator: ", ")))")
  }
}
