import Foundation
import XSMCatalog

/// Renders `docs/ops.md`: the reference of every op in the catalog, grouped
/// by family, with who may call it under each XSM module and how the
/// proposed ABI treats it.
public enum OpReference {
  /// The whole reference. `source` is the catalog directory as the header
  /// names it.
  public static func markdown(_ catalog: OpCatalog, source: String = GeneratedArtefacts.defaultCatalogSource)
    -> String
  {
    var writer = ReferenceWriter(catalog: catalog, source: source)
    return writer.render()
  }

  /// The HTML anchor of an op's entry (`op-domctl-pausedomain`).
  public static func anchor(of opName: String) -> String {
    "op-" + opName.replacingOccurrences(of: ".", with: "-")
  }

  /// The HTML anchor of a family's section (`family-domctl`).
  public static func familyAnchor(of family: String) -> String { "family-" + family }
}

/// Builds the reference line by line.
private struct ReferenceWriter {
  let catalog: OpCatalog
  let source: String
  var lines: [String] = []

  init(catalog: OpCatalog, source: String) {
    self.catalog = catalog
    self.source = source
  }

  mutating func render() -> String {
    let notice = GeneratedArtefacts.doNotEditNotice(source: source).replacingOccurrences(of: "-->", with: "- ->")
    lines.append("<!-- \(notice) -->")
    lines.append("")
    lines.append("# Op reference")
    lines.append("")
    introduction()
    contents()
    buildSection()
    let (legacyFamilies, splitFamilies) = familyGroups
    if !legacyFamilies.isEmpty {
      lines.append("## <a id=\"legacy-ops\"></a>Legacy ops")
      lines.append("")
      paragraph(
        "The ops Xen offers today, by family. Each entry ends with what the proposed ABI does with the op: "
          + "the split ops that replace it, or the reason it is kept or retired.")
      for family in legacyFamilies { familySection(family) }
    }
    if !splitFamilies.isEmpty {
      lines.append("## <a id=\"split-ops\"></a>Split ops of the proposed ABI")
      lines.append("")
      paragraph(
        "The proposed ABI replaces multiplexed legacy ops with single-purpose ops, each privileged or logical "
          + "as a whole; [split-ops.md](split-ops.md) explains how the families and numbers were chosen. Each "
          + "entry names the legacy ops it replaces.")
      for family in splitFamilies { familySection(family) }
    }
    while lines.last == "" { lines.removeLast() }
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: Introduction and contents

  private mutating func introduction() {
    let legacy = catalog.legacyOps.count
    let split = catalog.splitOps.count
    let families = catalog.families.count
    paragraph(
      "This reference describes every operation in the op catalog: \(counted(legacy, "legacy op")) that Xen "
        + "offers today and \(counted(split, "split op")) that the proposed ABI offers in their place, in "
        + "\(counted(families, "family", plural: "families")). Each entry gives the op's hypercall and sub-op "
        + "numbers, what it does, its class, the XSM hooks on its path and who may call it under each XSM module. "
        + "Every statement comes from the catalog files in `\(source)`; the C, Rust and Go bindings under "
        + "`bindings/` carry the same data, and the id each entry shows is the op's constant there.")
    lines.append("How to read an entry:")
    lines.append("")
    lines.append(
      "- **Class.** *privileged* ops act on another domain's resources or on the platform, so a kernel or "
        + "toolstack must mediate them; *logical* ops are ones a guest or its userspace may issue about itself, "
        + "with the kernel only checking buffers; *mixed* ops are logical when the domain they name is the "
        + "caller and privileged otherwise (a consumer that knows only two classes treats them as privileged).")
    lines.append(
      "- **Who may call it** is derived from the catalog alone, for each of Xen's XSM modules. *dummy* is the "
        + "default module: the *control domain* is a domain created privileged (dom0, or a dom0less domain "
        + "given that capability), a *device model* of a domain is one that `domctl.set_target` attached to it, "
        + "and the *xenstore domain* is the one created with the xenstore flag. *silo* is dummy with one more "
        + "rule for event channels, grants and Argo. *flask* checks the listed permissions in the loaded policy; "
        + "a check reads `class:permission`: subject → object.")
    lines.append(
      "- In flask checks a domain object stands for its derived label: the subject's own self label when the "
        + "subject names itself, the subject's target label when the subject is the object's device model, and "
        + "otherwise the object's label. \"By its plain label\" marks the few checks that skip the derivation. "
        + "`resource:use_*` stands for whichever of `use_iommu`, `use_iommu_nointremap` and `use_noiommu` "
        + "matches the target domain's IOMMU.")
    lines.append(
      "- Conditions such as `if writable` or `unless revoke` name a situation of one call; a rule with a "
        + "condition applies only in (or only outside) that situation.")
    lines.append(
      "- These are the XSM decisions only. Xen applies further checks under every module (domains that may "
        + "not name themselves, I/O capability ranges, HVM parameter whitelists, remote-only lookups); an "
        + "entry mentions them where the catalog records them.")
    lines.append("")
  }

  /// Families that hold legacy ops, then families of split ops only, each sorted by name.
  private var familyGroups: (legacy: [String], split: [String]) {
    let legacy = Set(catalog.legacyOps.map(\.family))
    let families = catalog.sortedFamilies
    return (families.filter { legacy.contains($0) }, families.filter { !legacy.contains($0) })
  }

  private mutating func contents() {
    lines.append("## Contents")
    lines.append("")
    lines.append("- [How to build a domain](#how-to-build-a-domain)")
    let (legacyFamilies, splitFamilies) = familyGroups
    if !legacyFamilies.isEmpty {
      lines.append("- [Legacy ops](#legacy-ops)")
      contentsLines(legacyFamilies)
    }
    if !splitFamilies.isEmpty {
      lines.append("- [Split ops of the proposed ABI](#split-ops)")
      contentsLines(splitFamilies)
    }
    lines.append("")
  }

  private mutating func contentsLines(_ families: [String]) {
    for family in families {
      let ops = catalog.opsInFamily(family)
      let legacy = ops.filter { $0.kind == .legacy }
      let split = ops.filter { $0.kind == .split }
      var counts: [String] = []
      if !legacy.isEmpty { counts.append(counted(legacy.count, "legacy op")) }
      if !split.isEmpty { counts.append(counted(split.count, "split op")) }
      lines.append(
        "  - [`\(family)`](#\(OpReference.familyAnchor(of: family))) (\(counts.joined(separator: ", "))): "
          + ops.map { "[\($0.shortName)](#\(OpReference.anchor(of: $0.name)))" }.joined(separator: " · "))
    }
  }

  // MARK: How to build a domain

  private mutating func buildSection() {
    lines.append("## <a id=\"how-to-build-a-domain\"></a>How to build a domain")
    lines.append("")
    paragraph(DomainBuildSequence.introduction)
    var number = 0
    for step in DomainBuildSequence.steps {
      let ops = step.ops.compactMap { catalog.op(named: $0) }
      guard !ops.isEmpty else { continue }
      number += 1
      let marker = "\(number). "
      // Nested lines line up with the item's text, as CommonMark requires.
      let indent = String(repeating: " ", count: marker.count)
      lines.append("\(marker)**\(step.title).** \(step.text)")
      for op in ops {
        lines.append("\(indent)- \(link(op.name)): \(prose(op.summary))")
        let dummy = AccessDescription.dummy(op)
        lines.append("\(indent)  - dummy: \(prose(dummy.lead))")
        for line in dummy.steps { lines.append("\(indent)    - \(prose(line))") }
        let flask = AccessDescription.flask(op)
        lines.append("\(indent)  - flask: \(prose(flask.lead))")
        for line in flask.checks { lines.append("\(indent)    - \(prose(line))") }
      }
    }
    lines.append("")
  }

  // MARK: Families and ops

  private mutating func familySection(_ family: String) {
    lines.append("### <a id=\"\(OpReference.familyAnchor(of: family))\"></a>`\(family)`")
    lines.append("")
    let ops = catalog.opsInFamily(family)
    let legacy = ops.count { $0.kind == .legacy }
    let split = ops.count - legacy
    var parts: [String] = []
    if legacy > 0 { parts.append(counted(legacy, "legacy op")) }
    if split > 0 { parts.append(counted(split, "split op")) }
    let calls = Set(ops.compactMap { $0.hypercall?.name }).sorted()
    var text = "The `\(family)` family has \(parts.joined(separator: " and "))."
    if !calls.isEmpty {
      text += " They go through " + calls.map { "`\($0)`" }.joined(separator: ", ") + "."
    }
    paragraph(text)
    for op in ops { entry(op) }
  }

  private mutating func entry(_ op: Op) {
    lines.append("#### <a id=\"\(OpReference.anchor(of: op.name))\"></a>`\(op.name)`")
    lines.append("")
    if !op.summary.isEmpty { paragraph(prose(op.summary)) }

    lines.append("| Field | Value |")
    lines.append("| --- | --- |")
    func row(_ field: String, _ value: String) { lines.append("| \(field) | \(cell(value)) |") }
    if op.kind == .legacy {
      row("Kind", "legacy op")
    } else {
      var kind = "split op of the proposed ABI"
      if let number = op.number { kind += ", number \(number) in `\(op.family)`" }
      if let group = op.group { kind += ", group `\(group)`" }
      row("Kind", kind)
    }
    if !op.aliases.isEmpty { row("Aliases", op.aliases.map { "`\($0)`" }.joined(separator: ", ")) }
    if let call = op.hypercall {
      row("Hypercall", "`\(call.name)` (\(call.number))")
    } else if op.kind == .legacy {
      row("Hypercall", "none: an internal call site")
    }
    for (level, alternatives) in op.subopLevels.enumerated() {
      let names = alternatives.map { "`\($0.constant)` (\($0.numberText))" }
      let text =
        names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "") : names.joined()
      row(level == 0 ? "Sub-op" : "Sub-op, level \(level + 1)", text)
    }
    row("Class", classText(op.privilege))
    if !op.targets.isEmpty { row("Target", op.targets.joined(separator: " + ")) }
    row("Hooks", op.hooks.isEmpty ? "none" : op.hooks.map { "`\($0)`" }.joined(separator: ", "))
    if op.kind == .split {
      let replaced = op.replaces.map { link($0) }
      row("Replaces", replaced.isEmpty ? "no legacy op" : replaced.joined(separator: ", "))
      if let base = op.inherits, !op.replaces.contains(base) { row("Rules from", link(base)) }
    }
    row("Id", "`\(OpIdentifier.cMacro(op.name))` = `\(OpIdentifier.hex(OpIdentifier.id(of: op)))`")
    row("Defined in", "`\(source)/\(catalog.relativeName(of: op.span.file))`")
    lines.append("")

    lines.append("**Who may call it**")
    lines.append("")
    let dummy = AccessDescription.dummy(op)
    lines.append("- *dummy*: \(prose(dummy.lead))")
    for step in dummy.steps { lines.append("  - \(prose(step))") }
    lines.append("- *silo*: \(prose(AccessDescription.silo(op)))")
    let flask = AccessDescription.flask(op)
    lines.append("- *flask*: \(prose(flask.lead))")
    for check in flask.checks { lines.append("  - \(prose(check))") }
    if op.refusesSelf {
      lines.append("- *every module*: Xen refuses the op when the caller names itself as the target.")
    }
    lines.append("")

    if op.kind == .legacy { paragraph("**In the proposed ABI:** " + fate(of: op)) }

    if !op.notes.isEmpty {
      lines.append("**Notes**")
      lines.append("")
      for note in op.notes { lines.append("- \(prose(note))") }
      lines.append("")
    }
  }

  /// What the proposed ABI does with a legacy op.
  private func fate(of op: Op) -> String {
    let replacements = catalog.splitOps(replacingAnyNameOf: op)
    if !replacements.isEmpty {
      return "replaced by " + replacements.map { link($0.name) }.joined(separator: ", ") + "."
    }
    if let rule = catalog.coverageRule(for: op.name) {
      let reason = prose(rule.reason)
      switch rule.kind {
      case .unsplit: return "kept as it is. \(reason)"
      case .retire: return "retired. \(reason)"
      }
    }
    return "not yet covered: no split op replaces it and no rule keeps or retires it."
  }

  private func classText(_ privilege: PrivilegeClass) -> String {
    switch privilege {
    case .privileged: "privileged: a kernel or toolstack must mediate it"
    case .logical: "logical: a guest may issue it about itself"
    case .mixed: "mixed: logical on the caller itself, privileged on another domain"
    }
  }

  // MARK: Text helpers

  /// A link to an op's entry when the catalog has it (aliases resolve to their op).
  private func link(_ name: String) -> String {
    guard let op = catalog.op(named: name) else { return "`\(name)`" }
    return "[`\(name)`](#\(OpReference.anchor(of: op.name)))"
  }

  private mutating func paragraph(_ text: String) {
    lines.append(text)
    lines.append("")
  }

  private func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
  }

  /// Catalog prose made safe for Markdown: `<` and `>` outside code spans
  /// become entities, so text such as `<denied>` is shown, not swallowed as HTML.
  private func prose(_ text: String) -> String {
    var out = ""
    var inCode = false
    for ch in text {
      if ch == "`" { inCode.toggle() }
      switch ch {
      case "<" where !inCode: out += "&lt;"
      case ">" where !inCode: out += "&gt;"
      default: out.append(ch)
      }
    }
    return out
  }

  /// A table cell: prose with `|` escaped and no line breaks.
  private func cell(_ text: String) -> String {
    prose(text).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
  }
}
