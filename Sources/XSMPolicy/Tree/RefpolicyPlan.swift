import Foundation
import XSMDiagnostics

/// The modules of a refpolicy-style tree: every `policy/modules/LAYER/NAME.te`,
/// sorted by path as GNU make's `$(sort)` gives `DETECTED_MODS`.
enum RefpolicyModules {
  struct Module {
    var name: String
    var te: String
  }

  static func all(in modulesDirectory: String) -> [Module] {
    let fm = FileManager.default
    var modules: [Module] = []
    for layer in (try? fm.contentsOfDirectory(atPath: modulesDirectory)) ?? [] where layer != "CVS" {
      let layerPath = TreePaths.join(modulesDirectory, layer)
      guard PolicyTree.isTree(layerPath) else { continue }
      for file in (try? fm.contentsOfDirectory(atPath: layerPath)) ?? [] where file.hasSuffix(".te") {
        modules.append(Module(name: String(file.dropLast(3)), te: TreePaths.join(layerPath, file)))
      }
    }
    return modules.sorted { $0.te < $1.te }
  }
}

extension TreePlanner {
  /// refpolicy's `Rules.monolithic`, as OpenXT's xsm-policy builds:
  ///
  /// 1. `tmp/pre_te_files.conf`: the classes, SIDs and permissions of `policy/flask/`,
  ///    `policy/support/*.spt`, `policy/mls`, `policy/mcs`;
  /// 2. `tmp/generated_definitions.conf`: `per_userdomain_templates` and a
  ///    `define(`NAME.te')` per module;
  /// 3. `tmp/all_interfaces.conf`: the support macros and every module's `.if`
  ///    through a first m4 run, with `dollarsstar` turned back into `$*`;
  /// 4. `tmp/all_attrs_types.conf`: the `attribute` and `type ` lines of every
  ///    module, hoisted ahead of all rules;
  /// 5. `policy/global_booleans`, `policy/global_tunables`;
  /// 6. `tmp/only_te_rules.conf`: the modules without the hoisted lines;
  /// 7. `tmp/all_post.conf`: `policy/systemuser`, `policy/users`, `policy/constraints`,
  ///    then the modules' `sid`, `fs_use_*` and `genfscon` lines.
  ///
  /// Modules are taken in path order, as the Makefile's `$(filter)` leaves them.
  /// m4 runs with `-D self_contained_policy [-D enable_mls | -D enable_mcs] -s`, and lines starting
  /// with `portcon`, `nodecon` or `netifcon` are dropped from its output.
  mutating func planRefpolicy(mls: Bool) {
    let policy = path("policy")
    func local(_ file: String) -> String { TreePaths.join(policy, file) }
    let classes = classesDirectory(default: "policy/flask", why: "refpolicy's FLASKDIR, policy/flask")
    let detected = RefpolicyModules.all(in: local("modules"))
    let read = readSwitches { name in detected.first { $0.name.lowercased() == name.lowercased() }?.te }
    let required = "refpolicy's Makefile reads it"
    add(TreePaths.join(classes, "security_classes"), "hypervisor classes (tmp/pre_te_files.conf)", required: required)
    add(TreePaths.join(classes, "initial_sids"), "hypervisor initial SIDs (tmp/pre_te_files.conf)", required: required)
    add(TreePaths.join(classes, "access_vectors"), "hypervisor permissions (tmp/pre_te_files.conf)", required: required)
    let support = supportFiles(local("support"))
    for file in support { add(file, "m4 support macros (tmp/pre_te_files.conf)") }
    add(local("mls"), "MLS declarations (tmp/pre_te_files.conf)", required: required)
    add(local("mcs"), "MCS declarations (tmp/pre_te_files.conf)", required: required)
    tree.m4Options = ["-D", "self_contained_policy"] + options.securityLevelDefinition(mls: mls) + ["-s"]
    tree.droppedLinePrefixes = ["portcon", "nodecon", "netifcon"]
    guard read else { return }

    let enabled = Set(tree.switches.compactMap(\.file))
    let modules = detected.filter { enabled.contains($0.te) }
    let names = modules.map { String(($0.te as NSString).lastPathComponent.dropLast(3)) }
    var definitions = "define(`per_userdomain_templates',`\n"
    for name in names {
      definitions += "ifdef(`\(name)_per_userdomain_template',`\(name)_per_userdomain_template($*)')\n"
    }
    definitions += "')\n" + names.map { "define(`\($0).te')\n" }.joined()
    tree.inputs.append(TreeInput(path: "tmp/generated_definitions.conf", role: "per-module definitions, made by the Makefile",
      kind: .generated, text: definitions))

    var interfaces: [String] = []
    for module in modules {
      let file = String(module.te.dropLast(3)) + ".if"
      if exists(file) { interfaces.append(file) } else { missing(file, "refpolicy's Makefile needs every module's .if") }
    }
    tree.inputs.append(TreeInput(path: "tmp/all_interfaces.conf",
      role: "support macros and the modules' .if through a first m4 run", kind: .interfaces,
      passFiles: support + interfaces))

    // The Makefile concatenates the .te files and greps declarations out of the result.
    var lines: [(text: Substring, origin: SourceLineOrigin)] = []
    for module in modules {
      guard let text = UTF8Text.read(module.te, into: &diagnostics) else { continue }
      var fileLines = text.split(separator: "\n", omittingEmptySubsequences: false)
      if text.hasSuffix("\n") { fileLines.removeLast() }
      for (index, line) in fileLines.enumerated() {
        lines.append((line, SourceLineOrigin(file: module.te, line: index + 1)))
      }
    }
    func isDeclaration(_ line: Substring) -> Bool { line.hasPrefix("attribute") || line.hasPrefix("type ") }
    func isPost(_ line: Substring) -> Bool { line.hasPrefix("sid ") || isFsUse(line) || line.hasPrefix("genfscon") }
    func isFsUse(_ line: Substring) -> Bool {
      ["fs_use_xattr", "fs_use_task", "fs_use_trans"].contains { line.hasPrefix($0) }
    }
    func generated(_ name: String, _ role: String, _ selected: [(text: Substring, origin: SourceLineOrigin)]) {
      tree.inputs.append(TreeInput(path: name, role: role, kind: .generated,
        text: selected.map { $0.text + "\n" }.joined(), origins: selected.map(\.origin)))
    }
    generated("tmp/all_attrs_types.conf", "the modules' `attribute` and `type` lines, hoisted",
      lines.filter { $0.text.hasPrefix("attribute") } + lines.filter { $0.text.hasPrefix("type ") })
    add(local("global_booleans"), "booleans (GLOBALBOOL)", required: required)
    add(local("global_tunables"), "tunables (GLOBALTUN)", required: required)
    generated("tmp/only_te_rules.conf", "the modules' rules, \(modules.count) .te files in path order",
      lines.filter { !isDeclaration($0.text) && !isPost($0.text) })
    add(local("systemuser"), "system users (tmp/all_post.conf)", required: required)
    add(local("users"), "users (tmp/all_post.conf)", required: required)
    add(local("constraints"), "constraints (tmp/all_post.conf)", required: required)
    generated("tmp/all_post.conf", "the modules' `sid`, `fs_use_*` and `genfscon` lines, moved last",
      lines.filter { $0.text.hasPrefix("sid ") } + lines.filter { isFsUse($0.text) }
        + lines.filter { $0.text.hasPrefix("genfscon") })
  }
}
