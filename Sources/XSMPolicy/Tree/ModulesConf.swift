import Foundation
import XSMDiagnostics

/// One module switch of a modules.conf.
public struct ModuleSwitch: Sendable, Codable, Equatable {
  /// The module's name (its `.te` file without the extension).
  public var name: String
  /// The word after `=`: `on`/`off`, or refpolicy's `base`/`module`/`off`.
  public var state: String
  /// Whether the layout's Makefile builds the module.
  public var enabled: Bool
  /// The module's `.te` file, when it is built.
  public var file: String?
}

/// Reads modules.conf the way each layout's Makefile does.
///
/// Xen's Makefile.common takes lines that start (after blanks) with a lower-case
/// letter and builds a module when the third blank-separated word is `on`;
/// refpolicy's takes lines that start with a letter and builds `base` and
/// `module` (a monolithic policy holds both). Lines those awk scripts would
/// silently skip although they look like switches get a warning, so a
/// `dom0=on` written without blanks does not vanish unnoticed.
enum ModulesConfReader {
  struct Line {
    var switchLine: ModuleSwitch
    var span: SourceSpan
    var text: String
  }

  static func read(_ text: String, path: String, layout: TreeLayout) -> (lines: [Line], diagnostics: [Diagnostic]) {
    var lines: [Line] = []
    var diagnostics: [Diagnostic] = []
    let words: Set<String> = layout == .refpolicy ? ["base", "module", "off"] : ["on", "off"]
    let expected = layout == .refpolicy ? "`name = base`, `name = module` or `name = off`" : "`name = on` or `name = off`"
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let raw = String(rawLine)
      let code = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
      let trimmed = code.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty { continue }
      let column = (code.firstIndex { $0 != " " && $0 != "\t" }.map { code.distance(from: code.startIndex, to: $0) } ?? 0) + 1
      let span = SourceSpan(file: path, line: index + 1, column: column, endColumn: column + trimmed.count)
      let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      let wellFormed = fields.count == 3 && fields[1] == "=" && words.contains(fields[2])
      if layout == .xsmtools {
        // The project's own reader is strict: a switch is `name = word`, blanks optional.
        let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, words.contains(parts[1]) else {
          diagnostics.append(Diagnostic(.tree.badModulesLine, .error, "expected \(expected)",
            span: span, label: "not a module switch", sourceLine: raw))
          continue
        }
        lines.append(Line(switchLine: ModuleSwitch(name: parts[0], state: parts[1], enabled: parts[1] == "on"),
          span: span, text: raw))
        continue
      }
      // Xen's and refpolicy's awk: the line must start with a (lower-case, for Xen) letter.
      let first = trimmed.unicodeScalars.first!
      let readByAwk = layout == .xen ? ("a"..."z").contains(first) : CharacterSet.letters.contains(first)
      guard readByAwk, wellFormed else {
        let makefile = layout == .xen ? "Xen's Makefile.common" : "refpolicy's Makefile"
        diagnostics.append(Diagnostic(.tree.badModulesLine, .warning,
          "\(makefile) skips this line: it expects \(expected) with blanks around `=`",
          span: span, label: "not read as a module switch", help: "the module stays out of the build", sourceLine: raw))
        continue
      }
      let enabled = layout == .refpolicy ? fields[2] != "off" : fields[2] == "on"
      lines.append(Line(switchLine: ModuleSwitch(name: fields[0], state: fields[2], enabled: enabled), span: span, text: raw))
    }
    return (lines, diagnostics)
  }
}
