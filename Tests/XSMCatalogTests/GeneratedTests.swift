import Foundation
import Testing
import XSMCatalog
import XSMCatalogGen
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// The generated op reference and bindings: exact fragments on a small
/// catalog, drift against the committed files, and compiling the bindings
/// with the real compilers when they are installed.
@Suite struct Generated {
  // MARK: Fixtures

  /// A small catalog that exercises every shape the generators handle:
  /// aliases, nested and alternative sub-ops, silo, conditions, `intended`,
  /// `flask unclassified`, no hook, an internal call site, a split op and
  /// the three coverage outcomes.
  static let smallCatalogText = """
    op domctl.pausedomain
      alias     domctl.pause
      hypercall __HYPERVISOR_domctl 36
      subop     XEN_DOMCTL_pausedomain 3
      hook      xsm_domctl
      dummy     XSM_PRIV
      target    domain
      check     domain:pause current -> target
      refuses-self
      class     privileged
      summary   Pause every vCPU of a domain.

    op domctl.unpausedomain
      hypercall __HYPERVISOR_domctl 36
      subop     XEN_DOMCTL_unpausedomain 4
      hook      xsm_domctl
      dummy     XSM_PRIV
      target    domain
      check     domain:unpause current -> target
      class     privileged
      summary   Let a paused domain run again.

    op domctl.shadow_op.clean
      hypercall __HYPERVISOR_domctl 36
      subop     XEN_DOMCTL_shadow_op 10
      subop     XEN_DOMCTL_SHADOW_OP_CLEAN 11 | XEN_DOMCTL_SHADOW_OP_PEEK 12
      hook      xsm_domctl
      dummy     XSM_PRIV
      target    domain
      check     shadow:logdirty current -> target
      class     privileged
      summary   Read and clear the dirty bitmap.

    op evtchn.bind_interdomain
      hypercall __HYPERVISOR_event_channel_op 32
      subop     EVTCHNOP_bind_interdomain 0
      hook      xsm_evtchn_interdomain
      dummy     XSM_HOOK current -> remote
      target    domain+evtchn
      check     event:create current -> channel
      check     event:bind channel -> remote
      check     grant:map_read+map_write current -> target(raw) if writable intended grant:copy
      silo      current remote
      class     logical
      summary   Connect a new port to one a remote domain offered.
      note      A note with <angle> brackets and a | bar.

    op xsm.flask_op.mystery
      hypercall __HYPERVISOR_xsm_op 27
      subop     FLASK_MYSTERY 99
      hook      xsm_do_xsm_op
      dummy     ENOSYS
      target    security
      flask     unclassified
      class     privileged
      summary   An op flask has no case for.

    op sched.yield
      hypercall __HYPERVISOR_sched_op 29
      subop     SCHEDOP_yield 0
      hook      none
      dummy     none
      target    self
      class     logical
      summary   Give up the CPU for now.

    op internal.demo_hook
      hypercall none
      hook      xsm_hvm_param
      dummy     XSM_OTHER=XSM_TARGET unless external
      dummy     XSM_OTHER=XSM_DM_PRIV if external
      target    domain
      flask     none
      class     mixed
      summary   A hook Xen calls without a hypercall of its own.

    split domrun.pause
      replaces  domctl.pause
      inherit   domctl.pausedomain
      group     runtime
      number    1
      summary   Pause a domain (split).

    unsplit domctl.unpausedomain
      summary   Kept: unpausing is already single-purpose.
    unsplit domctl.shadow_op.*
      summary   Kept for now.
    retire xsm.flask_op.mystery
      summary   Nobody uses it.
    unsplit evtchn.*
      summary   Event channels stay as they are.
    unsplit sched.*
      summary   Scheduling stays.
    unsplit internal.*
      summary   Internal call sites are not ABI.
    """

  static func smallCatalog() throws -> OpCatalog {
    let (catalog, diagnostics) = CatalogLoader.load(
      files: [CatalogLoader.File(name: "policy/ops/small.ops", text: smallCatalogText)])
    let rendered = DiagnosticRenderer(format: .plain).render(diagnostics)
    return try #require(catalog, "the test catalog does not load:\n\(rendered)")
  }

  static let packageRoot = TestEnvironment.packageRoot

  /// The repository's catalog, or the test is cancelled (shown as skipped)
  /// with the catalog's first errors when it does not load yet.
  static func repositoryCatalog() throws -> OpCatalog {
    let (catalog, diagnostics) = CatalogLoader.load(directory: packageRoot + "/policy/ops")
    if let catalog { return catalog }
    let errors = diagnostics.sorted().filter { $0.severity == .error }
    let first = errors.prefix(5).map { DiagnosticRenderer(format: .plain).plain($0) }.joined()
    let message = "skipped: policy/ops does not load yet (\(errors.count) errors); first errors:\n\(first)"
    print(message)
    try Test.cancel(Comment(rawValue: message))
  }

  // MARK: Op ids

  @Test func legacyIdsComeFromHypercallAndSubOpNumbers() throws {
    let catalog = try Self.smallCatalog()
    let pause = try #require(catalog.op(named: "domctl.pausedomain"))
    #expect(OpIdentifier.hex(OpIdentifier.id(of: pause)) == "0x1124000300000000")
    let clean = try #require(catalog.op(named: "domctl.shadow_op.clean"))
    #expect(OpIdentifier.hex(OpIdentifier.id(of: clean)) == "0x1224000a000b0000")
    let yield = try #require(catalog.op(named: "sched.yield"))
    #expect(OpIdentifier.hex(OpIdentifier.id(of: yield)) == "0x111d000000000000")
  }

  @Test func splitAndInternalIdsUseFNVHashes() throws {
    let catalog = try Self.smallCatalog()
    #expect(OpIdentifier.fnv1a32("a") == 0xe40c_292c)
    let split = try #require(catalog.op(named: "domrun.pause"))
    let expectedSplit = 3 << 60 | UInt64(OpIdentifier.fnv1a32("domrun")) << 16 | 1
    #expect(OpIdentifier.id(of: split) == expectedSplit)
    let internalOp = try #require(catalog.op(named: "internal.demo_hook"))
    #expect(OpIdentifier.hex(OpIdentifier.id(of: internalOp)) == "0x200000001a257b31")
  }

  @Test func idsDoNotDependOnCatalogOrder() throws {
    let catalog = try Self.smallCatalog()
    let blocks = Self.smallCatalogText.components(separatedBy: "\n\n")
    let reversed = blocks.reversed().joined(separator: "\n\n")
    let (other, diagnostics) = CatalogLoader.load(files: [CatalogLoader.File(name: "r.ops", text: reversed)])
    let reordered = try #require(other, "\(DiagnosticRenderer(format: .plain).render(diagnostics))")
    for op in catalog.ops {
      let twin = try #require(reordered.op(named: op.name))
      #expect(OpIdentifier.id(of: op) == OpIdentifier.id(of: twin), "\(op.name)")
    }
  }

  @Test func clashingIdentifiersOverflowsAndCollisionsAreReported() throws {
    let text = """
      op ab.c_d
        hypercall __HYPERVISOR_domctl 36
        subop     A 1
        hook      none
        class     logical
        summary   One.
      op ab_c.d
        hypercall __HYPERVISOR_domctl 36
        subop     A 2
        hook      none
        class     logical
        summary   Two.
      op ab.wide
        hypercall __HYPERVISOR_domctl 36
        subop     A 65536
        hook      none
        class     logical
        summary   Three.
      op ab.first
        hypercall __HYPERVISOR_domctl 36
        subop     B 5 | C 6
        hook      none
        class     logical
        summary   Four.
      op ab.second
        hypercall __HYPERVISOR_domctl 36
        subop     B 5 | D 7
        hook      none
        class     logical
        summary   Five.
      unsplit ab.*
        summary   Kept.
      unsplit ab_c.*
        summary   Kept.
      """
    let (loaded, diagnostics) = CatalogLoader.load(files: [CatalogLoader.File(name: "clash.ops", text: text)])
    let catalog = try #require(loaded, "\(DiagnosticRenderer(format: .plain).render(diagnostics))")
    let problems = GeneratedArtefacts.problems(in: catalog)
    #expect(problems.contains { $0.id.rawValue == "docs.identifier-clash" && $0.message.contains("XSM_OP_AB_C_D") })
    let overflow = try #require(problems.first { $0.id.rawValue == "docs.id-overflow" }, "\(problems)")
    #expect(overflow.message == "sub-op number 65536 of `ab.wide` does not fit the 16 bits of an op id")
    #expect(overflow.span?.description == "clash.ops:13:4")
    let collision = try #require(problems.first { $0.id.rawValue == "docs.id-collision" }, "\(problems)")
    #expect(collision.message.hasPrefix("`ab.second` gets op id "))
    #expect(collision.span?.description == "clash.ops:25:4" && collision.notes.first?.span?.description == "clash.ops:19:4")
    #expect(GeneratedArtefacts.problems(in: try Self.smallCatalog()).isEmpty)
  }

  // MARK: Reference

  @Test func referenceEntriesSayWhoMayCall() throws {
    let markdown = OpReference.markdown(try Self.smallCatalog())
    let expected = [
      "<!-- Generated by `xsmc docs` from the op catalog in policy/ops (*.ops). Do not edit: change the catalog "
        + "and run `xsmc docs`. -->\n",
      "#### <a id=\"op-domctl-pausedomain\"></a>`domctl.pausedomain`\n\nPause every vCPU of a domain.\n",
      "| Aliases | `domctl.pause` |",
      "| Hypercall | `__HYPERVISOR_domctl` (36) |",
      "| Sub-op | `XEN_DOMCTL_pausedomain` (3) |",
      "| Class | privileged: a kernel or toolstack must mediate it |",
      "| Hooks | `xsm_domctl` |",
      "| Id | `XSM_OP_DOMCTL_PAUSEDOMAIN` = `0x1124000300000000` |",
      "| Defined in | `policy/ops/small.ops` |",
      "- *dummy*: allowed only when the caller is the control domain (`XSM_PRIV`).",
      "- *silo*: the same as dummy; silo adds no rule here.",
      "- *flask*: `domain:pause`: the caller → the target domain.",
      "- *every module*: Xen refuses the op when the caller names itself as the target.",
      "**In the proposed ABI:** replaced by [`domrun.pause`](#op-domrun-pause).",
      // Nested and alternative sub-ops.
      "| Sub-op, level 2 | `XEN_DOMCTL_SHADOW_OP_CLEAN` (11) or `XEN_DOMCTL_SHADOW_OP_PEEK` (12) |",
      // Two-domain op with silo, conditions and `intended`.
      "- *dummy*: anyone may call it (`XSM_HOOK`).",
      "- *silo*: first the caller and the remote domain must be the same domain, or one of them must be the "
        + "control domain (otherwise EPERM); then the dummy rule applies.",
      "- *flask*: every check that applies must pass.\n"
        + "  - `event:create`: the caller → the new channel's label.\n"
        + "  - `event:bind`: the new channel's label → the remote domain.\n"
        + "  - `grant:map_read` and `grant:map_write`: the caller → the target domain, by its plain label, "
        + "only if `writable` (the code meant to check `grant:copy`).\n",
      "- A note with &lt;angle&gt; brackets and a | bar.",
      "**In the proposed ABI:** kept as it is. Event channels stay as they are.",
      // Unclassified, ENOSYS, retired.
      "- *dummy*: not available: the dummy module does not implement `xsm_op` and fails it with ENOSYS.",
      "- *flask*: flask has no case for this op, so `avc_unknown_permission` decides: it is denied (EPERM) "
        + "unless the policy allows unknown permissions (`allow_unknown`) or flask is permissive.",
      "**In the proposed ABI:** retired. Nobody uses it.",
      // No hook.
      "- *dummy*: no XSM hook on this path: anyone may call it, subject to Xen's checks outside XSM.",
      "- *flask*: no XSM hook on this path, so no check.",
      // XSM_OTHER with conditions, flask none, internal call site.
      "| Hypercall | none: an internal call site |",
      "- *dummy*: every step that applies must pass. The hook has its own logic (`XSM_OTHER`); the notes say "
        + "where it departs from this.\n"
        + "  - unless `external`: allowed when the caller is the target domain itself, the target domain's "
        + "device model or the control domain (`XSM_OTHER=XSM_TARGET`).\n"
        + "  - if `external`: allowed when the caller is the target domain's device model or the control domain "
        + "(`XSM_OTHER=XSM_DM_PRIV`).\n",
      "- *flask*: the hook makes no permission check, so the call is allowed.",
      // Split op.
      "| Kind | split op of the proposed ABI, number 1 in `domrun`, group `runtime` |",
      "| Replaces | [`domctl.pause`](#op-domctl-pausedomain) |",
      // Contents and build walkthrough.
      "- [Legacy ops](#legacy-ops)\n  - [`domctl`](#family-domctl) (3 legacy ops): "
        + "[pausedomain](#op-domctl-pausedomain) · [unpausedomain](#op-domctl-unpausedomain) · "
        + "[shadow_op.clean](#op-domctl-shadow_op-clean)",
      "- [Split ops of the proposed ABI](#split-ops)\n  - [`domrun`](#family-domrun) (1 split op): "
        + "[pause](#op-domrun-pause)",
    ]
    for fragment in expected {
      #expect(markdown.contains(fragment), "docs/ops.md lacks:\n\(fragment)")
    }
    // The walkthrough lists only ops the catalog has, numbered from 1.
    #expect(markdown.contains("1. **Start it.** The builder unpauses the domain; its vCPU 0 begins to run.\n"
      + "   - [`domctl.unpausedomain`](#op-domctl-unpausedomain): Let a paused domain run again.\n"
      + "     - dummy: allowed only when the caller is the control domain (`XSM_PRIV`).\n"
      + "     - flask: `domain:unpause`: the caller → the target domain.\n"))
    #expect(!markdown.contains("domctl.createdomain"))
  }

  @Test func outputIsDeterministic() throws {
    let catalog = try Self.smallCatalog()
    #expect(GeneratedArtefacts.render(catalog) == GeneratedArtefacts.render(catalog))
    #expect(GeneratedArtefacts.render(catalog).map(\.path) == [
      "docs/ops.md", "bindings/c/xsm_ops.h", "bindings/c/xsm_abi.h", "bindings/rust/xsm_ops.rs",
      "bindings/go/xsmops/xsmops.go", "bindings/rust/xsm_abi.rs", "bindings/go/xsmabi/xsmabi.go",
      "bindings/go/xsmabi/xsmabi_test.go", "docs/abi.md",
    ])
    for file in GeneratedArtefacts.render(catalog) {
      #expect(!file.contents.contains(Self.packageRoot), "\(file.path) names an absolute path")
    }
  }

  // MARK: Bindings

  @Test func cHeaderDefinesIdsNumbersAndTable() throws {
    let header = Bindings.cHeader(try Self.smallCatalog())
    let expected = [
      "/* Generated by `xsmc docs` from the op catalog in policy/ops (*.ops). Do not edit: change the catalog "
        + "and run `xsmc docs`.",
      "#ifndef XSM_OPS_H\n#define XSM_OPS_H\n\n#include <stddef.h>\n#include <stdint.h>\n",
      "#define XSM_OPS_COUNT 8u\n",
      "#define XSM_HYPERCALL_DOMCTL 36\n",
      "#define XSM_OP_DOMCTL_PAUSEDOMAIN UINT64_C(0x1124000300000000)\n"
        + "#define XSM_OP_DOMCTL_PAUSEDOMAIN__HYPERCALL 36\n"
        + "#define XSM_OP_DOMCTL_PAUSEDOMAIN__SUBOP1 3\n"
        + "#define XSM_OP_DOMCTL_PAUSE XSM_OP_DOMCTL_PAUSEDOMAIN\n",
      "#define XSM_OP_DOMCTL_SHADOW_OP_CLEAN__SUBOP2 11\n#define XSM_OP_DOMCTL_SHADOW_OP_CLEAN__SUBOP2_ALT2 12\n",
      "#define XSM_OP_DOMRUN_PAUSE__NUMBER 1\n",
      "enum xsm_op_class {\n    XSM_OP_CLASS_PRIVILEGED = 0,\n    XSM_OP_CLASS_LOGICAL = 1,\n"
        + "    XSM_OP_CLASS_MIXED = 2\n};",
      "    { \"domain\", \"pause\", \"current\", \"target\", 0, NULL, 0, NULL },",
      "    { \"grant\", \"map_write\", \"current\", \"target\", 1, \"writable\", 0, \"grant:copy\" },",
      "    { XSM_DUMMY_TARGET, 1, \"current\", \"target\", \"external\", 1 },",
      "    { /* domctl.pausedomain */\n        XSM_OP_DOMCTL_PAUSEDOMAIN,\n        \"domctl.pausedomain\",\n"
        + "        \"domctl.pause\",\n        XSM_OP_KIND_LEGACY,",
      "        \"evtchn.bind_interdomain\",",
      "\"current\",\n        \"remote\",\n",
      "#endif /* XSM_OPS_H */\n",
    ]
    for fragment in expected {
      #expect(header.contains(fragment), "xsm_ops.h lacks:\n\(fragment)")
    }
  }

  @Test func rustModuleHoldsTheSameData() throws {
    let module = Bindings.rustModule(try Self.smallCatalog())
    let expected = [
      "// Generated by `xsmc docs` from the op catalog in policy/ops (*.ops).",
      "#![allow(dead_code)]",
      "pub const OP_DOMCTL_PAUSEDOMAIN: u64 = 0x1124000300000000;",
      "pub const OP_DOMCTL_PAUSE: u64 = OP_DOMCTL_PAUSEDOMAIN;",
      "pub const OPS: &[Op] = &[",
      "        id: OP_DOMCTL_PAUSEDOMAIN,\n        name: \"domctl.pausedomain\",\n"
        + "        aliases: &[\"domctl.pause\"],",
      "            Check { security_class: \"domain\", permission: \"pause\", subject: \"current\", "
        + "object: \"target\", object_raw: false, condition: None, intended: None },",
      "condition: Some(Condition { name: \"writable\", negated: false }), intended: Some(\"grant:copy\") },",
      "        silo: Some(Silo { left: \"current\", right: \"remote\" }),",
      "        flask: FlaskRule::Unclassified,",
      "        coverage: Some(\"retire\"),",
      "        replaces: &[\"domctl.pausedomain\"],",
      "pub fn op_by_name(name: &str) -> Option<&'static Op> {",
    ]
    for fragment in expected {
      #expect(module.contains(fragment), "xsm_ops.rs lacks:\n\(fragment)")
    }
  }

  @Test func goPackageHoldsTheSameData() throws {
    let file = Bindings.goPackage(try Self.smallCatalog())
    let expected = [
      "// Code generated by xsmc docs from the op catalog in policy/ops; DO NOT EDIT.\n\n",
      "\npackage xsmops\n",
      "const OpDomctlPausedomain uint64 = 0x1124000300000000\n",
      "const OpDomctlPause = OpDomctlPausedomain\n",
      "\t{ID: OpDomctlPausedomain, Name: \"domctl.pausedomain\", Aliases: []string{\"domctl.pause\"}, "
        + "Kind: KindLegacy, Family: \"domctl\", Hypercall: \"__HYPERVISOR_domctl\", HypercallNumber: 36, "
        + "SubOps: []SubOp{{Level: 0, Constant: \"XEN_DOMCTL_pausedomain\", Low: 3, High: 3}}, Number: -1, "
        + "Class: ClassPrivileged, Targets: []string{\"domain\"}, Hooks: []string{\"xsm_domctl\"}, "
        + "Dummy: []DummyStep{{Action: DummyPriv, Subject: \"current\", Object: \"target\"}}, Flask: FlaskChecks, "
        + "Checks: []Check{{SecurityClass: \"domain\", Permission: \"pause\", Subject: \"current\", "
        + "Object: \"target\"}}, RefusesSelf: true, ReplacedBy: []string{\"domrun.pause\"}, "
        + "Summary: \"Pause every vCPU of a domain.\"},\n",
      "func ByName(name string) (Op, bool) {",
    ]
    for fragment in expected {
      #expect(file.contains(fragment), "xsmops.go lacks:\n\(fragment)")
    }
  }

  // MARK: Drift

  @Test func committedFilesMatchTheCatalog() throws {
    let catalog = try Self.repositoryCatalog()
    #expect(GeneratedArtefacts.problems(in: catalog).isEmpty)
    for file in GeneratedArtefacts.render(catalog) {
      let path = Self.packageRoot + "/" + file.path
      let committed = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
      #expect(committed != nil, "\(file.path) is missing; run `swift run xsmc docs`")
      guard let committed, committed != file.contents else { continue }
      let old = committed.split(separator: "\n", omittingEmptySubsequences: false)
      let new = file.contents.split(separator: "\n", omittingEmptySubsequences: false)
      let line = Array(zip(old, new)).firstIndex { $0.0 != $0.1 } ?? min(old.count, new.count)
      let message = "\(file.path) differs from what `xsmc docs` generates (first difference at line \(line + 1)); "
        + "run `swift run xsmc docs`"
      Issue.record(Comment(rawValue: message))
    }
  }

  // MARK: Compilers

  /// True when `name` is on the PATH.
  static func tool(_ name: String) -> Bool {
    (try? ProcessRunner.run("sh", ["-c", "command -v \(name)"]).status) == 0
  }

  static func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "xsm-generated-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// The catalogs the compile checks cover: the small one always, the
  /// repository's when it loads.
  static func catalogsToCompile() throws -> [(name: String, catalog: OpCatalog)] {
    var catalogs = [("small test catalog", try smallCatalog())]
    let (repository, _) = CatalogLoader.load(directory: packageRoot + "/policy/ops")
    if let repository { catalogs.append(("policy/ops", repository)) }
    return catalogs
  }

  @Test func cHeaderCompilesAndIterates() throws {
    guard Self.tool("gcc") else {
      print("skipped: gcc is not on the PATH, so the C header was not compiled")
      try Test.cancel("gcc is not on the PATH")
    }
    for (name, catalog) in try Self.catalogsToCompile() {
      let directory = try Self.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      try Bindings.cHeader(catalog).write(toFile: directory + "/xsm_ops.h", atomically: true, encoding: .utf8)
      let syntax = try ProcessRunner.run(
        "gcc", ["-fsyntax-only", "-Wall", "-Werror", "-Wextra", "-std=c99", "xsm_ops.h"], directory: directory)
      #expect(syntax.status == 0, "gcc rejects the header of the \(name):\n\(syntax.errorText)")
      let program = """
        #include <stdio.h>
        #include "xsm_ops.h"

        int main(void)
        {
            size_t ops = 0, checks = 0;
            for (const struct xsm_op *op = xsm_ops; op->name != NULL; op++) {
                ops++;
                for (uint32_t i = 0; i < op->check_count; i++)
                    if (op->checks[i].permission != NULL)
                        checks++;
            }
            if (ops != XSM_OPS_COUNT || xsm_op_by_id(xsm_ops[0].id) != &xsm_ops[0])
                return 1;
            printf("%zu %zu\\n", ops, checks);
            return 0;
        }
        """
      try program.write(toFile: directory + "/count.c", atomically: true, encoding: .utf8)
      let build = try ProcessRunner.run(
        "gcc", ["-Wall", "-Werror", "-Wextra", "-std=c99", "-o", "count", "count.c"], directory: directory)
      #expect(build.status == 0, "gcc cannot build the table walker for the \(name):\n\(build.errorText)")
      guard build.status == 0 else { continue }
      let run = try ProcessRunner.run(directory + "/count", [])
      let permissions = catalog.ops.reduce(0) { $0 + $1.checks.reduce(0) { $0 + $1.permissions.count } }
      #expect(run.status == 0)
      #expect(run.text == "\(catalog.ops.count) \(permissions)\n", "the table walker counted \(run.text)")
    }
  }

  /// The payload header compiles with its static asserts (as C11, pedantic),
  /// and its encoder writes the bytes the Swift codec writes; its decoder
  /// refuses a nonzero reserved field (-EINVAL) and a wrong version (-ENOSYS).
  @Test func cABIHeaderCompilesAndAgreesWithTheCodec() throws {
    guard Self.tool("gcc") else {
      print("skipped: gcc is not on the PATH, so the C payload header was not compiled")
      try Test.cancel("gcc is not on the PATH")
    }
    let catalog = try Self.repositoryCatalog()
    let header = Bindings.cABIHeader(catalog)
    #expect(header.contains("_Static_assert(offsetof(struct xsm_abi_flask_access_request, req) == 16,"))
    #expect(header.contains("_Static_assert(sizeof(struct xsm_abi_xsmid_identity_reply) == 24,"))
    #expect(header.contains("#define XSM_ABI_XSMID_IDENTITY_REPLY_MODULE_FLASK 3u"))
    let directory = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try header.write(toFile: directory + "/xsm_abi.h", atomically: true, encoding: .utf8)
    let flags = ["-Wall", "-Werror", "-Wextra", "-pedantic", "-std=c11"]
    let syntax = try ProcessRunner.run("gcc", ["-fsyntax-only"] + flags + ["xsm_abi.h"], directory: directory)
    #expect(syntax.status == 0, "gcc rejects xsm_abi.h:\n\(syntax.errorText)")
    let program = """
      #include <stdio.h>
      #include "xsm_abi.h"

      int main(void)
      {
          struct xsm_abi_flask_access_request req = {0}, back;
          uint8_t bytes[XSM_ABI_FLASK_ACCESS_REQUEST_SIZE];
          req.version = XSM_ABI_FLASK_ACCESS_REQUEST_VERSION;
          req.ssid = 0x01020304u;
          req.tsid = 5;
          req.tclass = 6;
          req.req = 0x80000000u;
          if (xsm_abi_flask_access_request_encode(&req, bytes, sizeof bytes) != (int)sizeof bytes)
              return 1;
          for (size_t i = 0; i < sizeof bytes; i++)
              printf("%02x", bytes[i]);
          printf("\\n");
          if (xsm_abi_flask_access_request_decode(&back, bytes, sizeof bytes) != 0 || back.req != req.req)
              return 2;
          bytes[20] = 1;
          if (xsm_abi_flask_access_request_decode(&back, bytes, sizeof bytes) != -XSM_ABI_EINVAL)
              return 3;
          /* A wrong version is -ENOSYS and is checked before the reserved field, as
             flask_do_xsm_op (xen/xsm/flask/flask_op.c) checks interface_version first. */
          bytes[0] = 2;
          if (xsm_abi_flask_access_request_decode(&back, bytes, sizeof bytes) != -XSM_ABI_ENOSYS)
              return 4;
          bytes[20] = 0;
          if (xsm_abi_flask_access_request_decode(&back, bytes, sizeof bytes) != -XSM_ABI_ENOSYS)
              return 5;
          return 0;
      }
      """
    try program.write(toFile: directory + "/abi.c", atomically: true, encoding: .utf8)
    let build = try ProcessRunner.run("gcc", flags + ["-o", "abi", "abi.c"], directory: directory)
    #expect(build.status == 0, "gcc cannot build the payload round trip:\n\(build.errorText)")
    guard build.status == 0 else { return }
    let run = try ProcessRunner.run(directory + "/abi", [])
    #expect(run.status == 0, "the C round trip failed at step \(run.status)")
    let codec = PayloadCodec(try #require(catalog.layout(of: "flask.access", .request)))
    let swift = try codec.encode(
      PayloadRecord(["version": [1], "ssid": [0x0102_0304], "tsid": [5], "tclass": [6], "req": [0x8000_0000]]))
    #expect(run.text == swift.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
      .joined() + "\n")
  }

  @Test func rustModuleCompiles() throws {
    guard Self.tool("rustc") else {
      print("skipped: rustc is not on the PATH, so the Rust module was not compiled")
      try Test.cancel("rustc is not on the PATH")
    }
    for (name, catalog) in try Self.catalogsToCompile() {
      let directory = try Self.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      try Bindings.rustModule(catalog).write(toFile: directory + "/xsm_ops.rs", atomically: true, encoding: .utf8)
      let result = try ProcessRunner.run(
        "rustc",
        ["--crate-type", "lib", "--edition", "2021", "-D", "warnings", "--out-dir", directory, "xsm_ops.rs"],
        directory: directory)
      #expect(result.status == 0, "rustc rejects the module of the \(name):\n\(result.errorText)")
    }
  }

  @Test func goPackageBuilds() throws {
    guard Self.tool("go") else {
      print("skipped: go is not on the PATH, so the Go package was not built")
      try Test.cancel("go is not on the PATH")
    }
    for (name, catalog) in try Self.catalogsToCompile() {
      let directory = try Self.temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: directory) }
      try "module example.com/xsmops\n\ngo 1.18\n".write(
        toFile: directory + "/go.mod", atomically: true, encoding: .utf8)
      try Bindings.goPackage(catalog).write(toFile: directory + "/xsmops.go", atomically: true, encoding: .utf8)
      let environment = ["GOCACHE=\(directory)/.cache", "GOFLAGS=-mod=mod", "go"]
      let vet = try ProcessRunner.run("env", environment + ["vet", "./..."], directory: directory)
      #expect(vet.status == 0, "go vet rejects the package of the \(name):\n\(vet.errorText)")
      let build = try ProcessRunner.run("env", environment + ["build", "./..."], directory: directory)
      #expect(build.status == 0, "go build rejects the package of the \(name):\n\(build.errorText)")
      if Self.tool("gofmt") {
        let format = try ProcessRunner.run("gofmt", ["-l", "xsmops.go"], directory: directory)
        #expect(format.text.isEmpty, "gofmt would reformat the Go file of the \(name)")
      }
    }
  }
}
