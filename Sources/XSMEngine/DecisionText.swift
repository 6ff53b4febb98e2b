import XSMDiagnostics

/// A decision in words, as `xsmq can` prints it and `xsmc test` reports a
/// failed case: the verdict with what the caller gets, and the trace step by
/// step with Xen's file and function, the contexts and the rules.
extension Decision {
  /// `allowed`, `allowed (permissive)`, `denied (-EACCES)`, `invalid (-EINVAL)`.
  public var verdictText: String {
    switch verdict {
    case .allowed: wouldDeny.isEmpty ? "allowed" : "allowed (permissive)"
    case .denied: "denied" + ((returned ?? error).map { " (\($0))" } ?? "")
    case .invalid: "invalid" + (error.map { " (\($0))" } ?? "")
    }
  }

  /// The trace, one step a line (`ok`, `FAIL`, `perm`) with its details
  /// under it, every line after `indent` and ending in a newline.
  public func traceText(indent: String) -> String {
    var out = ""
    for step in trace {
      let mark: String
      switch step.outcome {
      case .pass: mark = "ok  "
      case .fail: mark = "FAIL"
      case .info: mark = "    "
      case .permissive: mark = "perm"
      }
      out += "\(indent)\(mark) \(step.layer): \(step.text)\n"
      if let source = step.source { out += "\(indent)       [\(source)]\n" }
      if let s = step.subject, let o = step.object { out += "\(indent)       \(s) -> \(o)\n" }
      for rule in step.rules { out += "\(indent)       \(rule)\n" }
      out += citationText(step, indent: indent + "       ")
    }
    return out
  }

  /// The source rules of a flask step: `from FILE:LINE: RULE` and `via CALL at
  /// FILE:LINE` lines for a granted check; for a refused one, the missing
  /// permission and the closest rules, or that no rule covers the pair.
  func citationText(_ step: TraceStep, indent: String) -> String {
    var out = ""
    let permission = step.text.split(separator: " ").first.flatMap { $0.split(separator: ":").last }.map(String.init)
    func cite(_ label: String, _ rules: [RuleCitation]) {
      for rule in rules {
        out += "\(indent)\(label) \(rule.location): \(rule.shortRule(keeping: permission.map { [$0] } ?? []))"
          + (rule.condition.map { " [if \($0)]" } ?? "") + "\n"
        let depth = label.prefix { $0 == " " }.count + 2
        if let via = rule.viaText { out += indent + String(repeating: " ", count: depth) + via + "\n" }
      }
    }
    if let origins = step.origins { cite("from", origins) }
    if let closest = step.closest, let permission {
      let className = step.text.split(separator: ":").first.map(String.init) ?? "?"
      if closest.isEmpty && step.switchedOff == nil {
        out += "\(indent)no source rule for this source/target/class grants any \(className) permission\n"
      } else if !closest.isEmpty {
        out += "\(indent)missing \(className):\(permission); closest source rules (same source, target and class):\n"
        cite("  at", closest)
      }
    }
    if let off = step.switchedOff { cite("switched off:", off) }
    if let never = step.forbiddenBy { cite("forbidden by", never) }
    if let note = step.originNote { out += "\(indent)(\(note))\n" }
    return out
  }
}
