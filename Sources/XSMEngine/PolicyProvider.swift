import XSMDiagnostics
import XSMSepol

/// Where the binary policy of a system comes from when its file names one by
/// path. The engine reads binary policies itself; building a policy tree or a
/// policy.conf needs the compiler, which the executables hand in, so the
/// engine does not link the parser, the resolver or the m4 runner.
public struct PolicyProvider: Sendable {
  /// Builds the policy source at `path` (a tree or a policy.conf), with or
  /// without MLS: the binary, or nil and the reasons it does not build.
  public typealias Compile = @Sendable (_ path: String, _ mls: Bool) async -> ([UInt8]?, [Diagnostic])

  /// The source rules of the policy at `path`, which is a binary file
  /// (`isBinaryFile`, its map read from beside it) or a source that built to `binary`.
  public typealias Sources = @Sendable (_ path: String, _ mls: Bool, _ binary: [UInt8], _ isBinaryFile: Bool) async
    -> RuleSources

  private let compile: Compile?
  private let sources: Sources?

  /// A provider that builds sources with `compile` and finds their source rules with `sources`.
  public init(compiling compile: @escaping Compile, ruleSources sources: Sources? = nil) {
    self.compile = compile
    self.sources = sources
  }

  private init() {
    compile = nil
    sources = nil
  }

  /// Reads binary policy files only; a system naming a source is told to build it first.
  public static let binaryFiles = PolicyProvider()

  /// The binary policy at `path`: a binary file as it is, a source built
  /// by the compiler when one was handed in.
  func binary(at path: String, mls: Bool) async -> ([UInt8]?, [Diagnostic]) {
    if let bytes = BinaryPolicy.bytes(ofFileAt: path) { return (bytes, []) }
    guard let compile else {
      return (nil, [Diagnostic(.system.policyNotBinary, .error,
        "`\(path)` is a policy source, and this program reads binary policies only",
        help: "build it with `xsmc build` and name the binary, or ask xsmq or xsmd, which build sources")])
    }
    return await compile(path, mls)
  }

  /// The source rules behind the policy at `path` that loaded as `binary`.
  func ruleSources(at path: String, mls: Bool, binary: [UInt8]) async -> RuleSources {
    let isBinaryFile = BinaryPolicy.bytes(ofFileAt: path) != nil
    guard let sources else { return .binaryWithoutMap }
    return await sources(path, mls, binary, isBinaryFile)
  }
}
