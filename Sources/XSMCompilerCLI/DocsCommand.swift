import ArgumentParser
import Foundation
import XSMBuild
import XSMCatalog
import XSMCatalogGen
import XSMCommandLine
import XSMDiagnostics
import XSMEngine
import XSMPolicy

extension XSMC {
  /// `xsmc docs`: renders the op reference and the C, Rust and Go bindings
  /// from the op catalog, or checks that the committed files are current.
  struct Docs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Generate the op reference and bindings.",
      discussion: """
        Reads the op catalog and writes docs/ops.md, docs/abi.md, bindings/c/xsm_ops.h, bindings/c/xsm_abi.h, \
        bindings/rust/xsm_ops.rs, bindings/rust/xsm_abi.rs, bindings/go/xsmops/xsmops.go and bindings/go/xsmabi \
        under the output directory, and docs/diagnostics.md from the declared \
        diagnostic ids (each through a temporary file and a \
        rename; files whose text is unchanged are left alone). With --check nothing is written and the \
        command fails if any file differs from what it would write. Exit status: 0 ok, 1 catalog errors or \
        out-of-date files, 2 usage or I/O errors.
        """)

    @Option(name: .long, help: "The op catalog source the files are generated from (not the built-in copy).")
    var catalog = GeneratedArtefacts.defaultCatalogSource

    @Option(name: .long, help: "The repository root the files are written under.")
    var out = "."

    @Flag(name: .long, help: "Write nothing; exit 1 and list the files that are out of date.")
    var check = false

    @Flag(name: .long, help: "Print a JSON summary (files, bytes, changed) on stdout.")
    var json = false

    @Option(name: .long, help: "Show at most this many errors (0 shows all).")
    var maxErrors: Int = 20

    func validate() throws {
      guard maxErrors >= 0 else { throw ValidationError("--max-errors must be 0 or more") }
    }

    func run() async throws {
      let (loaded, diagnostics) = CatalogLoader.load(directory: catalog)
      report(diagnostics)
      guard let opCatalog = loaded else {
        throw ExitCode(diagnostics.hasInputErrors ? 2 : 1)
      }
      let problems = GeneratedArtefacts.problems(in: opCatalog)
      if !problems.isEmpty {
        report(DiagnosticList(problems))
        throw ExitCode(1)
      }

      var files = GeneratedArtefacts.render(opCatalog, source: sourceName)
      files.append(GeneratedFile(path: DiagnosticsReference.path, contents: DiagnosticsReference.markdown()))
      files.append(contentsOf: try xenABIHistoryFiles())
      files.append(try embeddedCatalogFile())
      files.append(try await embeddedDefaultsFile())
      var results: [FileResult] = []
      for file in files {
        let path = out == "." ? file.path : (out as NSString).appendingPathComponent(file.path)
        let bytes = Array(file.contents.utf8)
        let current = FileManager.default.contents(atPath: path).map(Array.init)
        results.append(FileResult(path: path, bytes: bytes.count, changed: current != bytes))
        guard !check, current != bytes else { continue }
        do {
          try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
          fail("cannot write `\(path)`: \(error.localizedDescription)")
          throw ExitCode(2)
        }
        try OutputFile.write(bytes, to: path, reportingAs: "xsmc")
      }

      let stale = results.filter(\.changed)
      if json {
        Console.current.say(encodeJSON(DocsReport(check: check, ok: !check || stale.isEmpty, files: results)))
      } else if check {
        for file in stale { Console.current.say(file.path) }
      } else {
        for file in results {
          Console.current.say("\(file.changed ? "wrote" : "unchanged") \(file.path) (\(file.bytes) bytes)")
        }
      }
      if check && !stale.isEmpty {
        let count = stale.count == 1 ? "1 generated file is" : "\(stale.count) generated files are"
        fail("\(count) out of date; run `xsmc docs` to regenerate")
        throw ExitCode(1)
      }
    }

    /// The Swift source that compiles the catalog into the tools, with file
    /// names as `sourceName/...` so they read the same on every checkout.
    private func embeddedCatalogFile() throws -> GeneratedFile {
      let files: [CatalogLoader.File]
      do {
        files = try CatalogLoader.files(in: catalog)
      } catch {
        fail(error.message)
        throw ExitCode(2)
      }
      let prefix = catalog.hasSuffix("/") ? catalog : catalog + "/"
      let renamed = files.map { file in
        CatalogLoader.File(name: sourceName + "/" + file.name.dropFirst(prefix.count), text: file.text)
      }
      return GeneratedFile(path: "Sources/XSMCatalog/EmbeddedCatalogData.swift",
        contents: EmbeddedCatalog.swiftSource(files: renamed))
    }

    /// The Xen ABI history compiled into the tools and its page, from
    /// data/xen-abi-history.txt (under --out).
    private func xenABIHistoryFiles() throws -> [GeneratedFile] {
      let path = out == "." ? XenABIHistory.dataPath : (out as NSString).appendingPathComponent(XenABIHistory.dataPath)
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        fail("cannot read the Xen ABI history `\(path)`")
        throw ExitCode(2)
      }
      let (releases, problems) = XenABIHistory.parse(text)
      guard problems.isEmpty else {
        for problem in problems { fail("\(path): \(problem)") }
        throw ExitCode(1)
      }
      return [
        GeneratedFile(path: "Sources/XSMPolicy/Resolve/XenABIHistoryData.swift", contents: XenABIHistory.swiftSource(text: text)),
        GeneratedFile(path: XenABIHistory.pagePath, contents: XenABIHistory.markdown(releases)),
      ]
    }

    /// The Swift source that compiles the project's policy (built from the
    /// tree that holds the catalog) and the default system into the tools.
    private func embeddedDefaultsFile() async throws -> GeneratedFile {
      let tree = (sourceName as NSString).deletingLastPathComponent
      let systemPath = out == "." ? EmbeddedDefaults.systemName : (out as NSString).appendingPathComponent(EmbeddedDefaults.systemName)
      guard let system = try? String(contentsOfFile: systemPath, encoding: .utf8) else {
        fail("cannot read the default system `\(systemPath)`")
        throw ExitCode(2)
      }
      let outcome = await PolicyBuilder.build(.tree(tree.isEmpty ? "." : tree), options: BuildOptions())
      guard let binary = outcome.binary else {
        report(outcome.diagnostics)
        fail("the policy `\(tree)` does not build, so the embedded default cannot be refreshed")
        throw ExitCode(1)
      }
      return GeneratedFile(path: "Sources/XSMEngine/EmbeddedDefaultsData.swift",
        contents: EmbeddedDefaults.swiftSource(policy: binary, system: system))
    }

    /// The catalog directory as the generated headers name it: `./policy/ops/` is `policy/ops`, so the
    /// spelling of `--catalog` does not change the output.
    private var sourceName: String {
      var name = (catalog as NSString).standardizingPath
      while name.hasPrefix("./") { name.removeFirst(2) }
      return name.isEmpty ? "." : name
    }

    /// Catalog diagnostics go to stderr, rendered as `xsmc build` renders policy diagnostics.
    private func report(_ diagnostics: DiagnosticList) {
      guard !diagnostics.isEmpty else { return }
      let renderer = Console.current.renderer(maxErrors: maxErrors)
      Console.current.complain(renderer.render(diagnostics))
    }

    private func fail(_ message: String) {
      Console.current.complain("xsmc: error: \(message)")
    }
  }
}

/// One generated file in the `--json` summary.
private struct FileResult: Encodable {
  var path: String
  var bytes: Int
  /// The file on disk differs from (or, after writing, differed from) the generated text.
  var changed: Bool
}

/// The `--json` summary of `xsmc docs`.
private struct DocsReport: Encodable {
  var check: Bool
  var ok: Bool
  var files: [FileResult]
}
