import ArgumentParser
import Foundation
import XSMBuild
import XSMCatalog
import XSMDiagnostics

/// `--catalog DIR`, the one way every program is told where the op catalog
/// is. Without it a program uses the catalog built into it; `xsmc build`
/// and `xsmc check` first look for an `ops/` directory inside the policy
/// tree they read, since a tree may carry its own ops.
public struct CatalogOptions: ParsableArguments {
  @Option(
    name: .long,
    help: "Op catalog directory (default: the catalog built into the program; xsmc build also looks for ops/ in the tree).")
  public var catalog: String?

  public init() {}

  /// The directory that will be read, or nil for the built-in catalog.
  public func directory(near policyTree: String? = nil) -> String? {
    if let catalog { return catalog }
    return policyTree.flatMap { DeferredOpCatalog.ownDirectory(ofTree: $0) }
  }

  /// The catalog and what loading it reported.
  public func load(near policyTree: String? = nil) -> (OpCatalog?, DiagnosticList) {
    DeferredOpCatalog.load(directory: directory(near: policyTree))
  }

  /// Loads the catalog, writing its diagnostics to the console; nil after errors.
  public func load(near policyTree: String? = nil, renderer: DiagnosticRenderer) -> OpCatalog? {
    loader(near: policyTree, renderer: renderer)()
  }

  /// What `load(near:renderer:)` does, to run later (for a catalog read only
  /// when a policy turns out to need it).
  public func loader(near policyTree: String? = nil, renderer: DiagnosticRenderer) -> @Sendable () -> OpCatalog? {
    let directory = directory(near: policyTree)
    return {
      let (catalog, diagnostics) = DeferredOpCatalog.load(directory: directory)
      if !diagnostics.isEmpty { Console.current.complain(renderer.render(diagnostics)) }
      return catalog
    }
  }
}
