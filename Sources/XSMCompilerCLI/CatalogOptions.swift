import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMDiagnostics

/// Where the op catalog comes from: `--catalog DIR`, else `policy/ops` when
/// run from a checkout, else the copy compiled into xsmc.
struct CatalogOptions: ParsableArguments {
  @Option(name: .long, help: "Op catalog directory (default: policy/ops if present, else the built-in catalog).")
  var catalog: String?

  /// The directory that will be read, or nil for the built-in catalog.
  func directory(near policyInput: String? = nil) -> String? {
    if let catalog { return catalog }
    var isDirectory: ObjCBool = false
    if let policyInput {
      let candidate = (policyInput as NSString).appendingPathComponent("ops")
      if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
        return candidate
      }
    }
    if FileManager.default.fileExists(atPath: "policy/ops", isDirectory: &isDirectory), isDirectory.boolValue {
      return "policy/ops"
    }
    return nil
  }

  /// Loads the catalog, printing its diagnostics to stderr; nil after errors.
  func load(near policyInput: String? = nil, renderer: DiagnosticRenderer) -> OpCatalog? {
    let (catalog, diagnostics) =
      directory(near: policyInput).map { CatalogLoader.load(directory: $0) } ?? EmbeddedCatalog.load()
    if !diagnostics.isEmpty {
      Console.current.complain(renderer.render(diagnostics))
    }
    return catalog
  }
}
