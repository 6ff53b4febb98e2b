import Foundation
import Testing
import XSMCompilerCLI
import XSMTestSupport

/// The main README's terminal transcripts (`Transcripts`): every block not
/// marked `<!-- not run: REASON -->` is run, its xsmq and xsmc commands in
/// this process from the package root, and must print what it shows.
@Suite("README.md transcripts")
struct ReadmeTranscriptTests {
  @Test func everyTranscriptPrintsWhatItShows() async throws {
    let page = try Transcripts(path: packageRoot + "/README.md")
    #expect(page.unmarked.isEmpty, "README.md: ```sh blocks at lines \(page.unmarked) need `<!-- not run: REASON -->`")
    var ran = 0
    for block in page.blocks where block.notRun == nil {
      for command in block.commands {
        var words = CommandBlocks.words(command.line)
        let program = words.removeFirst()
        let r: (status: Int32, out: String, err: String)
        switch program {
        case "xsmq": r = await xsmq(words)
        case "xsmc":
          TestEnvironment.enterPackageRoot()
          let c = await XSMC.run(capturing: words)
          r = (c.status, c.output, c.error)
        default:
          Issue.record("README.md:\(block.line): only xsmq and xsmc run in process; mark `\(command.line)` not run")
          continue
        }
        if let difference = Transcripts.difference(command, printed: r.out + r.err) {
          Issue.record("README.md:\(block.line): `\(command.line)`: \(difference)")
        }
        ran += 1
      }
    }
    let skipped = page.blocks.filter { $0.notRun != nil }
    // Said in the test log: how much of the page is checked.
    print("README.md: ran \(ran) commands of \(page.blocks.count - skipped.count) blocks; \(skipped.count) blocks not run")
    #expect(ran >= 8, "README.md: only \(ran) commands ran")
  }
}
