import ArgumentParser
import Foundation
import XSMBuild
import XSMCommandLine
import XSMDiagnostics
import XSMPolicy

extension XSMC {
  /// `xsmc fmt`: lays out policy sources uniformly without changing a decision.
  struct Fmt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Format policy sources (.te, .if, .spt, .cons, policy.conf and a tree's section files).",
      discussion: """
        Indents by the nesting of {}, of macro calls and of m4 quoted bodies (one tab a level), puts one \
        statement per line, sorts the class and permission sets of allow/auditallow/auditdeny/dontaudit/neverallow \
        rules and constraints (never a class's own permission list, whose order is its bits), makes spacing \
        around : ; , and inside sets uniform, and collapses runs of blank lines. Comments, m4 macro calls and \
        whatever it does not understand are kept; regions m4 reads differently from how they look are left byte \
        for byte (fmt.left-as-is). A PATH that is a policy tree (any layout xsmc reads) gives the files its layout \
        hands m4 inside it and every module's .te, .if and .cons; another directory every .te, .if, .spt, .cons \
        and .conf below it; modules.conf is never formatted. `-` formats stdin to stdout. Files are rewritten \
        through a temporary file and a rename, keeping their permissions; a file with an unbalanced brace, \
        parenthesis or quote (fmt.unbalanced) is left untouched. The rules, and why none changes a decision: \
        docs/fmt.md. Exit status: 0 formatted (or, with --check, nothing to change), 1 --check found files to \
        change or a file could not be formatted, 2 usage errors or unreadable files.
        """)

    @Argument(help: "Files, directories or policy trees; `-` for standard input.")
    var paths: [String] = []

    @Flag(name: .long, help: "Write nothing; list the files that would change and exit 1 if there are any.")
    var check = false

    @Flag(name: .long, help: "With --check, show each change as a unified diff.")
    var diff = false

    @Flag(name: .long, help: "Print the formatted text on stdout instead of rewriting the files.")
    var stdout = false

    @Flag(name: .long, help: "Print a JSON report on stdout (files, changed, errors).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("One level of indentation: `tab` or a number of spaces.", valueName: "tab|N"))
    var indent = "tab"

    @Option(name: .long, help: "Diagnostics format: human, plain or json.")
    var diagnosticsFormat: DiagnosticRenderer.Format = .human

    func validate() throws {
      if paths.isEmpty { throw ValidationError("give the files or trees to format, or `-` for standard input") }
      if diff && !check { throw ValidationError("--diff goes with --check") }
      if check && stdout { throw ValidationError("give --check or --stdout, not both") }
      _ = try indentUnit()
    }

    func indentUnit() throws -> String {
      if indent == "tab" { return "\t" }
      guard let spaces = Int(indent), (1...16).contains(spaces) else {
        throw ValidationError("--indent must be `tab` or a number of spaces from 1 to 16")
      }
      return String(repeating: " ", count: spaces)
    }

    /// One file's outcome, for the report.
    struct FileReport: Encodable {
      var path: String
      var changed: Bool
      var written: Bool
      var errors: [Diagnostic]
      var warnings: [Diagnostic]
    }

    struct Report: Encodable {
      var files: [FileReport]
      var changed: Int
      var errors: Int
      var check: Bool
    }

    func run() async throws {
      let formatter = PolicyFormatter(indentUnit: try indentUnit())
      var reports: [FileReport] = []
      var unreadable = false
      var output = ""
      for path in paths {
        let files: [String]
        if path == "-" {
          files = ["-"]
        } else if FileManager.default.fileExists(atPath: path) {
          files = FormatInputs.files(for: path)
        } else {
          unreadable = true
          reports.append(FileReport(path: path, changed: false, written: false,
            errors: [Diagnostic(.io.notFound, .error, "`\(path)` does not exist")], warnings: []))
          continue
        }
        for file in files {
          let (report, text) = format(file, formatter: formatter)
          if report.errors.contains(where: { $0.id.exitStatus == .unreadableInput }) { unreadable = true }
          reports.append(report)
          if let text, stdout || file == "-" {
            output += files.count > 1 || paths.count > 1 ? "# ==> \(file) <==\n" + text : text
          } else if let text, check && diff && report.changed {
            output += LineDiff.unified(old: (try? original(file)) ?? "", new: text, path: file)
          }
        }
      }
      let diagnostics = DiagnosticList(reports.flatMap { $0.errors + $0.warnings })
      if !diagnostics.isEmpty || diagnosticsFormat == .json {
        Console.current.complain(Console.current.renderer(diagnosticsFormat, maxErrors: 0).render(diagnostics))
      }
      let changed = reports.filter(\.changed)
      let failed = reports.filter { !$0.errors.isEmpty }
      if json {
        Console.current.say(encodeJSON(Report(files: reports, changed: changed.count, errors: failed.count, check: check)))
      } else {
        Console.current.write(output)
        if check {
          for report in changed where !diff { Console.current.say(report.path) }
          Console.current.complain(
            "xsmc fmt: \(changed.count) of \(reports.count) file\(reports.count == 1 ? "" : "s") would be reformatted"
              + (failed.isEmpty ? "" : "; \(failed.count) cannot be formatted"))
        } else if !stdout && !paths.contains("-") {
          Console.current.complain(
            "xsmc fmt: \(changed.count) of \(reports.count) file\(reports.count == 1 ? "" : "s") reformatted"
              + (failed.isEmpty ? "" : "; \(failed.count) left as \(failed.count == 1 ? "it is" : "they are") (errors above)"))
        }
      }
      if unreadable { throw ExitCode(2) }
      if !failed.isEmpty || (check && !changed.isEmpty) { throw ExitCode(1) }
    }

    private func original(_ file: String) throws -> String {
      guard let data = FileManager.default.contents(atPath: file) else { throw CocoaError(.fileReadUnknown) }
      return String(decoding: data, as: UTF8.self)
    }

    /// Formats one file (`-`: stdin); writes it back unless checking or printing.
    private func format(_ file: String, formatter: PolicyFormatter) -> (FileReport, String?) {
      var report = FileReport(path: file, changed: false, written: false, errors: [], warnings: [])
      let name = file == "-" ? "<stdin>" : file
      let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
      guard let data else {
        report.errors = [Diagnostic(.io.unreadable, .error, "cannot read `\(file)`")]
        return (report, nil)
      }
      let text: String
      switch FormatInputs.text(of: Array(data), file: name) {
      case .success(let decoded): text = decoded
      case .failure(let notText):
        report.errors = [notText.diagnostic]
        return (report, nil)
      }
      let result = formatter.format(text, file: name, kind: PolicyFormatter.FileKind(path: file))
      report.errors = result.diagnostics.filter { $0.severity == .error }
      report.warnings = result.diagnostics.filter { $0.severity != .error }
      report.changed = result.changed
      guard let formatted = result.formatted else { return (report, nil) }
      if result.changed && !check && !stdout && file != "-" {
        do {
          try OutputFile.write(formatted, to: file)
          report.written = true
        } catch {
          report.errors.append(Diagnostic(.io.unreadable, .error, "cannot write `\(file)`: \(error.localizedDescription)"))
        }
      }
      return (report, formatted)
    }
  }
}
