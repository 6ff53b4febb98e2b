import ArgumentParser
import Foundation
import XSMBuild
import XSMCommandLine
import XSMDiagnostics
import XSMPolicy

extension XSMC {
  /// `xsmc port`: rewrites a policy's permission names from one Xen release to another.
  struct Port: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Rename a policy's permissions from one Xen release to another.",
      discussion: """
        Rewrites a policy tree (in any layout xsmc reads: the files m4 reads inside the tree and every \
        module's .te, .if and .cons, switched off or not), any other directory (every text file, hidden \
        ones skipped) or a single file, per the renames Xen made \
        between the two releases (data/xen-abi-history.txt; --from may be newer than --to). Each whole \
        word outside a `#` comment that is a renamed permission's old name becomes the new name. \
        Permissions the target release does not have are reported with the commit that removed them \
        (port.removed-permission), never deleted. Without --in-place the change is printed as a unified \
        diff on stdout and nothing is written; --in-place writes only the changed files, each through a \
        temporary file and a rename. When the input declares classes or initial SIDs, those Xen added on the way are listed; \
        they must be added by hand, in the target's order. \
        Exit status: 0 ported (also when some permissions could not be), 2 usage or I/O errors.
        """)

    @Option(name: .long, help: ArgumentHelp("The Xen release the policy is written for (4.8 to dev).", valueName: "version"))
    var from: String

    @Option(name: .long, help: ArgumentHelp("The Xen release to port to.", valueName: "version"))
    var to: String

    @Argument(help: "A policy directory or one policy file.")
    var input: String

    @Flag(name: .long, help: "Write the changed files instead of printing a diff.")
    var inPlace = false

    @Flag(name: .long, help: "Print a JSON report on stdout (files, renames made, what could not be ported).")
    var json = false

    @Option(name: .long, help: "Diagnostics format: human, plain or json.")
    var diagnosticsFormat: DiagnosticRenderer.Format = .human

    func validate() throws {
      for (option, value) in [("--from", from), ("--to", to)] where XenABIHistory.release(named: value) == nil {
        throw ValidationError(
          "unknown Xen release `\(value)` for \(option); known: \(XenABIHistory.knownNames.joined(separator: ", "))")
      }
    }

    func run() async throws {
      guard let source = XenABIHistory.release(named: from), let target = XenABIHistory.release(named: to) else {
        throw ExitCode(2)
      }
      let port = XenABIPort(from: source, to: target)
      let files = try readInput()
      var results: [XenABIPort.FileResult] = []
      var diagnostics = DiagnosticList()
      for (path, text) in files {
        let result = port.port(path: path, text: text)
        results.append(result)
        diagnostics.append(contentsOf: result.diagnostics(target: target))
      }
      let changed = results.filter(\.changed)
      if inPlace {
        for result in changed {
          try OutputFile.write(Array(result.ported.utf8), to: result.path, reportingAs: "xsmc")
        }
      }
      if !diagnostics.isEmpty || diagnosticsFormat == .json {
        Console.current.complain(Console.current.renderer(diagnosticsFormat, maxErrors: 0).render(diagnostics))
      }
      let needsDeclaring = files.contains { XenABIPort.declaresClasses($0.text) } ? port.additions : []
      if json {
        Console.current.say(encodeJSON(PortReport(port: port, results: results, inPlace: inPlace, diagnostics: diagnostics.sorted(),
          toDeclare: needsDeclaring)))
        return
      }
      if !inPlace {
        Console.current.write(changed.map(\.unifiedDiff).joined())
      }
      let edits = results.reduce(0) { $0 + $1.edits.count }
      var summary = "xsmc port: \(source) -> \(target): \(edits) rename\(edits == 1 ? "" : "s") in \(changed.count) file\(changed.count == 1 ? "" : "s")"
      summary += inPlace ? " written" : (changed.isEmpty ? "" : " (diff above; --in-place writes it)")
      if !diagnostics.isEmpty { summary += "; \(diagnostics.count) permission\(diagnostics.count == 1 ? "" : "s") not ported" }
      if !needsDeclaring.isEmpty {
        summary += "\n\(target) also has what \(source) lacked; a policy that declares Xen's classes (access_vectors, "
          + "security_classes, initial_sids) must add it in \(target)'s order:"
        for change in needsDeclaring {
          let what: String
          switch change.kind {
          case .addedClass: what = "class `\(change.className)`"
          case .addedSID: what = "initial SID `\(change.className)`"
          default: what = "permission `\(change.className):\(change.permission)`"
          }
          summary += "\n  \(what) (Xen \(change.release), commit \(change.commit))"
        }
      }
      Console.current.complain(summary)
    }

    /// The input's files as (path, text): the file itself, or every text
    /// file under the directory (hidden ones and non-UTF-8 ones skipped), sorted.
    private func readInput() throws -> [(path: String, text: String)] {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
        Console.current.complain("xsmc: error: `\(input)` does not exist")
        throw ExitCode(2)
      }
      var paths: [String] = []
      if isDirectory.boolValue, TreeLayout.detect(input) != nil {
        // A policy tree: the files its layout reads and its modules' files, nothing else of the checkout.
        let (tree, _) = PolicyTree.load(directory: input)
        paths = tree.sourceFiles
        if let classes = tree.classes?.directory, !paths.contains(where: { $0.hasPrefix(classes) }) {
          Console.current.complain(
            "xsmc: note: the hypervisor's classes in `\(classes)` come with Xen; port leaves them to the checkout of Xen \(to)")
        }
      } else if isDirectory.boolValue {
        let enumerator = FileManager.default.enumerator(atPath: input)
        while let relative = enumerator?.nextObject() as? String {
          var path = (input as NSString).appendingPathComponent(relative)
          if path.hasPrefix("./") { path.removeFirst(2) }  // `a/modules/x.te` in the diff, not `a/./modules/x.te`
          var nested: ObjCBool = false
          if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
          if FileManager.default.fileExists(atPath: path, isDirectory: &nested), !nested.boolValue { paths.append(path) }
        }
        paths.sort()
      } else {
        paths = [input]
      }
      var files: [(String, String)] = []
      for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else {
          Console.current.complain("xsmc: error: cannot read `\(path)`")
          throw ExitCode(2)
        }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
          if !isDirectory.boolValue {
            Console.current.complain("xsmc: error: `\(path)` is not UTF-8 text")
            throw ExitCode(2)
          }
          continue
        }
        files.append((path, text))
      }
      return files
    }
  }
}

/// What `xsmc port --json` prints.
private struct PortReport: Encodable {
  struct File: Encodable {
    var path: String
    var changed: Bool
    var edits: [XenABIPort.Edit]
  }
  struct Declaration: Encodable {
    var kind: String
    var className: String
    var permission: String
    var release: String
    var commit: String
  }
  var from: String
  var to: String
  var inPlace: Bool
  var files: [File]
  /// Classes, permissions and initial SIDs of the target that the source release lacked.
  var toDeclare: [Declaration]
  var diagnostics: [Diagnostic]

  init(port: XenABIPort, results: [XenABIPort.FileResult], inPlace: Bool, diagnostics: [Diagnostic], toDeclare: [XenABIChange]) {
    from = port.from.version
    to = port.to.version
    self.inPlace = inPlace
    files = results.map { File(path: $0.path, changed: $0.changed, edits: $0.edits) }
    self.toDeclare = toDeclare.map { Declaration(kind: $0.kind.rawValue, className: $0.className, permission: $0.permission, release: $0.release, commit: $0.commit) }
    self.diagnostics = diagnostics
  }
}
