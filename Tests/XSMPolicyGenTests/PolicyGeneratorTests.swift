import Foundation
import Testing

@testable import XSMPolicyGen

/// The project's `policy/flask/` preamble, or nil while it has not been written.
let projectPreamble: String? = {
  let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  let dir = root.appendingPathComponent("policy/flask")
  var text = ""
  for name in PolicyGenerator.preambleFiles {
    guard let part = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
    else { return nil }
    text += part.hasSuffix("\n") ? part : part + "\n"
  }
  return text
}()

/// A stand-in preamble built from the generator's own `permissionsUsed` (classes that need none
/// get one placeholder permission) and the initial SIDs it knows, so the tests run before
/// `policy/flask/` exists without keeping a second copy of Xen's class list.
let standInPreamble: String = {
  let classes = PolicyGenerator.permissionsUsed.keys.sorted()
  var text = classes.map { "class \($0)\n" }.joined()
  text += PolicyGenerator.initialSIDContexts.keys.sorted().map { "sid \($0)\n" }.joined()
  for cls in classes {
    let perms = PolicyGenerator.permissionsUsed[cls]!
    text += "class \(cls)\n{\n"
    text += (perms.isEmpty ? ["placeholder"] : perms).map { "\t\($0)\n" }.joined()
    text += "}\n"
  }
  return text
}()

func testPreamble() -> String { projectPreamble ?? standInPreamble }

@Suite struct SplitMix64Tests {
  @Test func referenceSequence() {
    var rng = SplitMix64(seed: 0)
    #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
    #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    #expect(rng.next() == 0x06C4_5D18_8009_454F)
  }

  @Test func boundedDrawsStayInRangeAndRepeat() {
    var a = SplitMix64(seed: 99)
    var b = SplitMix64(seed: 99)
    for bound in [1, 2, 3, 7, 1000, Int.max] {
      for _ in 0..<200 {
        let x = a.next(below: bound)
        #expect(x >= 0 && x < bound)
        #expect(x == b.next(below: bound))
      }
    }
  }
}

@Suite struct FlaskDeclarationsTests {
  @Test func scansClassesPermissionsAndSIDs() {
    let text = """
      # classes
      class xen
      class widget   # trailing comment
      sid kernel
      sid unlabeled
      common file { read write }
      class xen
      {
      \tsettime   # comment inside
      \ttbufcontrol
      }
      class widget inherits file { poke }
      sid kernel system_u:system_r:kernel_t
      """
    let d = FlaskDeclarations(parsing: text)
    #expect(d.classes == ["xen", "widget"])
    #expect(d.permissions["xen"] == ["settime", "tbufcontrol"])
    #expect(d.permissions["widget"] == ["read", "write", "poke"])
    #expect(d.initialSIDs == ["kernel", "unlabeled"])
    #expect(d.has("xen", "settime"))
    #expect(!d.has("xen", "poke"))
  }

  @Test(.enabled(if: projectPreamble != nil, "policy/flask/ not written yet"))
  func projectPreambleMatchesXen() {
    let d = FlaskDeclarations(parsing: projectPreamble!)
    #expect(d.classes.count == 13)
    #expect(d.initialSIDs.count == 13)
    #expect(d.permissions.values.map(\.count).reduce(0, +) == 177)
  }
}

@Suite struct PolicyGeneratorTests {
  let preamble = testPreamble()

  @Test func everyPermissionUsedExists() {
    #expect(PolicyGenerator.missingPermissions(in: preamble) == [])
  }

  @Test func deterministic() {
    let a = PolicyGenerator(guests: 137, seed: 7).render(preamble: preamble)
    let b = PolicyGenerator(guests: 137, seed: 7).render(preamble: preamble)
    let c = PolicyGenerator(guests: 137, seed: 8).render(preamble: preamble)
    #expect(a == b)
    #expect(a != c)
    #expect(a.hasPrefix("# Synthetic Xen FLASK policy"))
    #expect(a.contains(preamble))
  }

  @Test(arguments: [1, 2, 10, 100])
  func exercisesEveryConstruct(guests: Int) {
    let text = PolicyGenerator(guests: guests).render(preamble: preamble)
    let lines = text.split(separator: "\n").map(String.init)
    func has(_ prefix: String) -> Bool { lines.contains { $0.hasPrefix(prefix) } }
    func contains(_ s: String) -> Bool { text.contains(s) }
    for p in [
      "attribute ", "typeattribute ", "typealias ", "bool ", "if (", "} else {", "constrain ",
      "validatetrans ", "type_transition ", "type_member ", "type_change ", "neverallow ",
      "auditallow ", "dontaudit ", "role ", "user system_u ", "user user_1 ", "sid ",
      "pirqcon ", "iomemcon ", "ioportcon ", "pcidevicecon ", "devicetreecon ",
    ] {
      #expect(has(p), "missing \(p)")
    }
    for s in [
      " self:", ":xen *;", "~{ ", " -prot_type }", " ~domain_type:", "&&", "||", " == ", "!",
      "t1 == ", "t2 != ", "u1 == u2", "r1 == r2", " alias ", "_t_self;", "_t_channel",
    ] {
      #expect(contains(s), "missing \(s)")
    }
    if guests >= 2 {
      #expect(contains("_t_target;"))  // device-model target: G dm:domain G_target
      #expect(contains("type_transition g1_t g1_dm_t:domain g1_t_target;"))
      #expect(contains("type_transition g0_t g0_t:domain g0_t_self;"))
    }
    // A context for every initial SID.
    let sids = FlaskDeclarations(parsing: preamble).initialSIDs
    for sid in sids { #expect(has("sid \(sid) "), "no context for \(sid)") }
  }

  @Test func eventTransitionsNameActualPeersOnly() {
    let text = PolicyGenerator(guests: 300).render(preamble: preamble)
    for line in text.split(separator: "\n") where line.contains("type_transition") {
      #expect(!line.contains("domain_type"), "quadratic transition: \(line)")
      if line.hasPrefix("type_transition g") && line.hasSuffix("_channel;") {
        // source gN_t, a handful of peers
        let targets = line.split(separator: " ").count - 3
        #expect(targets < 20, "\(line)")
      }
    }
  }

  @Test func sizeIsLinearInGuests() {
    func ruleCount(_ n: Int) -> Int {
      PolicyGenerator(guests: n).render(preamble: "").split(separator: "\n").count
    }
    let small = ruleCount(500)
    let large = ruleCount(2000)
    let ratio = Double(large) / Double(small)
    #expect(ratio > 3.5 && ratio < 4.5, "ratio \(ratio)")
  }

  @Test func statistics() {
    let s = PolicyGenerator(guests: 1000).statistics()
    #expect(s.guests == 1000)
    #expect(s.deviceModelGuests == 125)
    #expect(s.pools == 20)
    #expect(s.types >= 3000 && s.types <= 4000)
    let text = PolicyGenerator(guests: 1000).render(preamble: preamble)
    let typeLines = text.split(separator: "\n").filter { $0.hasPrefix("type ") }.count
    #expect(typeLines == s.types)
    let attributeLines = text.split(separator: "\n").filter { $0.hasPrefix("attribute ") }.count
    #expect(attributeLines == s.attributes)
    let boolLines = text.split(separator: "\n").filter { $0.hasPrefix("bool ") }.count
    #expect(boolLines == s.booleans)
    let aliasLines = text.split(separator: "\n").filter {
      ($0.hasPrefix("type ") || $0.hasPrefix("typealias ")) && $0.contains(" alias ")
    }.count
    #expect(aliasLines == s.aliases)
  }

  @Test func unknownPermissionsAndClassesAreDropped() {
    // Re-serialise the preamble without the argo class and without event:status.
    let d = FlaskDeclarations(parsing: preamble)
    let classes = d.classes.filter { $0 != "argo" }
    var cut = classes.map { "class \($0)\n" }.joined()
    cut += d.initialSIDs.map { "sid \($0)\n" }.joined()
    for cls in classes {
      let perms = d.permissions[cls, default: []].filter { !(cls == "event" && $0 == "status") }
      cut += "class \(cls) { \(perms.joined(separator: " ")) }\n"
    }
    let text = PolicyGenerator(guests: 20).render(preamble: cut)
    #expect(!text.contains(":argo "))
    #expect(!text.contains(" status"))
    #expect(text.contains(":event { create send }"))
  }

  /// Compiles with checkpolicy when it is installed (the CI image has it).
  @Test func checkpolicyAccepts() throws {
    let checkpolicy = "/usr/bin/checkpolicy"
    guard FileManager.default.isExecutableFile(atPath: checkpolicy) else { return }
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("xsmgen-test-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for n in [1, 10, 250] {
      let conf = dir.appendingPathComponent("g\(n).conf")
      try PolicyGenerator(guests: n, seed: UInt64(n)).render(preamble: preamble)
        .write(to: conf, atomically: true, encoding: .utf8)
      let p = Process()
      p.executableURL = URL(fileURLWithPath: checkpolicy)
      p.arguments = ["-t", "Xen", "-c", "30", "-o", dir.appendingPathComponent("g.bin").path, conf.path]
      let err = Pipe()
      p.standardOutput = FileHandle.nullDevice
      p.standardError = err
      try p.run()
      let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(p.terminationStatus == 0, "checkpolicy failed for \(n) guests: \(message)")
    }
  }
}
