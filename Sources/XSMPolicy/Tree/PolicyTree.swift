import Foundation
import XSMDiagnostics

/// A Xen-style policy source tree (the layout of Xen's `tools/flask/policy`
/// plus the hypervisor's class files under `flask/`), and its expansion
/// through the system `m4` in Xen's documented order.
///
/// ```
/// DIR/flask/{security_classes,initial_sids,access_vectors}   hypervisor classes and SIDs
/// DIR/{security_classes,access_vectors}                     local additions (optional)
/// DIR/support/*.spt  DIR/mls  DIR/global_tunables           macros, MLS, booleans
/// DIR/modules.conf   DIR/modules/NAME.{te,if,cons}          modules, `name = on|off`
/// DIR/users  DIR/initial_sids  DIR/device_contexts          users, SID contexts, ocontexts
/// ```
public struct PolicyTree: Sendable {
  /// The tree's directory as the user named it (used in diagnostics).
  public var directory: String
  /// Enabled modules in modules.conf order.
  public var modules: [String] = []
  /// The files given to m4, in order.
  public var files: [String] = []
  /// Names defined with m4 `define(...)` in the tree, for did-you-mean on unexpanded macros.
  public var macroNames: Set<String> = []

  /// True when `path` looks like a tree (a directory holding modules.conf).
  public static func isTree(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  private static func join(_ directory: String, _ file: String) -> String {
    directory == "." ? file : (directory.hasSuffix("/") ? directory + file : directory + "/" + file)
  }

  /// Reads modules.conf and lists the files to expand; problems are returned as diagnostics.
  public static func load(directory: String) -> (PolicyTree, [Diagnostic]) {
    var tree = PolicyTree(directory: directory)
    var diagnostics: [Diagnostic] = []
    let fm = FileManager.default
    func path(_ file: String) -> String { join(directory, file) }
    func exists(_ file: String) -> Bool { fm.fileExists(atPath: path(file)) }
    func missing(_ file: String, _ why: String) {
      diagnostics.append(
        Diagnostic(.tree.missingFile, .error, "`\(path(file))` is missing: \(why)",
          help: "a Xen policy tree has flask/security_classes, flask/initial_sids, flask/access_vectors, modules.conf, users and initial_sids"))
    }

    let modulesConf = "modules.conf"
    var enabled: [String] = []
    if let text = try? String(contentsOfFile: path(modulesConf), encoding: .utf8) {
      for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { continue }
        let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let column = (line.firstIndex { $0 != " " && $0 != "\t" }.map { line.distance(from: line.startIndex, to: $0) } ?? 0) + 1
        let span = SourceSpan(file: path(modulesConf), line: index + 1, column: column, endColumn: column + trimmed.count)
        guard parts.count == 2, !parts[0].isEmpty, parts[1] == "on" || parts[1] == "off" else {
          diagnostics.append(
            Diagnostic(.tree.badModulesLine, .error, "expected `name = on` or `name = off`",
              span: span, label: "not a module switch", sourceLine: String(rawLine)))
          continue
        }
        guard parts[1] == "on" else { continue }
        let name = parts[0]
        if !exists("modules/\(name).te") {
          let available = ((try? fm.contentsOfDirectory(atPath: path("modules"))) ?? [])
            .filter { $0.hasSuffix(".te") }.map { String($0.dropLast(3)) }
          let suggestion = Suggestion.closest(to: name, in: available)
          diagnostics.append(
            Diagnostic(.tree.unknownModule, .error, "module `\(name)` has no `modules/\(name).te`",
              span: span, label: "enabled here", help: suggestion.map { "did you mean `\($0)`?" }, sourceLine: String(rawLine)))
          continue
        }
        if enabled.contains(name) {
          diagnostics.append(
            Diagnostic(.tree.badModulesLine, .error, "module `\(name)` is listed twice", span: span,
              sourceLine: String(rawLine)))
          continue
        }
        enabled.append(name)
      }
    } else {
      missing(modulesConf, "it names the modules to build")
    }
    tree.modules = enabled

    var files: [String] = []
    for required in ["flask/security_classes"] where !exists(required) { missing(required, "the hypervisor's classes") }
    files.append("flask/security_classes")
    if exists("security_classes") { files.append("security_classes") }
    if !exists("flask/initial_sids") { missing("flask/initial_sids", "the hypervisor's initial SIDs") }
    files.append("flask/initial_sids")
    if !exists("flask/access_vectors") { missing("flask/access_vectors", "the hypervisor's permissions") }
    files.append("flask/access_vectors")
    if exists("access_vectors") { files.append("access_vectors") }
    let support = ((try? fm.contentsOfDirectory(atPath: path("support"))) ?? []).filter { $0.hasSuffix(".spt") }.sorted()
    files.append(contentsOf: support.map { "support/\($0)" })
    if exists("mls") { files.append("mls") }
    files.append(contentsOf: enabled.map { "modules/\($0).if" }.filter(exists))
    if exists("global_tunables") { files.append("global_tunables") }
    files.append(contentsOf: enabled.map { "modules/\($0).te" })
    if !exists("users") { missing("users", "the users of the policy") }
    files.append("users")
    files.append(contentsOf: enabled.map { "modules/\($0).cons" }.filter(exists))
    if !exists("initial_sids") { missing("initial_sids", "the contexts of the initial SIDs") }
    files.append("initial_sids")
    if exists("device_contexts") { files.append("device_contexts") }
    tree.files = files.filter(exists).map(path)

    let definePattern = try? NSRegularExpression(pattern: "define\\(`([A-Za-z_][A-Za-z0-9_]*)'")
    for file in tree.files where file.hasSuffix(".spt") || file.hasSuffix(".if") {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8), let definePattern else { continue }
      let range = NSRange(text.startIndex..., in: text)
      for match in definePattern.matches(in: text, range: range) {
        if let r = Range(match.range(at: 1), in: text) { tree.macroNames.insert(String(text[r])) }
      }
    }
    return (tree, diagnostics)
  }

  /// Runs `m4 -D self_contained_policy -s -D mls_num_sens=16 -D mls_num_cats=256 [-D enable_mls]`
  /// over the files and returns its output, whose `#line` markers name the
  /// original files. m4's own complaints become located diagnostics.
  public func expand(mls: Bool, m4Path: String = "m4") -> (String?, [Diagnostic]) {
    var arguments = ["-D", "self_contained_policy", "-s", "-D", "mls_num_sens=16", "-D", "mls_num_cats=256"]
    if mls { arguments += ["-D", "enable_mls"] }
    arguments += files
    let result: ProcessRunner.Output
    do {
      result = try ProcessRunner.run(m4Path, arguments)
    } catch {
      return (nil, [Diagnostic(.tree.m4Failed, .error, "cannot run `m4`: \(error.localizedDescription)",
        help: "install it with `apt-get install m4`")])
    }
    var diagnostics: [Diagnostic] = []
    let stderrText = result.errorText
    for line in stderrText.split(separator: "\n") {
      // m4:FILE:LINE: message
      let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
      if parts.count == 4, parts[0].hasSuffix("m4"), let number = Int(parts[2]) {
        let message = parts[3].trimmingCharacters(in: .whitespaces)
        let isWarning = message.lowercased().hasPrefix("warning")
        diagnostics.append(
          Diagnostic(.tree.m4, isWarning ? .warning : .error, "m4: \(message)",
            span: SourceSpan(file: String(parts[1]), line: number, column: 1)))
      } else {
        diagnostics.append(Diagnostic(.tree.m4, .error, "m4: \(line)"))
      }
    }
    if result.status != 0 && !diagnostics.contains(where: { $0.severity == .error }) {
      diagnostics.append(Diagnostic(.tree.m4Failed, .error, "m4 exited with status \(result.status)"))
    }
    return (result.text, diagnostics)
  }
}
