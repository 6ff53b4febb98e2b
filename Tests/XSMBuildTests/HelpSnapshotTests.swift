import Testing
import XSMCommandLine
import XSMCompilerCLI
import XSMTestSupport

/// `--help` of every xsmc command against a golden file
/// (Tests/Snapshots/help/xsmc.txt; xsmq's and xsmd's are beside it, tested in
/// their own targets): a renamed option or a changed default shows up as a
/// diff to review, never by accident. The tree is walked from the program's
/// own configuration, so a new subcommand is covered the day it is added.
@Suite("--help of every xsmc command")
struct HelpSnapshotTests {
  @Test func everyHelpMatchesItsSnapshot() {
    let text = XSMC.everyHelpText()
    #expect(text.components(separatedBy: "\n=== ").count > 5)
    #expect(Snapshot.difference(text, named: "help/xsmc.txt") == nil)
  }
}
