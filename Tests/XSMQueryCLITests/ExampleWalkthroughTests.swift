import Foundation
import Testing
import XSMTestSupport

/// examples/systems/README.md, the walkthrough of the default host: every
/// command it shows is run, and its output block must be what the command
/// prints (`XSM_UPDATE_SNAPSHOTS=1` rewrites the blocks, cutting long ones).
@Suite("examples/systems walkthrough")
struct ExampleWalkthroughTests {
  @Test func everyShownOutputIsWhatTheCommandPrints() async throws {
    var page = try CommandBlocks(path: packageRoot + "/examples/systems/README.md")
    #expect(page.examples.count >= 8)
    let scratch = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var runs: [[CommandBlocks.Run]] = []
    for example in page.examples {
      #expect(example.shown != nil, "\(page.path):\(example.line): a command block without an output block")
      var results: [CommandBlocks.Run] = []
      for command in example.commands {
        var words = CommandBlocks.words(command)
        try #require(words.first == "xsmq", "\(page.path):\(example.line): only xsmq commands are run: `\(command)`")
        words.removeFirst()
        // Files the example writes go to a scratch directory, never into the checkout.
        if let o = words.firstIndex(of: "-o"), o + 1 < words.count {
          words[o + 1] = scratch + "/" + (words[o + 1] as NSString).lastPathComponent
        }
        let result = await xsmq(words)
        results.append(CommandBlocks.Run(output: result.out, status: result.status))
        if let o = words.firstIndex(of: "-o"), o + 1 < words.count {
          #expect(FileManager.default.fileExists(atPath: words[o + 1]), "`\(command)` writes its file")
        }
      }
      runs.append(results)
    }
    if ProcessInfo.processInfo.environment["XSM_UPDATE_SNAPSHOTS"] == "1" {
      try page.rewrite(with: runs)
      return
    }
    for (example, results) in zip(page.examples, runs) {
      let difference = page.difference(example, runs: results)
      #expect(difference == nil, "\(difference ?? "")")
    }
    // The page stays something a person reads.
    let size = try FileManager.default.attributesOfItem(atPath: page.path)[.size] as? Int ?? 0
    #expect(size < 100_000, "examples/systems/README.md is \(size) bytes")
  }
}
