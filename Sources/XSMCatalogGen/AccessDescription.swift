import XSMCatalog

/// Plain-English descriptions of who may call an op under dummy, silo and
/// flask, derived only from the catalog's lines (no system, no policy).
enum AccessDescription {
  // MARK: Parties

  /// `the caller`, `the target domain`, `xen_t`, `the new channel's label`.
  static func party(_ endpoint: Endpoint) -> String {
    let base: String
    switch endpoint.name {
    case "current": base = "the caller"
    case "target": base = "the target domain"
    case "dm": base = "the device model"
    case "source": base = "the source domain"
    case "client": base = "the client domain"
    case "child": base = "the child domain"
    case "parent": base = "the parent domain"
    case "granter": base = "the granting domain"
    case "recipient": base = "the receiving domain"
    case "dest": base = "the destination domain"
    case "owner": base = "the owning domain"
    case "remote": base = "the remote domain"
    case "pg_owner": base = "the page owner"
    case "pt_owner": base = "the page-table owner"
    case "real_owner": base = "the page's real owner"
    case "foreign": base = "the foreign domain"
    case "partner": base = "the partner domain"
    case "new": base = endpoint.raw ? "the new label" : "the new domain"
    case "old": base = "the domain's old label"
    case "channel": base = "the new channel's label"
    case "remote_channel": base = "the remote port's label"
    case "new_label": base = "the new domain's label"
    case "irq_label": base = "the IRQ's label"
    case "pci_label": base = "the PCI device's label"
    case "dt_label": base = "the device-tree node's label"
    case "iomem_label": base = "the I/O memory range's label"
    case "ioport_label": base = "the I/O port range's label"
    default: base = "`\(endpoint.name)`"
    }
    let isLabel = endpoint.kind != .domain || endpoint.name == "new" || endpoint.name == "old"
    return endpoint.raw && !isLabel ? "\(base), by its plain label" : base
  }

  /// `the target domain's` — a party in the possessive.
  static func possessive(_ endpoint: Endpoint) -> String {
    let name = party(Endpoint(endpoint.name))
    if name.hasSuffix("`") { return name + "'s" }
    return name.hasSuffix("s") ? name + "'" : name + "'s"
  }

  // MARK: Conditions

  /// `if `writable`` / `unless `revoke``.
  static func situation(_ condition: Condition) -> String {
    (condition.negated ? "unless " : "if ") + "`\(condition.name)`"
  }

  // MARK: Dummy

  /// The rule of one dummy step, as a sentence fragment starting in lower case.
  static func dummyRule(_ step: DummyStep) -> String {
    let who = party(step.subject)
    let object = party(step.object)
    let ofObject = possessive(step.object)
    let action = step.other ? "`XSM_OTHER=\(step.action.rawValue)`" : "`\(step.action.rawValue)`"
    var text: String
    switch step.action {
    case .hook:
      text = "anyone may call it (\(action))"
    case .target:
      text = "allowed when \(who) is \(object) itself, \(ofObject) device model or the control domain (\(action))"
    case .xsPriv:
      text = "allowed when \(who) is the xenstore domain, \(ofObject) device model or the control domain; "
        + "being \(object) itself is not enough (\(action))"
    case .dmPriv:
      text = "allowed when \(who) is \(ofObject) device model or the control domain (\(action))"
    case .priv:
      text = "allowed only when \(who) is the control domain (\(action))"
    case .none:
      text = "no XSM decision: anyone may call it, subject to Xen's checks outside XSM"
    case .enosys:
      text = "not available: the dummy module does not implement `xsm_op` and fails it with ENOSYS"
    case .allow:
      text = step.other ? "always allowed (\(action))" : "always allowed: the hook has no default action"
    }
    if let condition = step.condition { text = situation(condition) + ": " + text }
    return text
  }

  /// The dummy module's answer for an op: one line, or a lead-in and one line per step.
  static func dummy(_ op: Op) -> (lead: String, steps: [String]) {
    if op.hooks.isEmpty {
      return ("no XSM hook on this path: anyone may call it, subject to Xen's checks outside XSM.", [])
    }
    if op.dummy.isEmpty { return ("the catalog gives no dummy rule.", []) }
    let other = op.dummy.contains(where: \.other)
      ? " The hook has its own logic (`XSM_OTHER`); the notes say where it departs from this." : ""
    if op.dummy.count == 1, let step = op.dummy.first { return (dummyRule(step) + "." + other, []) }
    return ("every step that applies must pass." + other, op.dummy.map { dummyRule($0) + "." })
  }

  // MARK: Silo

  /// Silo's answer: the same as dummy, or dummy behind silo's predicate.
  static func silo(_ op: Op) -> String {
    guard let rule = op.silo, !op.hooks.isEmpty else {
      return "the same as dummy; silo adds no rule here."
    }
    let left = party(rule.left)
    let right = party(rule.right)
    let restriction: String
    if rule.left.isCaller {
      restriction = "the caller and \(right) must be the same domain, or one of them must be the control domain"
    } else if rule.right.isCaller {
      restriction = "the caller and \(left) must be the same domain, or one of them must be the control domain"
    } else {
      restriction = "\(left) and \(right) must be the same domain, or the caller, \(left) or \(right) "
        + "must be the control domain"
    }
    return "first \(restriction) (otherwise EPERM); then the dummy rule applies."
  }

  // MARK: Flask

  /// One check: `` `domain:pause`: the caller → the target domain ``, plus its condition and intent.
  static func check(_ check: FlaskCheck) -> String {
    let permissions = check.permissions.map { "`\(check.securityClass):\($0)`" }
    var text = permissions.joined(separator: " and ") + ": " + party(check.subject) + " → " + party(check.object)
    if let condition = check.condition {
      text += condition.negated ? ", unless `\(condition.name)`" : ", only if `\(condition.name)`"
    }
    if let intended = check.intended { text += " (the code meant to check `\(intended)`)" }
    return text
  }

  /// Flask's answer for an op: one line, or a lead-in and one line per check.
  static func flask(_ op: Op) -> (lead: String, checks: [String]) {
    if op.hooks.isEmpty { return ("no XSM hook on this path, so no check.", []) }
    if !op.checks.isEmpty {
      if op.checks.count == 1, let only = op.checks.first { return (check(only) + ".", []) }
      return ("every check that applies must pass.", op.checks.map { check($0) + "." })
    }
    switch op.flask {
    case .unclassified:
      return (
        "flask has no case for this op, so `avc_unknown_permission` decides: it is denied (EPERM) unless the "
          + "policy allows unknown permissions (`allow_unknown`) or flask is permissive.", []
      )
    case .unchecked, nil:
      return ("the hook makes no permission check, so the call is allowed.", [])
    }
  }

  /// One-line summary of an op's rules, for the build walkthrough.
  static func brief(_ op: Op) -> String {
    let dummy = dummy(op)
    let dummyText = dummy.steps.isEmpty ? dummy.lead : dummy.steps.joined(separator: " ")
    let flask = flask(op)
    let flaskText = flask.checks.isEmpty ? flask.lead : flask.checks.joined(separator: " ")
    return "dummy: \(dummyText) Flask: \(flaskText)"
  }
}
