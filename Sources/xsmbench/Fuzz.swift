import Foundation
import XSMBuild
import XSMPolicy
import XSMPolicyGen

/// `xsmbench fuzz`: a seeded mutation fuzzer for the front end. Each
/// execution takes a policy of the corpus (Tests/Fuzz/corpus), applies a few
/// random edits (bytes, tokens from the language, long runs of one token,
/// lines spliced from another policy) and runs lex, parse, resolve, CIL
/// lowering and, when that finds no error, libsepol's policydb build, all in
/// this process. The input about to run is kept in `current-SEED.conf` in the
/// output directory, so when a crash kills the process the input that did it
/// is on disk (Scripts/fuzz.sh files it under crashes/). The same seed gives
/// the same mutants.
enum FrontendFuzzer {
  struct Options {
    var corpus = "Tests/Fuzz/corpus"
    var output = ".build/fuzz"
    var seed: UInt64 = 1
    var seconds: Double = 60
    var executions = Int.max
  }

  /// Fragments of the language inserted as whole tokens.
  static let tokens = [
    "(", ")", "{", "}", ";", ":", ",", "~", "*", "-", "!", "&&", "||", "^", "==", "!=", ".", "\"", "not ", "and ",
    "or ", "dom ", "domby ", "incomp ", "eq ", "if ", "else ", "allow ", "neverallow ", "type ", "attribute ",
    "typeattribute ", "typealias ", "alias ", "role ", "types ", "user ", "roles ", "level ", "range ", "bool ",
    "true ", "false ", "class ", "common ", "inherits ", "sid ", "constrain ", "mlsconstrain ", "validatetrans ",
    "sensitivity ", "category ", "dominance ", "self ", "u1 ", "r2 ", "t3 ", "l1 ", "h2 ", "s0", "c0.c2", "s0-s1",
    "pirqcon ", "iomemcon ", "ioportcon ", "pcidevicecon ", "devicetreecon ", "0x", "0xffffffffffffffff",
    "18446744073709551616", "system_u:system_r:xen_t", "type_transition ", "typebounds ", "permissive ", "policycap ",
    "object_r", "\n", "\t", "#", "\u{0}", "é", "\u{FEFF}",
  ]
  /// What long runs are made of: the nesting that once overflowed the stack.
  static let runs = ["(", "!", "~", "not ", "!(", "( ", "if (b) { ", "}", "{", "-", "a && ", "u1 == u2 and "]

  static func run(_ arguments: [String]) async -> Int32 {
    var options = Options()
    var rest = arguments[...]
    while let argument = rest.popFirst() {
      guard let value = rest.popFirst() else { return usage() }
      switch argument {
      case "--corpus": options.corpus = value
      case "--output": options.output = value
      case "--seed": guard let n = UInt64(value) else { return usage() }; options.seed = n
      case "--seconds": guard let n = Double(value) else { return usage() }; options.seconds = n
      case "--executions": guard let n = Int(value) else { return usage() }; options.executions = n
      default: return usage()
      }
    }
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: options.corpus)) ?? []).sorted()
      .filter { $0.hasSuffix(".conf") }
    let corpus = files.compactMap { FileManager.default.contents(atPath: options.corpus + "/" + $0).map { Array($0) } }
    guard !corpus.isEmpty else {
      FileHandle.standardError.write(Data("xsmbench fuzz: no .conf files in \(options.corpus)\n".utf8))
      return 2
    }
    try? FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
    let currentPath = options.output + "/current-\(options.seed).conf"
    let current = open(currentPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard current >= 0 else {
      FileHandle.standardError.write(Data("xsmbench fuzz: cannot write \(currentPath)\n".utf8))
      return 2
    }

    var random = SplitMix64(seed: options.seed)
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .milliseconds(Int(options.seconds * 1000))
    var executions = 0
    var built = 0
    var rejected = 0
    while executions < options.executions && (executions % 64 != 0 || clock.now < deadline) {
      let index = random.next(below: corpus.count)
      var bytes = corpus[index]
      // One or two edits mostly, so that a share of the mutants still reaches libsepol.
      for _ in 0...[0, 0, 1, 3][random.next(below: 4)] {
        mutate(&bytes, other: corpus[random.next(below: corpus.count)], random: &random)
      }
      // Before running it, the input is on disk: a crash leaves it there.
      _ = ftruncate(current, 0)
      _ = bytes.withUnsafeBytes { pwrite(current, $0.baseAddress, $0.count, 0) }
      let mls = files[index].contains("mls")
      var buildOptions = BuildOptions(mls: mls)
      if executions % 16 == 15 { buildOptions.backend = .cil }
      let outcome = await PolicyBuilder.build(
        .text(name: files[index], text: String(decoding: bytes, as: UTF8.self)), options: buildOptions)
      if outcome.binary != nil { built += 1 } else { rejected += 1 }
      executions += 1
    }
    close(current)
    unlink(currentPath)
    let elapsed = (clock.now - start) / .seconds(1)
    let rate = Double(executions) / max(elapsed, 1e-9)
    print("fuzz\tseed \(options.seed)\t\(executions) executions in \(String(format: "%.1f", elapsed)) s (\(Int(rate))/s)"
      + "\t\(built) built, \(rejected) rejected, 0 crashes")
    return 0
  }

  static func usage() -> Int32 {
    FileHandle.standardError.write(Data(
      "usage: xsmbench fuzz [--corpus DIR] [--output DIR] [--seed N] [--seconds S] [--executions N]\n".utf8))
    return 2
  }

  /// One random edit of `bytes`; `other` is another corpus policy to splice from.
  static func mutate(_ bytes: inout [UInt8], other: [UInt8], random: inout SplitMix64) {
    let count = bytes.count
    func position() -> Int { random.next(below: count + 1) }
    func span(_ at: Int, upTo limit: Int) -> Int { min(count - at, 1 + random.next(below: limit)) }
    switch random.next(below: 10) {
    case 0 where count > 0:  // flip a bit
      bytes[random.next(below: count)] ^= UInt8(1 << random.next(below: 8))
    case 1 where count > 0:  // a byte from the language's punctuation
      let alphabet = Array("(){};:~!*-,.&|^= \n\"0123456789abcdsu_x".utf8)
      bytes[random.next(below: count)] = alphabet[random.next(below: alphabet.count)]
    case 2, 3:  // a token
      bytes.insert(contentsOf: Array(tokens[random.next(below: tokens.count)].utf8), at: position())
    case 4 where count > 0:  // delete a range
      let at = random.next(below: count)
      bytes.removeSubrange(at..<at + span(at, upTo: 32))
    case 5 where count > 0:  // duplicate a range
      let at = random.next(below: count)
      let piece = Array(bytes[at..<at + span(at, upTo: 64)])
      bytes.insert(contentsOf: piece, at: position())
    case 6:  // a long run of one nesting token
      let run = Array(runs[random.next(below: runs.count)].utf8)
      let length = [3, 50, 300, 3000][random.next(below: 4)]
      var piece: [UInt8] = []
      piece.reserveCapacity(run.count * length)
      for _ in 0..<length { piece.append(contentsOf: run) }
      bytes.insert(contentsOf: piece, at: position())
    case 7:  // lines from another policy
      let lines = other.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      let first = random.next(below: lines.count)
      let taken = lines[first..<min(lines.count, first + 1 + random.next(below: 4))]
      bytes.insert(contentsOf: Array(taken.joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")], at: position())
    case 8 where count > 0:  // a word of this policy somewhere else
      let at = random.next(below: count)
      let isWord = { (b: UInt8) in b == UInt8(ascii: "_") || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) }
      var end = at
      while end < count && isWord(bytes[end]) { end += 1 }
      bytes.insert(contentsOf: Array(bytes[at..<end]) + [UInt8(ascii: " ")], at: position())
    default:  // swap two lines, or drop the tail
      var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      if lines.count > 1 && random.next(below: 4) > 0 {
        lines.swapAt(random.next(below: lines.count), random.next(below: lines.count))
        bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
      } else if count > 0 {
        bytes.removeSubrange(random.next(below: count)...)
      }
    }
    if bytes.count > 1 << 16 { bytes.removeSubrange((1 << 16)...) }
  }
}
