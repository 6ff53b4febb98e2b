import XSMBuild
import XSMEngine
import XSMPolicy

extension PolicyProvider {
  /// Builds policy trees and policy.conf files with xsmc's compiler: what
  /// xsmq and xsmd hand the engine, so a system file may name a source
  /// (the engine reads binary files itself before asking).
  public static let compiling = PolicyProvider(compiling: { path, mls in
    let (binary, diagnostics) = await PolicyBuilder.compiledBinary(.path(path), options: BuildOptions(mls: mls))
    return (binary, diagnostics.items)
  })
}
