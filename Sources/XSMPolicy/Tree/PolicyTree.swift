import Foundation
import XSMDiagnostics

/// A policy source tree in one of the layouts of `TreeLayout`, planned as the
/// list of m4 inputs its Makefile would hand to m4, in that order, and
/// expanded through the system `m4`.
///
/// xsmtools' own layout:
/// ```
/// DIR/flask/{security_classes,initial_sids,access_vectors}   hypervisor classes and SIDs
/// DIR/{security_classes,access_vectors}                     local additions (optional)
/// DIR/support/*.spt  DIR/mls  DIR/global_tunables           macros, MLS, booleans
/// DIR/modules.conf   DIR/modules/NAME.{te,if,cons}          modules, `name = on|off`
/// DIR/users  DIR/initial_sids  DIR/device_contexts          users, SID contexts, ocontexts
/// ```
/// Xen's layout keeps the same files under `policy/` and `modules/`, with the
/// hypervisor's classes outside the tree; refpolicy's is described in
/// `RefpolicyPlan`.
public struct PolicyTree: Sendable {
  /// The tree's directory as the user named it (used in diagnostics).
  public var directory: String
  /// The layout the tree was read as.
  public var layout: TreeLayout
  /// Why that layout was chosen.
  public var layoutReason: String
  /// Where the hypervisor's classes were taken from, and why.
  public var classes: (directory: String, reason: String)?
  /// Every switch of modules.conf, enabled or not, in file order.
  public var switches: [ModuleSwitch] = []
  /// Enabled modules in build order.
  public var modules: [String] { switches.filter(\.enabled).map(\.name) }
  /// The inputs handed to m4, in order.
  public var inputs: [TreeInput] = []
  /// The m4 options that come before the files.
  public var m4Options: [String] = []
  /// The bounds of each m4 run (from `TreeOptions.m4Limits`).
  public var m4Limits = M4Limits()
  /// Lines the layout's Makefile deletes from m4's output (refpolicy drops
  /// Linux network labels); xsmc blanks them so line numbers stay right.
  public var droppedLinePrefixes: [String] = []
  /// The files given to m4 that exist on disk, in order (synthesized inputs excluded).
  public var files: [String] { inputs.compactMap { $0.kind == .file ? $0.path : nil } }
  /// The files whose macros and macro calls locate diagnostics (`MacroIndex`),
  /// in the order m4 meets their text: the files m4 reads and, in refpolicy
  /// trees, the `.if` files of the interface pass and the modules' `.te`
  /// files in place of the generated inputs made from them.
  public var macroSources: [String] {
    inputs.flatMap { input -> [String] in
      switch input.kind {
      case .file: [input.path]
      case .interfaces: (input.passFiles ?? []).filter { $0.hasSuffix(".if") }
      case .generated:
        // Each module's `.te` once, where its rules come in (they are what calls macros).
        input.path == "tmp/only_te_rules.conf"
          ? (input.origins ?? []).reduce(into: [String]()) { if $0.last != $1.file { $0.append($1.file) } } : []
      }
    }
  }
  /// The text of each of `macroSources` (unreadable ones left out).
  public func macroInputs() -> [M4Input] {
    macroSources.compactMap { path in
      (try? String(contentsOfFile: path, encoding: .utf8)).map { M4Input(path: path, text: $0) }
    }
  }

  /// The index of the tree's macros and their calls, read from `macroSources`.
  public func macroIndex(_ inputs: [M4Input]? = nil) -> MacroIndex {
    MacroIndex(scanning: inputs ?? macroInputs(), definers: macroDefiners)
  }

  /// The macros that define macros in this tree's language (refpolicy adds `interface` and `template`).
  public var macroDefiners: Set<String> { layout == .refpolicy ? ["define", "interface", "template"] : ["define"] }

  /// True when `path` is a directory (a tree) rather than a policy.conf.
  public static func isTree(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  /// Works out the tree's layout and its m4 inputs; problems are returned as
  /// diagnostics (the plan is usable only when none is an error).
  public static func load(directory: String, options: TreeOptions = TreeOptions(), mls: Bool = false)
    -> (PolicyTree, [Diagnostic])
  {
    var directory = directory
    var detected = TreeLayout.detect(directory)
    var checkoutNote: String?
    // The top of a Xen checkout: read its tools/flask/policy.
    if detected == nil, TreeLayout.detect(TreePaths.join(directory, "tools/flask/policy"))?.layout == .xen {
      checkoutNote = "`\(directory)` is a Xen checkout; its policy is tools/flask/policy"
      directory = TreePaths.join(directory, "tools/flask/policy")
      detected = TreeLayout.detect(directory)
    }
    guard let (layout, reason) = detected else {
      var tree = PolicyTree(directory: directory, layout: .xsmtools, layoutReason: "")
      tree.layoutReason = "no layout matched"
      return (tree, [Diagnostic(.tree.unknownLayout, .error,
        "`\(directory)` is not a policy tree xsmc knows",
        help: "xsmc reads three layouts: its own (`modules.conf` and `flask/` at the top), Xen's tools/flask/policy "
          + "(`modules/modules.conf` and `policy/`) and refpolicy's (`policy/modules.conf` and `policy/modules/`); "
          + "or give a policy.conf file")])
    }
    var planner = TreePlanner(
      tree: PolicyTree(directory: directory, layout: layout,
        layoutReason: checkoutNote.map { "\($0); \(reason)" } ?? reason),
      options: options)
    planner.plan(mls: mls)
    return (planner.tree, planner.diagnostics)
  }
}

/// One input of the m4 run, and why it is there.
public struct TreeInput: Sendable, Codable, Equatable {
  /// What kind of input it is.
  public enum Kind: String, Sendable, Codable {
    /// A file of the tree (or of the Xen checkout), read by m4 as it is.
    case file
    /// Text xsmc writes as the layout's Makefile would (refpolicy's hoisted
    /// declarations, its generated definitions); each line knows its origin.
    case generated
    /// refpolicy's interface pass: `m4 SUPPORT INTERFACES | sed s/dollarsstar/$*/g`.
    case interfaces
  }

  /// The file on disk (for `.file`), or the name the Makefile gives the generated file.
  public var path: String
  /// What the input holds, in the words of the layout's Makefile.
  public var role: String
  public var kind: Kind
  /// For `.generated`: the text, and where each of its lines comes from
  /// (nil for text the Makefile makes up, such as definitions).
  public var text: String?
  public var origins: [SourceLineOrigin]?
  /// For `.interfaces`: the files of the pass, in order.
  public var passFiles: [String]?

  static func file(_ path: String, _ role: String) -> TreeInput {
    TreeInput(path: path, role: role, kind: .file)
  }
}

/// Builds a tree's plan for its layout.
struct TreePlanner {
  var tree: PolicyTree
  let options: TreeOptions
  var diagnostics: [Diagnostic] = []
  private let fm = FileManager.default

  init(tree: PolicyTree, options: TreeOptions) {
    self.tree = tree
    self.options = options
  }

  func path(_ file: String) -> String { TreePaths.join(tree.directory, file) }
  func exists(_ path: String) -> Bool { fm.fileExists(atPath: path) }

  mutating func missing(_ file: String, _ why: String) {
    diagnostics.append(Diagnostic(.tree.missingFile, .error, "`\(file)` is missing: \(why)",
      help: "the \(tree.layout.title) needs it (`xsmc build DIR --explain-layout` lists what is read)"))
  }

  /// Adds `file` when it exists; a required one that does not is reported.
  mutating func add(_ file: String, _ role: String, required: String? = nil) {
    if exists(file) {
      tree.inputs.append(.file(file, role))
    } else if let required {
      missing(file, required)
    }
  }

  /// The `*.spt` files of `directory`, sorted as GNU make's `$(wildcard)` sorts them.
  func supportFiles(_ directory: String) -> [String] {
    ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spt") }.sorted().map {
      TreePaths.join(directory, $0)
    }
  }

  /// Where the hypervisor's classes come from: `--classes`, `--xen-root`, or the layout's place.
  mutating func classesDirectory(default relative: String, why: String) -> String {
    if let given = options.classesDirectory {
      tree.classes = (given, "given with --classes")
    } else if let root = options.xenRoot, tree.layout == .xen {
      tree.classes = (TreePaths.join(root, "xen/xsm/flask/policy"), "the Xen checkout given with --xen-root")
    } else {
      tree.classes = (path(relative), why)
    }
    var directory = tree.classes!.directory
    // `tools/flask/policy/../../../xen/…` reads better as `xen/…`; use the short
    // spelling when it names the same directory (no symlink in between).
    let tidy = TreePaths.tidy(directory)
    if tidy != directory, PolicyTree.isTree(tidy),
      URL(fileURLWithPath: tidy).resolvingSymlinksInPath().path
        == URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    {
      directory = tidy
      tree.classes!.directory = tidy
    }
    if !PolicyTree.isTree(directory) {
      diagnostics.append(Diagnostic(.tree.missingClasses, .error,
        "the hypervisor's classes are not at `\(TreePaths.tidy(directory))` (\(tree.classes!.reason))",
        help: tree.layout == .xen
          ? "Xen's Makefile.common reads them from ../../../xen/xsm/flask/policy; when the tree stands outside a Xen checkout, pass `--xen-root DIR` or `--classes DIR`"
          : "pass `--classes DIR` naming a directory with security_classes, initial_sids and access_vectors"))
    }
    return directory
  }

  mutating func plan(mls: Bool) {
    switch tree.layout {
    case .xsmtools, .xen: planXenStyle(mls: mls)
    case .refpolicy: planRefpolicy(mls: mls)
    }
    tree.m4Options += options.m4Definitions.flatMap { ["-D", $0] }
    tree.m4Limits = options.m4Limits
  }

  /// Reads modules.conf; returns the enabled modules with their `.te` files.
  mutating func readSwitches(findModule: (String) -> String?) -> Bool {
    let conf = path(tree.layout.modulesConf)
    guard exists(conf) else {
      missing(conf, "it names the modules to build")
      return false
    }
    guard let text = UTF8Text.read(conf, into: &diagnostics) else { return false }
    let (lines, problems) = ModulesConfReader.read(text, path: conf, layout: tree.layout)
    diagnostics += problems
    var seen = Set<String>()
    for line in lines {
      var entry = line.switchLine
      if entry.enabled {
        guard let file = findModule(entry.name) else {
          let available = availableModules()
          let suggestion = Suggestion.closest(to: entry.name, in: available)
          // refpolicy's Makefile drops a module it cannot find; the others stop.
          let severity: Severity = tree.layout == .refpolicy ? .warning : .error
          diagnostics.append(Diagnostic(.tree.unknownModule, severity,
            "module `\(entry.name)` has no `\(moduleFileDescription(entry.name))`", span: line.span, label: "enabled here",
            help: suggestion.map { "did you mean `\($0)`?" }
              ?? (tree.layout == .refpolicy ? "refpolicy's Makefile leaves it out of the build" : nil),
            sourceLine: line.text))
          continue
        }
        guard seen.insert(entry.name).inserted else {
          diagnostics.append(Diagnostic(.tree.badModulesLine, .error, "module `\(entry.name)` is listed twice",
            span: line.span, sourceLine: line.text))
          continue
        }
        entry.file = file
      }
      tree.switches.append(entry)
    }
    return true
  }

  private func moduleFileDescription(_ name: String) -> String {
    tree.layout == .refpolicy ? "policy/modules/LAYER/\(name).te" : "modules/\(name).te"
  }

  private func availableModules() -> [String] {
    if tree.layout == .refpolicy { return RefpolicyModules.all(in: path("policy/modules")).map(\.name) }
    return ((try? fm.contentsOfDirectory(atPath: path("modules"))) ?? []).filter { $0.hasSuffix(".te") }
      .map { String($0.dropLast(3)) }
  }

  /// xsmtools' layout and Xen's: one m4 run over Makefile.common's `POLICY_SECTIONS`.
  mutating func planXenStyle(mls: Bool) {
    let xen = tree.layout == .xen
    let policyDirectory = xen ? path("policy") : tree.directory
    func local(_ file: String) -> String { TreePaths.join(policyDirectory, file) }
    let classes = classesDirectory(
      default: xen ? "../../../xen/xsm/flask/policy" : "flask",
      why: xen ? "Makefile.common's FLASKDIR, ../../../xen/xsm/flask/policy from the tree" : "the tree's flask/")
    let modulesDirectory = path("modules")
    let modules = readSwitches { name in
      let file = TreePaths.join(modulesDirectory, "\(name).te")
      return FileManager.default.fileExists(atPath: file) ? file : nil
    }
    // Xen's Makefile lists every section as a prerequisite, so all are required;
    // xsmtools' own layout leaves the optional ones optional.
    let required: (String) -> String? = { xen ? $0 : nil }
    add(TreePaths.join(classes, "security_classes"), "hypervisor classes (SECCLASS)", required: "the hypervisor's classes")
    add(local("security_classes"), "local classes (SECCLASS)", required: required("Makefile.common lists it"))
    add(TreePaths.join(classes, "initial_sids"), "hypervisor initial SIDs (ISID_DECLS)",
      required: "the hypervisor's initial SIDs")
    add(TreePaths.join(classes, "access_vectors"), "hypervisor permissions (AVS)", required: "the hypervisor's permissions")
    add(local("access_vectors"), "local permissions (AVS)", required: required("Makefile.common lists it"))
    for file in supportFiles(local("support")) { add(file, "m4 support macros (M4SUPPORT)") }
    add(local("mls"), "MLS declarations (MLSSUPPORT)", required: required("Makefile.common lists it"))
    guard modules else { return }
    let enabled = tree.switches.compactMap(\.file)
    for te in enabled { add(String(te.dropLast(3)) + ".if", "interfaces of module \(moduleName(te)) (ALL_INTERFACES)") }
    add(local("global_tunables"), "booleans (GLOBALTUN)", required: required("Makefile.common lists it"))
    for te in enabled { add(te, "module \(moduleName(te)) (ALL_MODULES)") }
    add(local("users"), "users (USERS)", required: "the users of the policy")
    for te in enabled { add(String(te.dropLast(3)) + ".cons", "constraints of module \(moduleName(te)) (ALL_CONSTRAINTS)") }
    add(local("initial_sids"), "initial SID contexts (ISID_DEFS)", required: "the contexts of the initial SIDs")
    add(local("device_contexts"), "device labels (DEV_OCONS)", required: required("Makefile.common lists it"))
    // Makefile.common: M4PARAM := -D self_contained_policy -s [-D enable_mls] -D mls_num_sens=16 -D mls_num_cats=256
    tree.m4Options = ["-D", "self_contained_policy", "-s"] + options.securityLevelDefinition(mls: mls)
      + ["-D", "mls_num_sens=16", "-D", "mls_num_cats=256"]
  }

  func moduleName(_ file: String) -> String {
    String((file as NSString).lastPathComponent.dropLast(3))
  }
}

extension PolicyTree {
  /// Every policy source file of the tree, sorted: the files m4 reads that
  /// lie inside the tree, and every module's `.te`, `.if` and `.cons`
  /// (modules switched off included), for tools that rewrite sources
  /// (`xsmc port`). Files outside the tree (the hypervisor's classes of a
  /// Xen checkout) are not the tree's to rewrite and are left out.
  public var sourceFiles: [String] {
    let fm = FileManager.default
    let root = directory.hasSuffix("/") ? directory : directory + "/"
    func inside(_ path: String) -> Bool { directory == "." ? !path.hasPrefix("../") && !path.hasPrefix("/") : path.hasPrefix(root) }
    var files = Set(inputs.flatMap { $0.kind == .file ? [$0.path] : ($0.passFiles ?? []) }.filter(inside))
    let modulesDirectory = TreePaths.join(directory, layout == .refpolicy ? "policy/modules" : "modules")
    let extensions: Set<String> = ["te", "if", "cons"]
    let enumerator = fm.enumerator(atPath: modulesDirectory)
    while let relative = enumerator?.nextObject() as? String {
      guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
        extensions.contains((relative as NSString).pathExtension)
      else { continue }
      files.insert(TreePaths.join(modulesDirectory, relative))
    }
    if let conf = Optional(TreePaths.join(directory, layout.modulesConf)), fm.fileExists(atPath: conf) { files.insert(conf) }
    return files.sorted()
  }
}
