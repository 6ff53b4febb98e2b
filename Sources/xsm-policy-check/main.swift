// The child process of PolicyReadGuard: reads a binary policy from standard
// input under a memory limit and says whether libsepol can read it.
// Exit 0: it can. Exit 1: it cannot, and why is on standard output.
#if canImport(Glibc)
  import Glibc
#endif
import XSMSepol

let arguments = CommandLine.arguments
if let flag = arguments.firstIndex(of: "--memory"), flag + 1 < arguments.count, let bytes = Int(arguments[flag + 1]) {
  PolicyReadGuard.limitMemory(to: bytes)
}
var input: [UInt8] = []
var chunk = [UInt8](repeating: 0, count: 1 << 16)
while true {
  let n = read(0, &chunk, chunk.count)
  if n <= 0 { break }
  input += chunk[0..<n]
}
if let reason = await PolicyReadGuard.reasonToRefuse(input) {
  print(reason)
  exit(1)
}
exit(0)
