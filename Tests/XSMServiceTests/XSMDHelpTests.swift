import Testing
import XSMCommandLine
import XSMServerCLI
import XSMTestSupport

/// `xsmd --help` against Tests/Snapshots/help/xsmd.txt.
@Suite("--help of xsmd")
struct XSMDHelpTests {
  @Test func helpMatchesItsSnapshot() {
    let text = XSMD.everyHelpText()
    #expect(text.hasPrefix("=== xsmd --help\n"))
    #expect(Snapshot.difference(text, named: "help/xsmd.txt") == nil)
  }
}
