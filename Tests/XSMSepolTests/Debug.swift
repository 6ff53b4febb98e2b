import Testing
import Foundation
@testable import XSMSepol
func rssKB() -> Int { let s = try! String(contentsOfFile: "/proc/self/statm", encoding: .utf8); return Int(s.split(separator: " ")[1])! * 4 }
@Test @SepolActor func debugLeak() throws {
  let bin = try TinyPolicy.compile().binary
  func round() throws { for _ in 0..<3000 { let o = try SepolOracle(binary: bin); _ = try o.computeAV(source: "dom0_t", target: "domU_t", class: "domain"); _ = try TinyPolicy.compile() } }
  try round(); let a = rssKB(); try round(); let b = rssKB(); try round(); let c = rssKB()
  print("DEBUGRSS", a, b, c)
}
