import Foundation
import Testing
import XSMBuild
import XSMDiagnostics
import XSMPolicy
import XSMTestSupport

/// `--max-input-size`: policy text above the limit is refused before it is
/// parsed (a file before it is even read), with `io.too-large`, exit status 2
/// and no output file.
@Suite("Input size limit")
struct InputSizeLimitTests {
  @Test func aFileAboveTheLimitIsNotRead() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let example = "examples/single-file/policy.conf"
    let size = try #require(try FileManager.default.attributesOfItem(atPath: example)[.size] as? Int)
    let refused = await xsmc(["build", example, "-o", dir + "/out", "--max-input-size", "1K"])
    #expect(refused.status == 2, "\(refused.err)")
    #expect(refused.err.contains("error[io.too-large]: `\(example)` is \(size) bytes, more than the limit of 1024 bytes"),
      "\(refused.err)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    let built = await xsmc(["build", example, "-o", dir + "/out", "--max-input-size", "\(size)"])
    #expect(built.status == 0, "\(built.err)")
  }

  @Test func treesAreMeasuredByWhatM4Wrote() async throws {
    var options = BuildOptions()
    options.maxInputSize = 4096
    let outcome = await PolicyBuilder.build(.tree(projectPolicyDir), options: options)
    let diagnostic = try #require(outcome.diagnostics.items.first { $0.id == .io.tooLarge }, "\(outcome.diagnostics.items)")
    #expect(diagnostic.message.hasPrefix("m4's output for `\(projectPolicyDir)` is "))
    #expect(outcome.binary == nil && outcome.isInputError)
  }

  @Test func textInMemoryIsMeasuredToo() async {
    var options = BuildOptions()
    options.maxInputSize = 10
    let outcome = await PolicyBuilder.build(.text(name: "small.conf", text: "class xen\nclass domain\n"), options: options)
    #expect(outcome.diagnostics.items.map(\.id) == [.io.tooLarge])
  }

  @Test func sizesTakeBinaryUnits() async {
    for bad in ["0", "-1", "12Q", "M", "99999999999G"] {
      let result = await xsmc(["check", "examples/single-file/policy.conf", "--max-input-size", bad])
      #expect(result.status == 2 && result.err.contains("--max-input-size"), "\(bad): \(result.status) \(result.err)")
    }
    let result = await xsmc(["check", "examples/single-file/policy.conf", "--max-input-size", "1M"])
    #expect(result.status == 0, "\(result.err)")
  }
}

/// More than 65,535 types and attributes do not fit a binary policy (type values are 16 bits in
/// its rule keys): refused as libsepol's expand refuses it for checkpolicy, at the declaration
/// that overflows, rather than written with truncated values.
@Suite("Type space")
struct TypeSpaceTests {
  @Test func theTypeAfterTheLastValueIsAnError() async throws {
    let example = try String(contentsOfFile: TestEnvironment.packageRoot + "/examples/single-file/policy.conf", encoding: .utf8)
    var lines = example.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let first = try #require(lines.firstIndex { $0.hasPrefix("attribute ") })
    lines.insert(contentsOf: (0..<65_535).map { "type overflow_\($0)_t;" }, at: first)
    let outcome = await PolicyBuilder.build(.text(name: "overflow.conf", text: lines.joined(separator: "\n")), options: BuildOptions())
    let diagnostic = try #require(outcome.diagnostics.items.first { $0.message.contains("type space overflow") },
      "\(outcome.diagnostics.items.prefix(3))")
    #expect(diagnostic.id == .sepol.compile && outcome.binary == nil)
    // Value 65,536 goes to the first type the example declares itself (after the 65,535 added).
    let overflowing = try #require(lines.firstIndex { $0.hasPrefix("type ") && !$0.hasPrefix("type overflow_") })
    #expect(diagnostic.span?.file == "overflow.conf")
    #expect(diagnostic.span?.line == overflowing + 1)
    #expect(diagnostic.sourceLine == lines[overflowing])
  }
}
