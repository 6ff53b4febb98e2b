import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics
import XSMEngine

extension XSMC {
  struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run policy assertions (may, may-not, build, only, reachable, unreachable) on a host before boot.",
      discussion: """
        Each FILE is a policy test file (TOML, docs/policy-tests.md): the host (a system file, else \
        the embedded default host), optionally a policy that replaces the host's (a tree, a \
        policy.conf or a binary, built as needed), and cases: `may` and `may-not` ask `xsmq can` \
        questions (callers, ops and targets, by name, domN, type:T or kind:K), `build` asks every op \
        of docs/ops.md's "How to build a domain" for a builder on a guest. Coverage questions ask every \
        domain of the host: `only` (exactly these callers may invoke the ops on some target), \
        `reachable` (some domain may invoke each op), `unreachable` (no domain may); ops may be given \
        as `family.*`. A file's `coverage = { families = [...], min-percent = N }` fails the run when \
        the cases ask fewer of a family's catalog ops. One line per case, the decision's trace under a \
        failure, then "N passed, N failed". Exit status: 0 all passed, 1 some failed, 2 usage or input \
        errors (located in the test file).
        """)

    @Argument(help: "Policy test files (TOML).")
    var files: [String]

    @OptionGroup var catalogOptions: CatalogOptions

    @Flag(name: .long, help: "Print the reports as JSON on stdout.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Also write JUnit XML (one testsuite per file) to this file.", valueName: "file"))
    var junit: String?

    @Flag(name: .long, help: "Report what the cases asked: per op family, the catalog's ops asked; the policy's permissions no check made.")
    var coverage = false

    @Flag(name: .long, help: "List the build steps left out for a guest (a PV-only op on an HVM guest...).")
    var skipped = false

    func validate() throws {
      if files.isEmpty { throw ValidationError("name at least one test file") }
    }

    func run() async throws {
      let renderer = Console.current.renderer()
      guard let catalog = catalogOptions.load(renderer: renderer) else { throw ExitCode(2) }
      var reports: [PolicyTestReport] = []
      var inputErrors = false
      for path in files {
        let (file, fileDiagnostics) = PolicyTestFile.load(path: path)
        guard let file else {
          Console.current.complain(renderer.render(DiagnosticList(fileDiagnostics)))
          inputErrors = true
          continue
        }
        let (report, diagnostics) = await PolicyTestRunner.run(file, catalog: catalog, policies: .compiling,
          showCoverage: coverage)
        if !diagnostics.isEmpty || !fileDiagnostics.isEmpty {
          Console.current.complain(renderer.render(DiagnosticList(fileDiagnostics + diagnostics)))
        }
        guard let report else {
          inputErrors = true
          continue
        }
        reports.append(report)
        if !json { Console.current.say((files.count > 1 ? "\(path):\n" : "") + report.text(skipped: skipped)) }
      }
      if json { Console.current.say(encodeJSON(files.count == 1 && reports.count == 1 ? AnyReports.one(reports[0]) : .all(reports))) }
      if let junit {
        try OutputFile.write(Array(PolicyTestReport.junit(reports).utf8), to: junit, reportingAs: "xsmc")
      }
      if inputErrors { throw ExitCode(2) }
      if reports.contains(where: { $0.failed > 0 }) { throw ExitCode(1) }
    }

    /// One report as an object, several as an array.
    enum AnyReports: Encodable {
      case one(PolicyTestReport)
      case all([PolicyTestReport])

      func encode(to encoder: any Encoder) throws {
        switch self {
        case .one(let report): try report.encode(to: encoder)
        case .all(let reports): try reports.encode(to: encoder)
        }
      }
    }
  }
}
