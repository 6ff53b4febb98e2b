import Foundation

/// What `--explain-layout` shows: how a tree is read, which files m4 gets
/// in which order and why, for people (`text`) and programs (Codable).
public struct LayoutReport: Sendable, Codable {
  /// One m4 input, in order.
  public struct Input: Sendable, Codable {
    public var path: String
    public var kind: TreeInput.Kind
    public var role: String
    /// For refpolicy's interface pass: the files it runs over.
    public var files: [String]?
    /// For generated text: how many lines it has.
    public var lines: Int?
  }

  public var directory: String
  public var layout: TreeLayout
  public var reason: String
  public var classesDirectory: String?
  public var classesReason: String?
  public var modules: [ModuleSwitch]
  public var m4Options: [String]
  public var droppedLinePrefixes: [String]
  public var inputs: [Input]

  public init(_ tree: PolicyTree) {
    directory = tree.directory
    layout = tree.layout
    reason = tree.layoutReason
    classesDirectory = tree.classes.map { TreePaths.tidy($0.directory) }
    classesReason = tree.classes?.reason
    modules = tree.switches
    m4Options = tree.m4Options
    droppedLinePrefixes = tree.droppedLinePrefixes
    inputs = tree.inputs.map { input in
      Input(path: input.kind == .file ? input.path : TreePaths.join(tree.directory, input.path), kind: input.kind,
        role: input.role, files: input.passFiles,
        lines: input.text.map { $0.reduce(0) { $1 == "\n" ? $0 + 1 : $0 } })
    }
  }

  /// The report as lines of text.
  public var text: String {
    var out = "\(directory): \(layout.title)\n  why: \(reason)\n"
    if let classesDirectory, let classesReason {
      out += "  hypervisor classes: \(classesDirectory) (\(classesReason))\n"
    }
    let on = modules.filter(\.enabled)
    let off = modules.filter { !$0.enabled }
    out += "  modules: \(on.count) built"
    if !on.isEmpty { out += " (\(on.map { "\($0.name) = \($0.state)" }.joined(separator: ", ")))" }
    out += ", \(off.count) off"
    if !off.isEmpty { out += " (\(off.map(\.name).joined(separator: ", ")))" }
    out += "\n  m4 \(m4Options.joined(separator: " ")), over these inputs in order:\n"
    let width = inputs.map(\.path.count).max() ?? 0
    for (index, input) in inputs.enumerated() {
      let number = String(index + 1)
      out += String(repeating: " ", count: max(0, 4 - number.count)) + number + "  "
      out += input.path + String(repeating: " ", count: max(0, width - input.path.count)) + "  " + input.role
      switch input.kind {
      case .file: break
      case .generated: out += " [generated, \(input.lines ?? 0) lines]"
      case .interfaces: out += " [m4 over \(input.files?.count ?? 0) files]"
      }
      out += "\n"
    }
    if !droppedLinePrefixes.isEmpty {
      out += "  then lines starting with \(droppedLinePrefixes.map { "`\($0)`" }.joined(separator: ", ")) are dropped "
        + "from m4's output (xsmc blanks them so line numbers stay right)\n"
    }
    return out
  }
}
