import XSMBuild
import XSMEngine
import XSMPolicy

extension PolicyProvider {
  /// Builds policy trees and policy.conf files with xsmc's compiler: what
  /// xsmq and xsmd hand the engine, so a system file may name a source
  /// (the engine reads binary files itself before asking). Source rules come
  /// from the source itself, or from the map `xsmc build --origins` left
  /// beside a binary.
  public static let compiling = PolicyProvider(
    compiling: { path, mls in
      let (binary, diagnostics) = await PolicyBuilder.compiledBinary(.path(path), options: .forPolicy(at: path, mls: mls))
      return (binary, diagnostics.items)
    },
    ruleSources: { path, mls, binary, isBinaryFile in
      isBinaryFile
        ? RuleOriginSidecar.ruleSources(besideBinaryAt: path, binary: binary)
        : RuleOriginSidecar.ruleSources(ofSourceAt: path, mls: mls)
    })
}
