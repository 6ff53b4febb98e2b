import Foundation
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMPolicyGen

/// Policies compiled with xsmc's pipeline for tests, so test targets of the
/// engine and the service need no compiler imports. The project's tree is
/// compiled once per process and variant: each build takes libsepol's lock
/// for about a second, and one build instead of one per test keeps suites
/// from queueing behind it.
public enum TestPolicies {
  /// A compiled policy: the binary Xen loads and the policy.conf text it came from.
  public struct Compiled: Sendable {
    public var binary: [UInt8]
    public var policyText: String
  }

  /// Why a policy did not build: its error diagnostics.
  public struct BuildFailure: Error, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public var description: String {
      diagnostics.prefix(10).map { "\($0.span?.description ?? "-"): \($0.id): \($0.message)" }
        .joined(separator: "\n")
    }
  }

  /// A variant of the project's policy.
  private struct Variant: Hashable {
    var version: Int
    var mls: Bool
  }

  /// Builds of the project's policy by variant, and of texts, started on first use.
  private actor Cache {
    var builds: [Variant: Task<Result<Compiled, BuildFailure>, Never>] = [:]
    var texts: [String: Task<Result<Compiled, BuildFailure>, Never>] = [:]

    func build(text: String, name: String, mls: Bool) -> Task<Result<Compiled, BuildFailure>, Never> {
      let key = (mls ? "mls\n" : "plain\n") + text
      if let running = texts[key] { return running }
      let task = Task { await TestPolicies.compile(.text(name: name, text: text), BuildOptions(mls: mls)) }
      texts[key] = task
      return task
    }

    func build(_ variant: Variant) -> Task<Result<Compiled, BuildFailure>, Never> {
      if let running = builds[variant] { return running }
      let task = Task {
        await TestPolicies.compile(.tree(TestEnvironment.projectPolicyTree),
          BuildOptions(policyVersion: variant.version, mls: variant.mls))
      }
      builds[variant] = task
      return task
    }
  }

  private static let cache = Cache()

  /// The project's `policy/` tree as `xsmc build policy` compiles it (with
  /// `--policy-version` and `--mls` as given), built once per process.
  public static func project(version: Int = 30, mls: Bool = false) async throws -> Compiled {
    try await cache.build(Variant(version: version, mls: mls)).value.get()
  }

  /// The binary of the project's default policy.
  public static func projectBinary() async throws -> [UInt8] { try await project().binary }

  /// Compiles policy.conf text; the same text is compiled once per process.
  public static func compile(text: String, name: String = "test.conf", mls: Bool = false) async throws -> Compiled {
    try await cache.build(text: text, name: name, mls: mls).value.get()
  }

  /// The generator's policy for `guests` guest types, after the project's
  /// hypervisor declarations (its `flask/` files), as the differential
  /// suites and the benchmarks generate it.
  public static func generatedText(guests: Int, seed: UInt64) throws -> String {
    let flask = TestEnvironment.projectPolicyTree + "/flask/"
    let preamble = try ["security_classes", "initial_sids", "access_vectors"]
      .map { try String(contentsOfFile: flask + $0, encoding: .utf8) }.joined(separator: "\n")
    return PolicyGenerator(guests: guests, seed: seed).render(preamble: preamble)
  }

  /// Compiles a policy tree (a copy of the project's, say).
  public static func compile(tree: String, mls: Bool = false) async throws -> Compiled {
    try await compile(.tree(tree), BuildOptions(mls: mls)).get()
  }

  private static func compile(_ source: PolicySource, _ options: BuildOptions) async -> Result<Compiled, BuildFailure> {
    let outcome = await PolicyBuilder.build(source, options: options)
    guard let binary = outcome.binary, let text = outcome.frontend.expandedText, !outcome.diagnostics.hasErrors else {
      return .failure(BuildFailure(diagnostics: outcome.diagnostics.items.filter { $0.severity == .error }))
    }
    return .success(Compiled(binary: binary, policyText: text))
  }
}
