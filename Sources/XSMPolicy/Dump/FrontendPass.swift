import XSMDiagnostics

/// The passes of the compiler, in the order they run. Timings are keyed by
/// them, and `xsmc build --dump PASS` shows what a pass produced.
public enum FrontendPass: String, CaseIterable, Sendable, Codable {
  /// m4 over a policy tree, in Xen's file order (a single file is read as it is).
  case expand
  /// Tokens, then statements.
  case parse
  /// Op rules replaced by the class rules they stand for.
  case ops
  /// Names resolved and checked into the policy model.
  case resolve
  /// The model written as CIL for libsepol.
  case lower
  /// libsepol's CIL compiler and policy writer (the `--backend cil` route).
  case libsepol
  /// The policydb built from the model with libsepol (the default backend),
  /// neverallows checked.
  case policydb
  /// The policydb written as the binary Xen loads, and its summary.
  case write
}

/// What `--dump` can show: the lexer's tokens, or the output of a pass
/// (libsepol's output is the binary itself, so it has no dump).
public enum DumpPoint: String, CaseIterable, Sendable {
  case tokens, expand, parse, ops, resolve, lower

  /// The pass that must have run for this dump.
  public var pass: FrontendPass {
    switch self {
    case .tokens, .parse: .parse
    case .expand: .expand
    case .ops: .ops
    case .resolve: .resolve
    case .lower: .lower
    }
  }
}

extension FrontendResult {
  /// The text `--dump point` prints, or nil when the pass did not run
  /// (an earlier pass failed, or it had nothing to do).
  public func dump(_ point: DumpPoint) -> String? {
    switch point {
    case .expand:
      return expandedText
    case .tokens:
      guard let expandedText else { return nil }
      var lexer = Lexer(text: expandedText, file: sourceMap.primaryFile, map: sourceMap, macros: macroExpansions)
      return lexer.tokenize().map(PolicyPrinter.describe(token:)).joined(separator: "\n") + "\n"
    case .parse:
      return (parsedSyntax ?? syntax).map { PolicyPrinter.render($0, located: true) }
    case .ops:
      return syntax.map { PolicyPrinter.render($0, located: true) }
    case .resolve:
      return model.map(PolicyPrinter.render(model:))
    case .lower:
      return cil?.text
    }
  }
}
