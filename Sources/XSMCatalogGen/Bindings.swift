import Foundation
import XSMCatalog
import XSMDiagnostics

/// Renders the op catalog as source code for other languages: a C header,
/// a Rust module and a Go package holding the same table (op ids and
/// numbers, class, hooks, dummy rule and required flask checks).
public enum Bindings {
  /// The C header `bindings/c/xsm_ops.h`.
  public static func cHeader(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource) -> String {
    CBindingWriter(table: BindingTable(catalog), catalog: catalog, source: source).render()
  }

  /// The C header `bindings/c/xsm_abi.h`: the split ops' payload layouts as
  /// structs with static asserts and encode/decode helpers.
  public static func cABIHeader(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    CLayoutWriter(catalog: catalog, source: source).render()
  }

  /// The Rust module `bindings/rust/xsm_abi.rs`: the payload layouts as
  /// `#[repr(C)]` structs with offset and size assertions and decode/encode.
  public static func rustABIModule(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    RustLayoutWriter(catalog: catalog, source: source).render()
  }

  /// The Go file `bindings/go/xsmabi/xsmabi.go`: the payload layouts as structs with Decode/Encode.
  public static func goABIPackage(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    GoLayoutWriter(catalog: catalog, source: source).render()
  }

  /// The Go test `bindings/go/xsmabi/xsmabi_test.go`: offsets and sizes by `unsafe`, and round trips.
  public static func goABITest(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    GoLayoutWriter(catalog: catalog, source: source).renderTest()
  }

  /// The Rust module `bindings/rust/xsm_ops.rs`.
  public static func rustModule(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    RustBindingWriter(table: BindingTable(catalog), catalog: catalog, source: source).render()
  }

  /// The Go file `bindings/go/xsmops/xsmops.go` (package `xsmops`).
  public static func goPackage(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    GoBindingWriter(table: BindingTable(catalog), catalog: catalog, source: source).render()
  }

  /// The sentence every binding's header comment gives about op ids.
  static let idIntro: [String] = [
    "Op ids are stable 64-bit numbers: they come from an op's numbers, never from",
    "its position in the table. Their layout:",
  ]

  /// The layout of an op id, one line per field (no common indentation).
  static let idLayout: [String] = [
    "bits 60-63  tag: 1 legacy op, 2 legacy op without a hypercall (an internal",
    "            call site), 3 split op",
    "legacy op:  bits 56-59 the number of sub-op levels (0-3), bits 48-55 the",
    "            hypercall number, bits 32-47, 16-31 and 0-15 sub-op levels 1, 2",
    "            and 3 (a range counts as its low number)",
    "internal:   bits 0-31 the FNV-1a-32 hash of the op name",
    "split op:   bits 16-47 the FNV-1a-32 hash of the family name, bits 0-15 the",
    "            op's number in its family",
  ]

  /// The id explanation as comment lines after `prefix` (`" * "`, `"// "`).
  static func idExplanation(prefix: String) -> [String] {
    idIntro.map { prefix + $0 } + [prefix.trailingSpacesRemoved] + idLayout.map { (prefix + "    " + $0) }
  }

  /// The paragraph about check rows.
  static let checkExplanation: [String] = [
    "Each check row is one flask permission; every row whose condition holds",
    "must pass. Domain objects stand for the derived label (the subject's own",
    "self label when it names itself, its target label when it is the object's",
    "device model) unless object_raw is set. `use_*` in class resource is",
    "whichever of use_iommu, use_iommu_nointremap and use_noiommu matches the",
    "target domain's IOMMU.",
  ]
}

/// The macro names the C header defines, shared by the writer and the
/// clash check.
enum CBindingNames {
  /// Per-op macros after the id: `name` and its numeric value text.
  static func numberMacros(for op: Op) -> [(name: String, value: String)] {
    let stem = OpIdentifier.cMacro(op.name)
    var macros: [(String, String)] = []
    if let call = op.hypercall { macros.append((stem + "__HYPERCALL", "\(call.number)")) }
    for (level, alternatives) in op.subopLevels.enumerated() {
      for (index, subop) in alternatives.enumerated() {
        let name = stem + "__SUBOP\(level + 1)" + (index == 0 ? "" : "_ALT\(index + 1)")
        macros.append((name, "\(subop.low)"))
        if subop.high != subop.low { macros.append((name + "_LAST", "\(subop.high)")) }
      }
    }
    if op.kind == .split, let number = op.number { macros.append((stem + "__NUMBER", "\(number)")) }
    return macros
  }

  static func hypercallMacro(_ call: Hypercall) -> String { "XSM_HYPERCALL_" + OpIdentifier.upperSnake(call.shortName) }
  static func familyMacro(_ family: String) -> String { "XSM_FAMILY_" + OpIdentifier.upperSnake(family) }

  /// Macro names defined twice (other than the op ids and aliases, which
  /// `OpIdentifier.problems` checks).
  static func clashes(in catalog: OpCatalog) -> [Diagnostic] {
    var owner: [String: Op] = [:]
    for op in catalog.ops {
      owner[OpIdentifier.cMacro(op.name)] = owner[OpIdentifier.cMacro(op.name)] ?? op
      for alias in op.aliases { owner[OpIdentifier.cMacro(alias)] = owner[OpIdentifier.cMacro(alias)] ?? op }
    }
    var problems: [Diagnostic] = []
    for op in catalog.ops {
      for macro in numberMacros(for: op) {
        if let earlier = owner[macro.name] {
          problems.append(
            Diagnostic(
              .docs.identifierClash, .error,
              "the C macro `\(macro.name)` of `\(op.name)` is also defined for `\(earlier.name)`", span: op.span))
        } else {
          owner[macro.name] = op
        }
      }
    }
    var hypercallNumbers: [String: Int] = [:]
    for op in catalog.ops {
      guard let call = op.hypercall else { continue }
      let name = hypercallMacro(call)
      if let number = hypercallNumbers[name], number != call.number {
        problems.append(
          Diagnostic(
            .docs.identifierClash, .error,
            "`\(call.name)` is given two numbers, \(number) and \(call.number)", span: op.span))
      }
      hypercallNumbers[name] = call.number
    }
    return problems
  }
}

/// Writes `bindings/c/xsm_ops.h`.
struct CBindingWriter {
  var table: BindingTable
  var catalog: OpCatalog
  var source: String

  func render() -> String {
    var out: [String] = []
    let notice = GeneratedArtefacts.doNotEditNotice(source: source).replacingOccurrences(of: "*/", with: "* /")
    out.append("/* \(notice)")
    out.append(" *")
    out.append(" * The Xen hypercall op catalog as C data: \(countText).")
    out.append(" *")
    out += Bindings.idExplanation(prefix: " * ")
    out.append(" *")
    for line in Bindings.checkExplanation { out.append(" * \(line)") }
    out.append(" *")
    out.append(" * To walk the table:")
    out.append(" *")
    out.append(" *     for (size_t i = 0; i < XSM_OPS_COUNT; i++) {")
    out.append(" *         const struct xsm_op *op = &xsm_ops[i];")
    out.append(" *         for (uint32_t j = 0; j < op->check_count; j++)")
    out.append(" *             use(op->name, op->checks[j].security_class, op->checks[j].permission);")
    out.append(" *     }")
    out.append(" *")
    out.append(" * xsm_ops also ends with an all-zero entry, so `for (op = xsm_ops; op->name; op++)`")
    out.append(" * works too.")
    out.append(" */")
    out.append("#ifndef XSM_OPS_H")
    out.append("#define XSM_OPS_H")
    out.append("")
    out.append("#include <stddef.h>")
    out.append("#include <stdint.h>")
    out.append("#include <string.h>")
    out.append("")
    out.append("#if defined(__GNUC__) || defined(__clang__)")
    out.append("#define XSM_OPS_UNUSED __attribute__((unused))")
    out.append("#else")
    out.append("#define XSM_OPS_UNUSED")
    out.append("#endif")
    out.append("")
    out.append("/* The number of ops in xsm_ops, not counting the final all-zero entry. */")
    out.append("#define XSM_OPS_COUNT \(table.rows.count)u")
    out.append("")
    out.append("/* The tag of an op id (bits 60-63). */")
    out.append("#define XSM_OP_ID_TAG(id) ((unsigned)((uint64_t)(id) >> 60))")
    out.append("#define XSM_OP_ID_TAG_LEGACY \(OpIdentifier.Tag.legacy.rawValue)u")
    out.append("#define XSM_OP_ID_TAG_INTERNAL \(OpIdentifier.Tag.internalCallSite.rawValue)u")
    out.append("#define XSM_OP_ID_TAG_SPLIT \(OpIdentifier.Tag.split.rawValue)u")
    out.append("")
    out.append("/* Hypercall numbers. */")
    for call in table.hypercalls {
      out.append("#define \(CBindingNames.hypercallMacro(call)) \(call.number)")
    }
    out.append("")
    out.append("/* Families: the FNV-1a-32 hash of each name, bits 16-47 of its split op ids. */")
    for family in table.families {
      let hash = String(family.hash, radix: 16).leftPaddedHex(8)
      out.append("#define \(CBindingNames.familyMacro(family.name)) UINT32_C(0x\(hash))")
    }
    out.append("")
    out.append("/* Op ids, hypercall and sub-op numbers, split op numbers and aliases. __SUBOPn")
    out.append(" * is sub-op level n, __SUBOPn_ALTk its k-th alternative and _LAST the end of")
    out.append(" * a range. */")
    for row in table.rows {
      let stem = OpIdentifier.cMacro(row.op.name)
      out.append("#define \(stem) UINT64_C(\(OpIdentifier.hex(row.id)))")
      for macro in CBindingNames.numberMacros(for: row.op) { out.append("#define \(macro.name) \(macro.value)") }
      for alias in row.op.aliases { out.append("#define \(OpIdentifier.cMacro(alias)) \(stem)") }
    }
    out.append("")
    out += typeDeclarations
    out.append("")
    out += tables
    out.append("")
    out += lookupFunctions
    out.append("")
    out.append("#endif /* XSM_OPS_H */")
    return out.joined(separator: "\n") + "\n"
  }

  private var countText: String {
    let legacy = table.rows.count { $0.op.kind == .legacy }
    return "\(table.rows.count) ops (\(legacy) legacy, \(table.rows.count - legacy) split)"
  }

  private var typeDeclarations: [String] {
    [
      "/* Whether an op is one of today's or one of the proposed ABI's. */",
      "enum xsm_op_kind {",
      "    XSM_OP_KIND_LEGACY = 0,",
      "    XSM_OP_KIND_SPLIT = 1",
      "};",
      "",
      "/* Who may issue an op: privileged (a kernel or toolstack must mediate it),",
      " * logical (a guest may issue it about itself) or mixed (logical on the",
      " * caller itself, privileged on another domain). */",
      "enum xsm_op_class {",
      "    XSM_OP_CLASS_PRIVILEGED = 0,",
      "    XSM_OP_CLASS_LOGICAL = 1,",
      "    XSM_OP_CLASS_MIXED = 2",
      "};",
      "",
      "/* What flask does: apply the check rows, check nothing, fall to",
      " * avc_unknown_permission (denied unless the policy allows unknown",
      " * permissions or flask is permissive), or nothing because no hook is called. */",
      "enum xsm_flask_rule {",
      "    XSM_FLASK_CHECKS = 0,",
      "    XSM_FLASK_NO_CHECK = 1,",
      "    XSM_FLASK_UNCLASSIFIED = 2,",
      "    XSM_FLASK_NO_HOOK = 3",
      "};",
      "",
      "/* The dummy module's actions, as in Xen's dummy.h (NONE: no hook; ENOSYS:",
      " * xsm_op, which dummy does not implement; ALLOW: a hook without a default). */",
      "enum xsm_dummy_action {",
    ] + DummyAction.allCases.enumerated().map { index, action in
      "    \(Self.dummyEnumerator(action)) = \(index)\(index == DummyAction.allCases.count - 1 ? "" : ",")"
    } + [
      "};",
      "",
      "/* One sub-op constant and its number (low == high unless a range). Rows with",
      " * the same level are alternatives; levels nest, outermost 0. */",
      "struct xsm_op_subop {",
      "    uint32_t level;",
      "    const char *constant;",
      "    uint32_t low;",
      "    uint32_t high;",
      "};",
      "",
      "/* One step of the dummy rule; every step whose condition holds must pass.",
      " * other is 1 when the hook has its own logic (XSM_OTHER) and action is the",
      " * rule it applies in the common case. */",
      "struct xsm_dummy_step {",
      "    enum xsm_dummy_action action;",
      "    uint8_t other;",
      "    const char *subject;",
      "    const char *object;",
      "    const char *condition; /* NULL: always applies */",
      "    uint8_t condition_negated; /* 1: applies unless the condition holds */",
      "};",
      "",
      "/* One flask permission an op needs. */",
      "struct xsm_op_check {",
      "    const char *security_class;",
      "    const char *permission;",
      "    const char *subject;",
      "    const char *object;",
      "    uint8_t object_raw; /* 1: the object's plain label, not the derived one */",
      "    const char *condition; /* NULL: always applies */",
      "    uint8_t condition_negated; /* 1: applies unless the condition holds */",
      "    const char *intended; /* \"class:perm\" the code meant to check, or NULL */",
      "};",
      "",
      "/* One op. String lists are comma-joined (\"\" when empty); counts say how",
      " * many rows the pointers address (NULL when 0). */",
      "struct xsm_op {",
      "    uint64_t id;",
      "    const char *name;",
      "    const char *aliases;",
      "    enum xsm_op_kind kind;",
      "    const char *family;",
      "    const char *hypercall; /* \"__HYPERVISOR_domctl\", or NULL for none */",
      "    int32_t hypercall_number; /* -1 for none */",
      "    uint32_t subop_count;",
      "    const struct xsm_op_subop *subops;",
      "    int32_t number; /* split ops: number in the family; -1 for legacy ops */",
      "    const char *group; /* split ops: lifecycle group, or NULL */",
      "    enum xsm_op_class op_class;",
      "    const char *targets; /* kinds joined with '+' */",
      "    const char *hooks;",
      "    uint32_t dummy_count;",
      "    const struct xsm_dummy_step *dummy;",
      "    enum xsm_flask_rule flask;",
      "    uint32_t check_count;",
      "    const struct xsm_op_check *checks;",
      "    const char *silo_left; /* silo's extra rule, or NULL */",
      "    const char *silo_right;",
      "    uint8_t refuses_self; /* 1: Xen refuses the op on the caller itself */",
      "    const char *replaces; /* split ops: the legacy ops they take over */",
      "    const char *replaced_by; /* legacy ops: the split ops that take them over */",
      "    const char *coverage; /* legacy ops no split op replaces: \"unsplit\" or \"retire\" */",
      "    const char *summary;",
      "};",
    ]
  }

  static func dummyEnumerator(_ action: DummyAction) -> String {
    switch action {
    case .hook: "XSM_DUMMY_HOOK"
    case .target: "XSM_DUMMY_TARGET"
    case .xsPriv: "XSM_DUMMY_XS_PRIV"
    case .dmPriv: "XSM_DUMMY_DM_PRIV"
    case .priv: "XSM_DUMMY_PRIV"
    case .none: "XSM_DUMMY_NONE"
    case .enosys: "XSM_DUMMY_ENOSYS"
    case .allow: "XSM_DUMMY_ALLOW"
    }
  }

  static func classEnumerator(_ privilege: PrivilegeClass) -> String {
    "XSM_OP_CLASS_" + privilege.rawValue.uppercased()
  }

  static func flaskEnumerator(_ rule: BindingTable.FlaskRule) -> String {
    "XSM_FLASK_" + rule.rawValue.uppercased()
  }

  private func optional(_ text: String?) -> String { text.map(Literal.c) ?? "NULL" }

  private var tables: [String] {
    var subops: [String] = []
    var dummy: [String] = []
    var checks: [String] = []
    var ops: [String] = []
    for row in table.rows {
      let op = row.op
      let subopStart = subops.count
      for subop in op.subops {
        subops.append("    { \(subop.level)u, \(Literal.c(subop.constant)), \(subop.low)u, \(subop.high)u },")
      }
      let dummyStart = dummy.count
      for step in row.dummy {
        dummy.append(
          "    { \(Self.dummyEnumerator(step.action)), \(step.other ? 1 : 0), \(Literal.c(step.subject)), "
            + "\(Literal.c(step.object)), \(optional(step.condition)), \(step.conditionNegated ? 1 : 0) },")
      }
      let checkStart = checks.count
      for check in row.checks {
        checks.append(
          "    { \(Literal.c(check.securityClass)), \(Literal.c(check.permission)), \(Literal.c(check.subject)), "
            + "\(Literal.c(check.object)), \(check.objectRaw ? 1 : 0), \(optional(check.condition)), "
            + "\(check.conditionNegated ? 1 : 0), \(optional(check.intended)) },")
      }
      func pointer(_ name: String, _ start: Int, _ count: Int) -> String {
        count == 0 ? "NULL" : "&\(name)[\(start)]"
      }
      let replaces = op.kind == .split ? BindingTable.replacedNames(op, in: catalog) : []
      ops.append("    { /* \(op.name) */")
      ops.append("        \(OpIdentifier.cMacro(op.name)),")
      ops.append("        \(Literal.c(op.name)),")
      ops.append("        \(Literal.c(op.aliases.joined(separator: ","))),")
      ops.append("        XSM_OP_KIND_\(op.kind.rawValue.uppercased()),")
      ops.append("        \(Literal.c(op.family)),")
      ops.append("        \(optional(op.hypercall?.name)),")
      ops.append("        \(op.hypercall?.number ?? -1),")
      ops.append("        \(op.subops.count)u,")
      ops.append("        \(pointer("xsm_op_subops", subopStart, op.subops.count)),")
      ops.append("        \(op.kind == .split ? op.number ?? -1 : -1),")
      ops.append("        \(optional(op.group)),")
      ops.append("        \(Self.classEnumerator(op.privilege)),")
      ops.append("        \(Literal.c(op.targets.joined(separator: "+"))),")
      ops.append("        \(Literal.c(op.hooks.joined(separator: ","))),")
      ops.append("        \(row.dummy.count)u,")
      ops.append("        \(pointer("xsm_dummy_steps", dummyStart, row.dummy.count)),")
      ops.append("        \(Self.flaskEnumerator(row.flask)),")
      ops.append("        \(row.checks.count)u,")
      ops.append("        \(pointer("xsm_op_checks", checkStart, row.checks.count)),")
      ops.append("        \(optional(op.silo?.left.description)),")
      ops.append("        \(optional(op.silo?.right.description)),")
      ops.append("        \(op.refusesSelf ? 1 : 0),")
      ops.append("        \(Literal.c(replaces.joined(separator: ","))),")
      ops.append("        \(Literal.c(row.replacedBy.joined(separator: ","))),")
      ops.append("        \(Literal.c(row.coverage)),")
      ops.append("        \(Literal.c(op.summary))")
      ops.append("    },")
    }
    var out: [String] = []
    out.append("/* Sub-op rows, addressed by xsm_op.subops; the last row is all zero. */")
    out.append("static const struct xsm_op_subop xsm_op_subops[] XSM_OPS_UNUSED = {")
    out += subops
    out.append("    { 0u, NULL, 0u, 0u }")
    out.append("};")
    out.append("")
    out.append("/* Dummy rule rows, addressed by xsm_op.dummy; the last row is all zero. */")
    out.append("static const struct xsm_dummy_step xsm_dummy_steps[] XSM_OPS_UNUSED = {")
    out += dummy
    out.append("    { XSM_DUMMY_HOOK, 0, NULL, NULL, NULL, 0 }")
    out.append("};")
    out.append("")
    out.append("/* Check rows, addressed by xsm_op.checks; the last row is all zero. */")
    out.append("static const struct xsm_op_check xsm_op_checks[] XSM_OPS_UNUSED = {")
    out += checks
    out.append("    { NULL, NULL, NULL, NULL, 0, NULL, 0, NULL }")
    out.append("};")
    out.append("")
    out.append("/* Every op: families in name order, legacy ops in catalog order, then split")
    out.append(" * ops by number. The last entry is all zero. */")
    out.append("static const struct xsm_op xsm_ops[XSM_OPS_COUNT + 1] XSM_OPS_UNUSED = {")
    out += ops
    out.append(
      "    { 0, NULL, NULL, XSM_OP_KIND_LEGACY, NULL, NULL, -1, 0u, NULL, -1, NULL, XSM_OP_CLASS_PRIVILEGED, NULL,")
    out.append("      NULL, 0u, NULL, XSM_FLASK_CHECKS, 0u, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL }")
    out.append("};")
    return out
  }

  private var lookupFunctions: [String] {
    [
      "/* The op with this id, or NULL. */",
      "static inline const struct xsm_op *xsm_op_by_id(uint64_t id)",
      "{",
      "    for (size_t i = 0; i < XSM_OPS_COUNT; i++)",
      "        if (xsm_ops[i].id == id)",
      "            return &xsm_ops[i];",
      "    return NULL;",
      "}",
      "",
      "/* The op with this name (not alias), or NULL. */",
      "static inline const struct xsm_op *xsm_op_by_name(const char *name)",
      "{",
      "    for (size_t i = 0; i < XSM_OPS_COUNT; i++)",
      "        if (strcmp(xsm_ops[i].name, name) == 0)",
      "            return &xsm_ops[i];",
      "    return NULL;",
      "}",
    ]
  }
}

extension String {
  /// Hex digits left-padded with zeros.
  fileprivate func leftPaddedHex(_ width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }

  /// The line without trailing spaces.
  var trailingSpacesRemoved: String {
    var s = Substring(self)
    while s.last == " " { s.removeLast() }
    return String(s)
  }
}
