import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// The layouts xsmc reads, each checked against its own Makefile's recipe
/// replayed in the shell (Xen's Makefile.common, refpolicy's Rules.monolithic):
/// the same m4 text, and through checkpolicy the same decisions. The fixtures
/// are the project's policy re-laid out (Xen's layout) and a small policy
/// written here (refpolicy's); no other project's file is used.
@Suite("Tree layouts: Xen's and refpolicy's, as their Makefiles build them", .serialized)
struct TreeLayoutTests {
  let fm = FileManager.default

  // MARK: Fixtures

  /// A Xen checkout's worth of directories holding the project's policy in
  /// Xen's layout: `ROOT/tools/flask/policy/{modules,policy}` and the
  /// hypervisor's classes in `ROOT/xen/xsm/flask/policy`.
  func makeXenCheckout(_ root: String) throws -> String {
    let tree = root + "/tools/flask/policy"
    let classes = root + "/xen/xsm/flask/policy"
    for directory in [tree + "/policy", classes] {
      try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    for file in ["security_classes", "initial_sids", "access_vectors"] {
      try fm.copyItem(atPath: projectPolicyDir + "/flask/" + file, toPath: classes + "/" + file)
    }
    try fm.copyItem(atPath: projectPolicyDir + "/modules", toPath: tree + "/modules")
    try fm.copyItem(atPath: projectPolicyDir + "/modules.conf", toPath: tree + "/modules/modules.conf")
    for file in ["security_classes", "access_vectors", "users", "initial_sids", "mls", "global_tunables",
      "device_contexts", "support"]
    {
      try fm.copyItem(atPath: projectPolicyDir + "/" + file, toPath: tree + "/policy/" + file)
    }
    return tree
  }

  /// Makefile.common's recipe in the shell: the enabled modules by its awk,
  /// then m4 over POLICY_SECTIONS, run from the tree.
  static let xenRecipe = #"""
    set -e
    enabled=$(awk '/^[ \t]*[a-z]/{ if ($3 == "on") print $1 }' modules/modules.conf)
    F=../../../xen/xsm/flask/policy
    ifs=; tes=; cons=
    for m in $enabled; do
      [ -f modules/$m.if ] && ifs="$ifs modules/$m.if"
      tes="$tes modules/$m.te"
      [ -f modules/$m.cons ] && cons="$cons modules/$m.cons"
    done
    m4 -D self_contained_policy -s $MLS -D mls_num_sens=16 -D mls_num_cats=256 \
      $F/security_classes policy/security_classes $F/initial_sids $F/access_vectors policy/access_vectors \
      policy/support/*.spt policy/mls $ifs policy/global_tunables $tes policy/users $cons \
      policy/initial_sids policy/device_contexts
    """#

  /// refpolicy's Rules.monolithic in the shell, run from the tree: modules in
  /// path order, declarations hoisted, Linux network labels dropped.
  static let refpolicyRecipe = #"""
    set -e
    mkdir -p tmp
    enabled=$(awk '/^[[:blank:]]*[[:alpha:]]/{ if ($3 == "base" || $3 == "module") print $1 }' policy/modules.conf)
    mods=$(for m in $enabled; do find policy/modules -mindepth 2 -maxdepth 2 -iname "$m.te"; done | LC_ALL=C sort)
    cat policy/flask/security_classes policy/flask/initial_sids policy/flask/access_vectors policy/support/*.spt \
      policy/mls policy/mcs > tmp/pre_te_files.conf
    {
      echo "define(\`per_userdomain_templates',\`"
      for f in $mods; do i=$(basename $f .te); echo "ifdef(\`${i}_per_userdomain_template',\`${i}_per_userdomain_template(\$*)')"; done
      echo "')"
      for f in $mods; do echo "define(\`$(basename $f)')"; done
    } > tmp/generated_definitions.conf
    m4 policy/support/*.spt $(for f in $mods; do echo ${f%.te}.if; done) | sed -e 's/dollarsstar/$*/g' > tmp/all_interfaces.conf
    cat $mods > tmp/all_te_files.conf
    cat policy/systemuser policy/users policy/constraints > tmp/post_te_files.conf
    grep ^attribute tmp/all_te_files.conf > tmp/all_attrs_types.conf || true
    grep '^type ' tmp/all_te_files.conf >> tmp/all_attrs_types.conf
    cat tmp/post_te_files.conf > tmp/all_post.conf
    grep '^sid ' tmp/all_te_files.conf >> tmp/all_post.conf || true
    grep -E '^fs_use_(xattr|task|trans)' tmp/all_te_files.conf >> tmp/all_post.conf || true
    grep ^genfscon tmp/all_te_files.conf >> tmp/all_post.conf || true
    sed -r -e /^attribute/d -e '/^type /d' -e /^genfscon/d -e '/^sid /d' -e '/^fs_use_(xattr|task|trans)/d' \
      < tmp/all_te_files.conf > tmp/only_te_rules.conf
    m4 -D self_contained_policy -s tmp/pre_te_files.conf tmp/generated_definitions.conf tmp/all_interfaces.conf \
      tmp/all_attrs_types.conf policy/global_booleans policy/global_tunables tmp/only_te_rules.conf tmp/all_post.conf \
      | sed -e /^portcon/d -e /^nodecon/d -e /^netifcon/d
    rm -rf tmp
    """#

  /// The files of a small refpolicy-style tree written for these tests, by path.
  static let refpolicyFiles: [String: String] = [
    "policy/modules.conf": """
      # Layer: system
      # Module: xen
      xen = base

      dom0 = base

      # Layer: guests
      guest = module
      unused = off
      """,
    "policy/support/loadable_module.spt": """
      # Modules are plain text in a monolithic build.
      define(`policy_module',`ifdef(`self_contained_policy',`',`module $1 $2;')')
      define(`gen_require',`')
      # interface(NAME, BODY): the first m4 pass turns this into a definition for the second.
      define(`interface',``define(`$1',`# begin $1(dollarsstar)
      $2
      # end $1')'')
      """,
    "policy/support/misc_macros.spt": """
      define(`gen_context',`$1')
      define(`domain_perms',`{ pause unpause getdomaininfo }')
      """,
    "policy/mls": "# no MLS in this fixture\n",
    "policy/mcs": "# no MCS in this fixture\n",
    "policy/global_booleans": "bool guest_debug false;\n",
    "policy/global_tunables": "# no tunables\n",
    "policy/systemuser": "user system_u roles { system_r };\n",
    "policy/users": "user guest_u roles { system_r };\n",
    "policy/constraints": "constrain domain { transition } u1 == u2;\n",
    "policy/modules/system/xen.if": """
      ## Xen's own types.
      interface(`xen_domain',`
      \tallow $1 self:domain domain_perms;
      \tallow $1 xen_t:event { bind send };
      ')
      """,
    "policy/modules/system/xen.te": """
      policy_module(xen, 1.0)
      role system_r;
      allow xen_t self:xen { readconsole writeconsole };
      attribute domain_type;
      type xen_t, domain_type;
      type security_t;
      type unlabeled_t;
      type device_t;
      role system_r types { xen_t security_t unlabeled_t device_t };
      sid xenboot gen_context(system_u:system_r:xen_t,s0)
      sid xen gen_context(system_u:system_r:xen_t,s0)
      sid domio gen_context(system_u:system_r:xen_t,s0)
      sid domxen gen_context(system_u:system_r:xen_t,s0)
      sid unlabeled gen_context(system_u:system_r:unlabeled_t,s0)
      sid security gen_context(system_u:system_r:security_t,s0)
      sid ioport gen_context(system_u:object_r:device_t,s0)
      sid iomem gen_context(system_u:object_r:device_t,s0)
      sid irq gen_context(system_u:object_r:device_t,s0)
      sid device gen_context(system_u:object_r:device_t,s0)
      """,
    "policy/modules/system/dom0.if": "## dom0 exports nothing.\n",
    "policy/modules/system/dom0.te": """
      policy_module(dom0, 1.0)
      xen_domain(dom0_t)
      allow dom0_t domain_type:domain domain_perms;
      type dom0_t, domain_type;
      role system_r types dom0_t;
      sid dom0 gen_context(system_u:system_r:dom0_t,s0)
      portcon tcp 22 gen_context(system_u:object_r:dom0_t,s0)
      """,
    "policy/modules/guests/guest.if": """
      ## Lets $1 manage guests.
      interface(`guest_manage',`
      \tallow $1 domU_t:domain { getdomaininfo setdomainmaxmem };
      ')
      """,
    "policy/modules/guests/guest.te": """
      policy_module(guest, 1.0)
      xen_domain(domU_t)
      guest_manage(dom0_t)
      if (guest_debug) { allow dom0_t domU_t:domain setdebugging; }
      type domU_t, domain_type;
      type dm_t, domain_type;
      role system_r types { domU_t dm_t };
      sid domU gen_context(system_u:system_r:domU_t,s0)
      sid domDM gen_context(system_u:system_r:dm_t,s0)
      nodecon 10.0.0.0 255.0.0.0 gen_context(system_u:object_r:domU_t,s0)
      """,
    "policy/modules/guests/unused.te": "allow nothing_t nothing_t:domain pause;\n",
    "policy/modules/guests/unused.if": "",
  ]

  /// Writes the refpolicy fixture (with the project's hypervisor classes) under `root`.
  func makeRefpolicyTree(_ root: String, editing edit: (inout [String: String]) -> Void = { _ in }) throws -> String {
    var files = Self.refpolicyFiles
    edit(&files)
    for (path, text) in files {
      let full = root + "/" + path
      try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try (text.hasSuffix("\n") || text.isEmpty ? text : text + "\n").write(toFile: full, atomically: true, encoding: .utf8)
    }
    try fm.createDirectory(atPath: root + "/policy/flask", withIntermediateDirectories: true)
    for file in ["security_classes", "initial_sids", "access_vectors"] {
      try fm.copyItem(atPath: projectPolicyDir + "/flask/" + file, toPath: root + "/policy/flask/" + file)
    }
    return root
  }

  /// Runs a recipe with `sh` in `directory`; its stdout is the policy.conf.
  func runRecipe(_ recipe: String, in directory: String, mls: Bool = false) throws -> String {
    let script = try temporaryDirectory() + "/recipe.sh"
    defer { try? fm.removeItem(atPath: (script as NSString).deletingLastPathComponent) }
    try ((mls ? "MLS='-D enable_mls'\n" : "MLS=\n") + recipe).write(toFile: script, atomically: true, encoding: .utf8)
    let result = try run("/bin/sh", [script], cwd: directory)
    try #require(result.status == 0, "the recipe failed: \(result.err)")
    return result.out
  }

  /// Policy text without m4's `#line` markers and blank lines: what two runs
  /// that split their input into files differently still share.
  func content(_ text: String) -> [Substring] {
    text.split(separator: "\n").filter { !$0.hasPrefix("#line ") && !$0.allSatisfy(\.isWhitespace) }
  }

  /// xsmc's build of `tree` and checkpolicy's build of the recipe's text
  /// agree on the text and on every decision.
  func assertSameAsRecipe(_ tree: String, recipe: String, recipeDirectory: String, options: BuildOptions = BuildOptions())
    async throws
  {
    let expected = try runRecipe(recipe, in: recipeDirectory, mls: options.mls)
    let outcome = await PolicyBuilder.build(.tree(tree), options: options)
    let errors = outcome.diagnostics.items.filter { $0.severity == .error }
    try #require(errors.isEmpty, "\(errors.map { "\($0.span?.description ?? "") \($0.message)" })")
    let ours = try #require(outcome.frontend.expandedText)
    #expect(content(ours) == content(expected), "m4 text differs from the Makefile recipe's")
    guard Checkpolicy.shouldRun else { return }
    let theirs = try Checkpolicy.compile(expected, version: options.policyVersion, mls: options.mls)
    let binary = try #require(outcome.binary)
    let triples = try await compareDecisions(ours: binary, theirs: theirs, typeSample: nil, sourceLocation: #_sourceLocation)
    #expect(triples > 0)
  }

  // MARK: Xen's layout

  @Test func xenLayoutMatchesMakefileCommon() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeXenCheckout(root)
    try await assertSameAsRecipe(tree, recipe: Self.xenRecipe, recipeDirectory: tree)
    let (plan, problems) = PolicyTree.load(directory: tree)
    #expect(problems.isEmpty && plan.layout == .xen)
    #expect(plan.classes?.directory == root + "/xen/xsm/flask/policy", "the `..` of FLASKDIR folded away")
  }

  @Test func xenLayoutMLSMatchesMakefileCommon() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeXenCheckout(root)
    let expected = try runRecipe(Self.xenRecipe, in: tree, mls: true)
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions(mls: true), compile: false)
    #expect(content(try #require(outcome.frontend.expandedText)) == content(expected))
  }

  /// The top of a checkout reads its tools/flask/policy, and a tree outside
  /// a checkout needs `--xen-root` or `--classes`.
  @Test func xenCheckoutTopAndStandaloneTree() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeXenCheckout(root)
    let fromTop = await PolicyBuilder.build(.tree(root), options: BuildOptions())
    let fromTree = await PolicyBuilder.build(.tree(tree), options: BuildOptions())
    #expect(fromTop.binary != nil && fromTop.binary == fromTree.binary)
    #expect(fromTop.frontend.tree?.layoutReason.contains("is a Xen checkout") == true)

    let alone = root + "/standalone"
    try fm.copyItem(atPath: tree, toPath: alone)
    let missing = await PolicyBuilder.build(.tree(alone), options: BuildOptions())
    let diagnostic = try #require(missing.diagnostics.items.first { $0.id == .tree.missingClasses })
    #expect(diagnostic.message.contains("../../../xen/xsm/flask/policy") || diagnostic.message.contains("xen/xsm/flask/policy"))
    #expect(diagnostic.help?.contains("--xen-root") == true && missing.isInputError && missing.binary == nil)
    let withRoot = await PolicyBuilder.build(.tree(alone), options: BuildOptions(tree: TreeOptions(xenRoot: root)))
    #expect(withRoot.binary == fromTree.binary, "\(withRoot.diagnostics.items)")
    let withClasses = await PolicyBuilder.build(
      .tree(alone), options: BuildOptions(tree: TreeOptions(classesDirectory: root + "/xen/xsm/flask/policy")))
    #expect(withClasses.binary == fromTree.binary)
  }

  /// Xen's awk reads `name = on` only; a switch without blanks is skipped
  /// by the Makefile, and xsmc says so instead of silently doing the same.
  @Test func xenModulesConfLinesTheMakefileSkips() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeXenCheckout(root)
    let conf = tree + "/modules/modules.conf"
    let text = try String(contentsOfFile: conf, encoding: .utf8)
    try text.replacingOccurrences(of: "nic_dev = on", with: "nic_dev=on").write(toFile: conf, atomically: true, encoding: .utf8)
    let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("nic_dev") }! + 1
    let (plan, problems) = PolicyTree.load(directory: tree)
    let warning = try #require(problems.first { $0.id == .tree.badModulesLine })
    #expect(warning.severity == .warning && warning.span?.line == line && warning.span?.file == conf)
    #expect(warning.message.contains("Makefile.common skips this line"))
    #expect(!plan.modules.contains("nic_dev") && plan.modules.contains("dom0"))
  }

  // MARK: refpolicy's layout

  @Test func refpolicyLayoutMatchesRulesMonolithic() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root + "/xsm-policy")
    try await assertSameAsRecipe(tree, recipe: Self.refpolicyRecipe, recipeDirectory: tree)
    let (plan, problems) = PolicyTree.load(directory: tree)
    #expect(problems.isEmpty, "\(problems)")
    #expect(plan.layout == .refpolicy)
    #expect(plan.modules == ["xen", "dom0", "guest"], "modules.conf order, base and module both built")
    #expect(!fm.fileExists(atPath: tree + "/tmp"), "nothing written into the tree")
  }

  /// Hoisted and moved lines are located in the module they came from.
  @Test func refpolicyDiagnosticsPointIntoModules() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root) { files in
      files["policy/modules/guests/guest.te"]! += "\ntype late_t, no_such_attribute;\nallow dom0_t late_t:domain { pause bogus };\n"
    }
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions())
    let guest = tree + "/policy/modules/guests/guest.te"
    let attribute = try #require(outcome.diagnostics.items.first { $0.message.contains("no_such_attribute") }, "\(outcome.diagnostics.items.map { "\($0.span?.description ?? "") \($0.message)" })")
    #expect(attribute.span?.file == guest && attribute.span?.line == 11 && attribute.span?.column == 14)
    #expect(attribute.sourceLine == "type late_t, no_such_attribute;")
    let permission = try #require(outcome.diagnostics.items.first { $0.id == .resolve.unknownPermission })
    #expect(permission.span?.file == guest && permission.span?.line == 12 && permission.span?.column == 36)
  }

  /// refpolicy's interfaces are macros too: an error in one is reported
  /// once, in the `.if`, with the modules' calls as notes.
  @Test func refpolicyInterfaceErrorIsReportedAtTheInterface() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root) { files in
      files["policy/modules/system/xen.if"] = files["policy/modules/system/xen.if"]!
        .replacingOccurrences(of: "{ bind send }", with: "{ bind sned }")
    }
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions())
    let errors = outcome.diagnostics.items.filter { $0.severity == .error }
    #expect(errors.count == 1, "\(errors.map { "\($0.span?.description ?? "") \($0.message)" })")
    let error = try #require(errors.first)
    #expect(error.span?.file == tree + "/policy/modules/system/xen.if" && error.span?.line == 4 && error.span?.column == 30)
    let calls = error.notes.map(\.message)
    #expect(calls.count == 2 && calls.allSatisfy { $0.hasPrefix("in expansion of `xen_domain`") }, "\(calls)")
    #expect(calls.contains { $0.hasSuffix("policy/modules/system/dom0.te:2") })
    #expect(calls.contains { $0.hasSuffix("policy/modules/guests/guest.te:2") })
  }

  /// refpolicy's interfaces count as macros for did-you-mean too.
  @Test func refpolicyMisspeltInterfaceNamesTheInterface() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root) { $0["policy/modules/guests/guest.te"]! += "\nguest_manages(dom0_t)\n" }
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions())
    let diagnostic = try #require(outcome.diagnostics.items.first { $0.id == .parse.unknownStatement })
    #expect(diagnostic.help == "did you mean the macro `guest_manage`?", "\(diagnostic.help ?? "")")
    #expect(diagnostic.span?.file == tree + "/policy/modules/guests/guest.te" && diagnostic.span?.line == 11)
  }

  @Test func refpolicyUnknownModuleIsLeftOutWithAWarning() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root) { $0["policy/modules.conf"]! += "\nguset = module\n" }
    let outcome = await PolicyBuilder.build(.tree(tree), options: BuildOptions())
    let warning = try #require(outcome.diagnostics.items.first { $0.id == .tree.unknownModule })
    #expect(warning.severity == .warning && warning.help == "did you mean `guest`?")
    #expect(outcome.binary != nil)
  }

  @Test func refpolicyModuleWithoutInterfaceFile() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeRefpolicyTree(root)
    try fm.removeItem(atPath: tree + "/policy/modules/system/dom0.if")
    let (_, problems) = PolicyTree.load(directory: tree)
    #expect(problems.contains { $0.id == .tree.missingFile && $0.message.contains("dom0.if") })
  }

  /// `xsmc port` on a tree rewrites the tree's policy sources only: not
  /// the Xen checkout's classes beside it, not other files in the tree.
  @Test func portRewritesOnlyTheTreesPolicySources() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let tree = try makeXenCheckout(root)
    try "psr_alloc is psr_cat_op before Xen 4.11\n".write(toFile: tree + "/NOTES", atomically: true, encoding: .utf8)
    let result = await xsmc(["port", "--from", "4.22", "--to", "4.10", tree])
    #expect(result.status == 0, "\(result.err)")
    let changed = result.out.split(separator: "\n").filter { $0.hasPrefix("+++ ") }
    #expect(!changed.isEmpty && changed.allSatisfy { $0.contains("/tools/flask/policy/policy/support/") }, "\(changed)")
    #expect(result.err.contains("come with Xen; port leaves them"))
  }

  // MARK: Neither

  @Test func directoryInNoLayout() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let outcome = await PolicyBuilder.build(.tree(root), options: BuildOptions())
    let diagnostic = try #require(outcome.diagnostics.items.first)
    #expect(diagnostic.id == .tree.unknownLayout && outcome.isInputError)
    #expect(diagnostic.help?.contains("policy/modules.conf") == true)
  }

  // MARK: --explain-layout

  @Test func explainLayoutGoldenFiles() async throws {
    let root = try temporaryDirectory()
    defer { try? fm.removeItem(atPath: root) }
    let refpolicy = try makeRefpolicyTree(root + "/xsm-policy")
    let xen = try makeXenCheckout(root + "/xen")
    for (name, tree) in [("refpolicy", refpolicy), ("xen", xen)] {
      for format in ["text", "json"] {
        let result = await xsmc(["build", tree, "--explain-layout"] + (format == "json" ? ["--json"] : []))
        #expect(result.status == 0, "\(result.err)")
        let stable = result.out.replacingOccurrences(of: root, with: "FIXTURES")
        #expect(Snapshot.difference(stable, named: "layout/\(name).\(format)") == nil)
      }
    }
    let file = await xsmc(["build", projectPolicyDir + "/users", "--explain-layout"])
    #expect(file.status == 2 && file.err.contains("needs a policy tree"))
  }

  @Test func m4DefinitionsAreChecked() async throws {
    let bad = await xsmc(["check", projectPolicyDir, "--m4-define", "1bad=x"])
    #expect(bad.status == 2 && bad.err.contains("--m4-define `1bad=x`"))
    let good = await xsmc(["check", projectPolicyDir, "--m4-define", "some_flag", "--explain-layout"])
    #expect(good.status == 0 && good.out.contains("-D some_flag"))
    let mcs = await xsmc(["check", projectPolicyDir, "--mcs", "--explain-layout"])
    #expect(mcs.out.contains("-D enable_mcs") && !mcs.out.contains("enable_mls"), "\(mcs.out)")
  }
}
