import XSMCatalog

/// Writes `bindings/rust/xsm_ops.rs`: one self-contained module, no crates.
struct RustBindingWriter {
  var table: BindingTable
  var catalog: OpCatalog
  var source: String

  func render() -> String {
    var out: [String] = []
    out.append("// \(GeneratedArtefacts.doNotEditNotice(source: source))")
    out.append("//")
    let legacy = table.rows.count { $0.op.kind == .legacy }
    out.append(
      "// The Xen hypercall op catalog as Rust data: \(table.rows.count) ops (\(legacy) legacy, "
        + "\(table.rows.count - legacy) split).")
    out.append("//")
    out += Bindings.idExplanation(prefix: "// ")
    out.append("//")
    for line in Bindings.checkExplanation { out.append("// \(line)") }
    out.append("")
    out.append("#![allow(dead_code)]")
    out.append("")
    out += typeDeclarations
    out.append("")
    out.append("/// Tag of a legacy op id (bits 60-63).")
    out.append("pub const OP_ID_TAG_LEGACY: u64 = \(OpIdentifier.Tag.legacy.rawValue);")
    out.append("/// Tag of the id of a legacy op without a hypercall.")
    out.append("pub const OP_ID_TAG_INTERNAL: u64 = \(OpIdentifier.Tag.internalCallSite.rawValue);")
    out.append("/// Tag of a split op id.")
    out.append("pub const OP_ID_TAG_SPLIT: u64 = \(OpIdentifier.Tag.split.rawValue);")
    out.append("")
    out.append("/// The tag of an op id.")
    out.append("pub const fn op_id_tag(id: u64) -> u64 {")
    out.append("    id >> 60")
    out.append("}")
    out.append("")
    for call in table.hypercalls {
      out.append("/// `\(call.name)`.")
      out.append("pub const HYPERCALL_\(OpIdentifier.upperSnake(call.shortName)): u32 = \(call.number);")
    }
    out.append("")
    for family in table.families {
      out.append("/// FNV-1a-32 hash of the family name `\(family.name)` (bits 16-47 of its split op ids).")
      out.append(
        "pub const FAMILY_\(OpIdentifier.upperSnake(family.name)): u32 = 0x\(String(family.hash, radix: 16));")
    }
    out.append("")
    for row in table.rows {
      let constant = OpIdentifier.rustConstant(row.op.name)
      out.append("/// Id of `\(row.op.name)`.")
      out.append("pub const \(constant): u64 = \(OpIdentifier.hex(row.id));")
      for alias in row.op.aliases {
        out.append("/// Id of `\(alias)`, an alias of `\(row.op.name)`.")
        out.append("pub const \(OpIdentifier.rustConstant(alias)): u64 = \(constant);")
      }
    }
    out.append("")
    out.append("/// Every op: families in name order, legacy ops in catalog order, then split ops by number.")
    out.append("pub const OPS: &[Op] = &[")
    for row in table.rows { out += opLiteral(row) }
    out.append("];")
    out.append("")
    out += [
      "/// The op with this id.",
      "pub fn op_by_id(id: u64) -> Option<&'static Op> {",
      "    OPS.iter().find(|op| op.id == id)",
      "}",
      "",
      "/// The op with this name or alias.",
      "pub fn op_by_name(name: &str) -> Option<&'static Op> {",
      "    OPS.iter()",
      "        .find(|op| op.name == name || op.aliases.iter().any(|alias| *alias == name))",
      "}",
    ]
    return out.joined(separator: "\n") + "\n"
  }

  private var typeDeclarations: [String] {
    let derive = "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]"
    return [
      "/// Whether an op is one of today's or one of the proposed ABI's.",
      derive,
      "pub enum OpKind {",
      "    Legacy,",
      "    Split,",
      "}",
      "",
      "/// Who may issue an op.",
      derive,
      "pub enum PrivilegeClass {",
      "    /// A kernel or toolstack must mediate it.",
      "    Privileged,",
      "    /// A guest may issue it about itself.",
      "    Logical,",
      "    /// Logical on the caller itself, privileged on another domain.",
      "    Mixed,",
      "}",
      "",
      "/// What flask does for an op.",
      derive,
      "pub enum FlaskRule {",
      "    /// The checks apply.",
      "    Checks,",
      "    /// The hook checks nothing.",
      "    NoCheck,",
      "    /// Flask has no case: denied unless the policy allows unknown permissions or flask is permissive.",
      "    Unclassified,",
      "    /// No XSM hook is called.",
      "    NoHook,",
      "}",
      "",
      "/// The dummy module's actions, as in Xen's dummy.h.",
      derive,
      "pub enum DummyAction {",
      "    /// XSM_HOOK: anyone.",
      "    Hook,",
      "    /// XSM_TARGET: the object itself, its device model or the control domain.",
      "    Target,",
      "    /// XSM_XS_PRIV: the xenstore domain, the object's device model or the control domain.",
      "    XsPriv,",
      "    /// XSM_DM_PRIV: the object's device model or the control domain.",
      "    DmPriv,",
      "    /// XSM_PRIV: the control domain.",
      "    Priv,",
      "    /// No hook on the path.",
      "    NoHook,",
      "    /// xsm_op, which dummy does not implement.",
      "    Enosys,",
      "    /// A hook without a default action: always allowed.",
      "    Allow,",
      "}",
      "",
      "/// A situation of one call that switches a rule on (`if`) or off (`unless`).",
      derive,
      "pub struct Condition {",
      "    pub name: &'static str,",
      "    /// True for `unless`.",
      "    pub negated: bool,",
      "}",
      "",
      "/// A hypercall and its number.",
      derive,
      "pub struct Hypercall {",
      "    pub name: &'static str,",
      "    pub number: u32,",
      "}",
      "",
      "/// One sub-op constant and its number (low == high unless a range).",
      "/// Sub-ops with the same level are alternatives; levels nest, outermost 0.",
      derive,
      "pub struct SubOp {",
      "    pub level: u32,",
      "    pub constant: &'static str,",
      "    pub low: u32,",
      "    pub high: u32,",
      "}",
      "",
      "/// One step of the dummy rule; every step whose condition holds must pass.",
      derive,
      "pub struct DummyStep {",
      "    pub action: DummyAction,",
      "    /// The hook has its own logic (XSM_OTHER); `action` is its common case.",
      "    pub other: bool,",
      "    pub subject: &'static str,",
      "    pub object: &'static str,",
      "    pub condition: Option<Condition>,",
      "}",
      "",
      "/// One flask permission an op needs.",
      derive,
      "pub struct Check {",
      "    pub security_class: &'static str,",
      "    pub permission: &'static str,",
      "    pub subject: &'static str,",
      "    pub object: &'static str,",
      "    /// The object's plain label rather than the derived one.",
      "    pub object_raw: bool,",
      "    pub condition: Option<Condition>,",
      "    /// `class:perm` the code meant to check, when it checks another by mistake.",
      "    pub intended: Option<&'static str>,",
      "}",
      "",
      "/// Silo's extra rule: allowed only if the caller, `left` or `right` is the control domain, or left is right.",
      derive,
      "pub struct Silo {",
      "    pub left: &'static str,",
      "    pub right: &'static str,",
      "}",
      "",
      "/// One op of the catalog.",
      derive,
      "pub struct Op {",
      "    pub id: u64,",
      "    pub name: &'static str,",
      "    pub aliases: &'static [&'static str],",
      "    pub kind: OpKind,",
      "    pub family: &'static str,",
      "    pub hypercall: Option<Hypercall>,",
      "    pub subops: &'static [SubOp],",
      "    /// Split ops: the number in the family.",
      "    pub number: Option<u32>,",
      "    /// Split ops: the lifecycle group.",
      "    pub group: Option<&'static str>,",
      "    pub class: PrivilegeClass,",
      "    pub targets: &'static [&'static str],",
      "    pub hooks: &'static [&'static str],",
      "    pub dummy: &'static [DummyStep],",
      "    pub flask: FlaskRule,",
      "    pub checks: &'static [Check],",
      "    pub silo: Option<Silo>,",
      "    /// Xen refuses the op on the caller itself under every module.",
      "    pub refuses_self: bool,",
      "    /// Split ops: the legacy ops they take over.",
      "    pub replaces: &'static [&'static str],",
      "    /// Legacy ops: the split ops that take them over.",
      "    pub replaced_by: &'static [&'static str],",
      "    /// Legacy ops no split op replaces: `unsplit` or `retire`.",
      "    pub coverage: Option<&'static str>,",
      "    pub summary: &'static str,",
      "}",
    ]
  }

  static func dummyVariant(_ action: DummyAction) -> String {
    switch action {
    case .hook: "Hook"
    case .target: "Target"
    case .xsPriv: "XsPriv"
    case .dmPriv: "DmPriv"
    case .priv: "Priv"
    case .none: "NoHook"
    case .enosys: "Enosys"
    case .allow: "Allow"
    }
  }

  static func flaskVariant(_ rule: BindingTable.FlaskRule) -> String {
    switch rule {
    case .checks: "Checks"
    case .noCheck: "NoCheck"
    case .unclassified: "Unclassified"
    case .noHook: "NoHook"
    }
  }

  private func strings(_ values: [String]) -> String {
    "&[" + values.map(Literal.rust).joined(separator: ", ") + "]"
  }

  private func optional(_ value: String?) -> String { value.map { "Some(\(Literal.rust($0)))" } ?? "None" }

  private func condition(_ name: String?, negated: Bool) -> String {
    guard let name else { return "None" }
    return "Some(Condition { name: \(Literal.rust(name)), negated: \(negated) })"
  }

  private func opLiteral(_ row: BindingTable.Row) -> [String] {
    let op = row.op
    var out: [String] = []
    out.append("    Op {")
    out.append("        id: \(OpIdentifier.rustConstant(op.name)),")
    out.append("        name: \(Literal.rust(op.name)),")
    out.append("        aliases: \(strings(op.aliases)),")
    out.append("        kind: OpKind::\(op.kind == .legacy ? "Legacy" : "Split"),")
    out.append("        family: \(Literal.rust(op.family)),")
    if let call = op.hypercall {
      out.append("        hypercall: Some(Hypercall { name: \(Literal.rust(call.name)), number: \(call.number) }),")
    } else {
      out.append("        hypercall: None,")
    }
    if op.subops.isEmpty {
      out.append("        subops: &[],")
    } else {
      out.append("        subops: &[")
      for subop in op.subops {
        out.append(
          "            SubOp { level: \(subop.level), constant: \(Literal.rust(subop.constant)), "
            + "low: \(subop.low), high: \(subop.high) },")
      }
      out.append("        ],")
    }
    out.append("        number: \(op.kind == .split ? op.number.map { "Some(\($0))" } ?? "None" : "None"),")
    out.append("        group: \(optional(op.group)),")
    let variant = op.privilege.rawValue.prefix(1).uppercased() + op.privilege.rawValue.dropFirst()
    out.append("        class: PrivilegeClass::\(variant),")
    out.append("        targets: \(strings(op.targets)),")
    out.append("        hooks: \(strings(op.hooks)),")
    if row.dummy.isEmpty {
      out.append("        dummy: &[],")
    } else {
      out.append("        dummy: &[")
      for step in row.dummy {
        out.append(
          "            DummyStep { action: DummyAction::\(Self.dummyVariant(step.action)), other: \(step.other), "
            + "subject: \(Literal.rust(step.subject)), object: \(Literal.rust(step.object)), "
            + "condition: \(condition(step.condition, negated: step.conditionNegated)) },")
      }
      out.append("        ],")
    }
    out.append("        flask: FlaskRule::\(Self.flaskVariant(row.flask)),")
    if row.checks.isEmpty {
      out.append("        checks: &[],")
    } else {
      out.append("        checks: &[")
      for check in row.checks {
        out.append(
          "            Check { security_class: \(Literal.rust(check.securityClass)), "
            + "permission: \(Literal.rust(check.permission)), subject: \(Literal.rust(check.subject)), "
            + "object: \(Literal.rust(check.object)), object_raw: \(check.objectRaw), "
            + "condition: \(condition(check.condition, negated: check.conditionNegated)), "
            + "intended: \(optional(check.intended)) },")
      }
      out.append("        ],")
    }
    if let silo = op.silo {
      out.append(
        "        silo: Some(Silo { left: \(Literal.rust(silo.left.description)), "
          + "right: \(Literal.rust(silo.right.description)) }),")
    } else {
      out.append("        silo: None,")
    }
    out.append("        refuses_self: \(op.refusesSelf),")
    let replaces = op.kind == .split ? BindingTable.replacedNames(op, in: catalog) : []
    out.append("        replaces: \(strings(replaces)),")
    out.append("        replaced_by: \(strings(row.replacedBy)),")
    out.append("        coverage: \(optional(row.coverage.isEmpty ? nil : row.coverage)),")
    out.append("        summary: \(Literal.rust(op.summary)),")
    out.append("    },")
    return out
  }
}
