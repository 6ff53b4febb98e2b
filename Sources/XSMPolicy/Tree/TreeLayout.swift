import Foundation

/// The source layouts of Xen FLASK policy trees that xsmc reads, each in
/// the file order and with the m4 parameters of the Makefile that builds it.
public enum TreeLayout: String, Sendable, Codable, CaseIterable {
  /// xsmtools' own layout: `modules.conf` and the hypervisor's classes
  /// (`flask/`) inside the tree, everything else at its top.
  case xsmtools
  /// Xen's `tools/flask/policy` (Xen 4.8 and later): `modules/modules.conf`,
  /// `policy/…`, and the hypervisor's classes in `../../../xen/xsm/flask/policy`
  /// (Makefile.common's `FLASKDIR`).
  case xen
  /// A refpolicy-style monolithic tree (OpenXT's xsm-policy): `policy/modules.conf`
  /// with `name = base|module|off`, modules in `policy/modules/LAYER/NAME.{te,if}`,
  /// classes in `policy/flask/`, built as refpolicy's `Rules.monolithic` does.
  case refpolicy

  /// How the layout is named to people.
  public var title: String {
    switch self {
    case .xsmtools: "xsmtools layout"
    case .xen: "Xen's tools/flask/policy layout"
    case .refpolicy: "refpolicy-style monolithic layout"
    }
  }

  /// Where the layout keeps modules.conf, relative to the tree.
  public var modulesConf: String {
    switch self {
    case .xsmtools: "modules.conf"
    case .xen: "modules/modules.conf"
    case .refpolicy: "policy/modules.conf"
    }
  }

  /// The layout `directory` has, judged from the files it holds, with the
  /// reason; nil when it has none of them.
  public static func detect(_ directory: String) -> (layout: TreeLayout, reason: String)? {
    let fm = FileManager.default
    func exists(_ path: String) -> Bool { fm.fileExists(atPath: TreePaths.join(directory, path)) }
    if exists("modules.conf") {
      return (.xsmtools, "`modules.conf` is at the top of the tree")
    }
    if exists("modules/modules.conf") && exists("policy") {
      return (.xen, "`modules/modules.conf` and `policy/` are there, as in Xen's tools/flask/policy")
    }
    if exists("policy/modules.conf") && exists("policy/modules") {
      return (.refpolicy, "`policy/modules.conf` and `policy/modules/` are there, as in refpolicy")
    }
    return nil
  }
}

/// How a tree is read beyond what its layout fixes: where the hypervisor's
/// classes are when the tree does not say, and extra m4 definitions.
public struct TreeOptions: Sendable, Equatable {
  /// A directory holding `security_classes`, `initial_sids` and `access_vectors`
  /// that replaces the tree's own hypervisor classes (`--classes`).
  public var classesDirectory: String?
  /// The root of a Xen checkout; Xen-layout trees take their classes from its
  /// `xen/xsm/flask/policy` (`--xen-root`).
  public var xenRoot: String?
  /// Extra `NAME` or `NAME=VALUE` definitions handed to m4 as `-D` after the
  /// layout's own (`--m4-define`), e.g. refpolicy's `targeted_policy`.
  public var m4Definitions: [String]
  /// An MLS build of an MCS policy (refpolicy's `TYPE=…-mcs`): m4 gets
  /// `-D enable_mcs` instead of `-D enable_mls` (`--mcs`).
  public var mcs: Bool
  /// How long m4 may run, how much it may output and allocate, and whether
  /// its shell builtins may run (`--m4-time-limit`, `--allow-m4-shell`, …).
  public var m4Limits: M4Limits

  public init(
    classesDirectory: String? = nil, xenRoot: String? = nil, m4Definitions: [String] = [], mcs: Bool = false,
    m4Limits: M4Limits = M4Limits()
  ) {
    self.classesDirectory = classesDirectory
    self.xenRoot = xenRoot
    self.m4Definitions = m4Definitions
    self.mcs = mcs
    self.m4Limits = m4Limits
  }

  /// The m4 definition that switches on multi-level security in this build, if any.
  func securityLevelDefinition(mls: Bool) -> [String] {
    mcs ? ["-D", "enable_mcs"] : (mls ? ["-D", "enable_mls"] : [])
  }
}

/// Path helpers shared by the tree readers.
enum TreePaths {
  static func join(_ directory: String, _ file: String) -> String {
    directory == "." ? file : (directory.hasSuffix("/") ? directory + file : directory + "/" + file)
  }

  /// `path` with `.` and `..` components folded where that is purely textual
  /// (leading `..` of a relative path stay), for display.
  static func tidy(_ path: String) -> String {
    var parts: [Substring] = []
    let absolute = path.hasPrefix("/")
    for part in path.split(separator: "/") {
      if part == "." { continue }
      if part == "..", let last = parts.last, last != ".." {
        parts.removeLast()
      } else if part == ".." && absolute && parts.isEmpty {
        continue
      } else {
        parts.append(part)
      }
    }
    let joined = parts.joined(separator: "/")
    return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
  }
}
