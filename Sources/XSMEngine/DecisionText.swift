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
    }
    return out
  }
}
