import Foundation
import Testing
import XSMCatalog
import XSMDiagnostics
import XSMTestSupport

let packageRoot = TestEnvironment.packageRoot
let catalogDirectory = TestEnvironment.catalogDirectory
let factsTable = packageRoot + "/../shared/xsm-ops.tsv"

/// The project's catalog, loaded once; a load failure fails the test that asks.
let projectCatalog: Result<OpCatalog, CatalogLoadFailure> = {
  let (catalog, diagnostics) = CatalogLoader.load(directory: catalogDirectory)
  guard let catalog else { return .failure(CatalogLoadFailure(diagnostics: diagnostics)) }
  return .success(catalog)
}()

struct CatalogLoadFailure: Error, CustomStringConvertible {
  var diagnostics: DiagnosticList
  var description: String {
    diagnostics.items.filter { $0.severity == .error }.prefix(10)
      .map { "\($0.span?.description ?? "-"): \($0.id): \($0.message)" }.joined(separator: "\n")
  }
}

func loadProjectCatalog() throws -> OpCatalog { try projectCatalog.get() }

/// Loads catalog text written in a test; `1️⃣` marks where the first error must point.
func loadMarked(_ text: String, file: String = "test.ops") -> (OpCatalog?, DiagnosticList, SourceSpan?) {
  var marked: SourceSpan?
  var clean = ""
  for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    if let r = line.range(of: "1️⃣") {
      marked = SourceSpan(file: file, line: i + 1, column: line.distance(from: line.startIndex, to: r.lowerBound) + 1)
      clean += line.replacingCharacters(in: r, with: "") + "\n"
    } else {
      clean += line + "\n"
    }
  }
  let (catalog, diagnostics) = CatalogLoader.load(files: [CatalogLoader.File(name: file, text: clean)])
  return (catalog, diagnostics, marked)
}

