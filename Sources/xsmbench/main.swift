import Foundation
import XSMBuild
import XSMCatalog
import XSMEngine
import XSMPolicy
import XSMPolicyGen
import XSMSepol

// xsmbench: in-process benchmarks of the decision engine (Benchmarks/engine.sh
// runs it in release mode and writes docs/benchmarks.md). Prints one
// tab-separated line per measurement: kind, size, name, value, unit.

let arguments = CommandLine.arguments.dropFirst()
func usage() -> Never {
  FileHandle.standardError.write(Data(
    ("usage: xsmbench decisions [--queries DIR] [--runs N] [--oracle-queries N] GUESTS... | matrix DOMAINS... | frontend [--mls] POLICY... | startup | fuzz [--seed N] [--seconds S] [--executions N]\n")
      .utf8))
  exit(2)
}

guard let mode = arguments.first else { usage() }
let sizes = arguments.dropFirst().compactMap { Int($0) }
let clock = ContinuousClock()

func seconds(_ d: Duration) -> Double {
  Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func report(_ kind: String, _ size: Int, _ name: String, _ value: Double, _ unit: String) {
  // Counts exactly, measurements to four significant digits.
  let text = unit.isEmpty && value == value.rounded() ? String(Int(value)) : String(format: "%.4g", value)
  FileHandle.standardOutput.write(Data("\(kind)\t\(size)\t\(name)\t\(text)\t\(unit)\n".utf8))
}

let root = FileManager.default.currentDirectoryPath

/// Seconds of CPU time this thread has used: what a timed loop costs on a
/// shared machine, where other jobs stretch wall time but not this.
func threadCPUSeconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The median rate of `runs` passes of `body` over `count` items, by thread CPU time.
func medianRate(runs: Int, count: Int, _ body: () -> Void) -> Double {
  let rates = (0..<runs).map { _ in
    let start = threadCPUSeconds()
    body()
    return Double(count) / (threadCPUSeconds() - start)
  }.sorted()
  return runs % 2 == 1 ? rates[runs / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2
}

/// libsepol's `sepol_compute_av` through the test oracle (`SepolOracle`, on
/// its actor), on prepared SIDs; for comparison with the C harness only.
@SepolActor
func oracleRate(_ binary: [UInt8], types: [String], queries: ArraySlice<(Int, Int, Int)>, classes: [String]) throws
  -> Double
{
  let oracle = try SepolOracle(binary: binary)
  let sids = try oracle.sids(forTypes: types)
  let classNumbers = classes.map { oracle.classNumber($0)! }
  let raw = queries.map { (sids[$0.0], sids[$0.1], classNumbers[$0.2]) }
  var sink: UInt32 = 0
  let rate = medianRate(runs: 1, count: raw.count) { sink |= oracle.computeAllowedMasks(raw) }
  if sink == 0xdead_beef { print("") }
  return rate
}

/// The query file `Benchmarks/c/sepol-av.c` reads: contexts, classes, then
/// one line per query with the engine's allowed vector.
func queryFile(contexts: [String], classes: [String], queries: [(Int, Int, Int)], allowed: [UInt32]) -> Data {
  var out = "contexts \(contexts.count)\n" + contexts.joined(separator: "\n") + "\n"
  out += "classes \(classes.count)\n" + classes.joined(separator: "\n") + "\n"
  out += "queries \(queries.count)\n"
  var data = Data(out.utf8)
  var line = ""
  for (index, (s, t, c)) in queries.enumerated() {
    line = "\(s) \(t) \(c) \(String(allowed[index], radix: 16))\n"
    data.append(contentsOf: line.utf8)
  }
  return data
}

/// Options of `xsmbench decisions`.
struct DecisionOptions {
  /// Where the policy binaries and query files for the C harness go (nil: not written).
  var queriesDirectory: String?
  /// Timed passes per measurement (the median is reported).
  var runs = 3
  /// Queries per mix timed through the Swift-hosted oracle (0: not measured).
  var oracleQueries = 0
}

/// Compiles a policy.conf with checkpolicy (the reference compiler: what a
/// libsepol user loads).
func checkpolicyBinary(_ text: String, name: String, directory: String) throws -> [UInt8] {
  let source = directory + "/" + name + ".conf"
  let output = directory + "/" + name + ".checkpolicy.bin"
  try text.write(toFile: source, atomically: true, encoding: .utf8)
  let result = try ProcessRunner.run("checkpolicy", ["-t", "Xen", "-c", "30", "-o", output, source])
  guard result.status == 0 else {
    FileHandle.standardError.write(Data("xsmbench: checkpolicy failed: \(result.errorText)\n".utf8))
    throw CocoaError(.fileReadCorruptFile)
  }
  return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
}

func decisions(guests: Int, options: DecisionOptions) async throws {
  let flask = root + "/policy/flask/"
  let preamble = try ["security_classes", "initial_sids", "access_vectors"]
    .map { try String(contentsOfFile: flask + $0, encoding: .utf8) }.joined(separator: "\n")
  let text = PolicyGenerator(guests: guests, seed: 1).render(preamble: preamble)
  let directory = options.queriesDirectory ?? NSTemporaryDirectory()
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  let name = "g\(guests)"
  // The same policy compiled twice: by checkpolicy, and by xsmc (PolicyBuilder).
  let reference = try checkpolicyBinary(text, name: name, directory: directory)
  let outcome = await PolicyBuilder.build(.text(name: name + ".conf", text: text), options: BuildOptions())
  guard let ours = outcome.binary else { throw CocoaError(.fileReadCorruptFile) }
  try Data(ours).write(to: URL(fileURLWithPath: directory + "/" + name + ".xsmc.bin"))

  // Types only (the value space also holds attributes, which label nothing), in
  // checkpolicy's value order; the same names are asked of both binaries.
  let referencePolicy = try await FlaskPolicy(binary: reference)
  let types = referencePolicy.typeNames.filter { referencePolicy.context("system_u:object_r:\($0)") != nil }
  let classes = ["xen", "domain", "domain2", "hvm", "mmu", "resource", "event", "grant"]
  report("decisions", guests, "types", Double(types.count), "")

  var rng = SplitMix64(seed: 42)
  let count = 400_000
  let uniform = (0..<count).map { _ in (rng.next(below: types.count), rng.next(below: types.count), rng.next(below: classes.count)) }
  // Skewed: nine queries in ten come from the 2% most active types (control
  // domain, device models, the busiest guests), and their targets from 10%.
  let hot = max(1, types.count / 50)
  let warm = max(1, types.count / 10)
  let skewed = (0..<count).map { _ -> (Int, Int, Int) in
    let s = rng.next(below: 10) < 9 ? rng.next(below: hot) : rng.next(below: types.count)
    let t = rng.next(below: 10) < 9 ? rng.next(below: warm) : rng.next(below: types.count)
    return (s, t, rng.next(below: 4))
  }

  for (compiler, binary) in [("checkpolicy", reference), ("xsmc", ours)] {
    let loadStart = clock.now
    let policy = try await FlaskPolicy(binary: binary)
    report("decisions", guests, "\(compiler) engine load", seconds(clock.now - loadStart), "s")
    report("decisions", guests, "\(compiler) attributes", Double(policy.typeNames.count - types.count), "")
    let contexts = types.map { policy.context("system_u:object_r:\($0)")! }
    let classValues = classes.map { policy.classValue($0)! }
    let booleans = policy.booleanDefaults
    for (mix, queries) in [("uniform", uniform), ("skewed", skewed)] {
      let label = "\(compiler) \(mix)"
      // Engine, no cache: one FlaskPolicy.computeAV per query.
      var allowed = [UInt32](repeating: 0, count: queries.count)
      let engine = medianRate(runs: options.runs, count: queries.count) {
        for (index, (s, t, c)) in queries.enumerated() {
          allowed[index] = policy.computeAV(
            source: contexts[s], target: contexts[t], classValue: classValues[c], booleans: booleans
          ).allowed
        }
      }
      // Through the security server and its cache (Xen's AVC path), SIDs
      // prepared; a new server (cold cache) for every pass.
      var sink: UInt32 = 0
      let cached = medianRate(runs: options.runs, count: queries.count) {
        let server = SecurityServer(policy: policy)
        server.setCacheThreshold(1 << 20)
        let sids = contexts.map { server.sid(for: $0) }
        for (s, t, c) in queries {
          sink |= server.computeAV(source: sids[s], target: sids[t], classValue: classValues[c]).allowed
        }
      }
      if sink == 0xdead_beef { print("") }
      report("decisions", guests, "\(label) engine", engine, "/s")
      report("decisions", guests, "\(label) engine+avc", cached, "/s")
      if options.oracleQueries > 0 {
        let sepol = try await oracleRate(
          binary, types: types, queries: queries.prefix(options.oracleQueries), classes: classes)
        report("decisions", guests, "\(label) libsepol via swift", sepol, "/s")
      }
      if let queriesDirectory = options.queriesDirectory {
        let file = queriesDirectory + "/\(name).\(compiler).\(mix).queries"
        let contextStrings = types.map { "system_u:object_r:\($0)" }
        try queryFile(contexts: contextStrings, classes: classes, queries: queries, allowed: allowed)
          .write(to: URL(fileURLWithPath: file))
      }
    }
  }
}

/// A host on the project policy with `count` domains in the default system's proportions.
func syntheticSystem(domains count: Int) -> SystemSpec {
  var domains: [DomainSpec] = [
    DomainSpec(domid: 0, name: "dom0", context: "system_u:system_r:dom0_t", flags: [.control, .hardware]),
    DomainSpec(domid: 1, name: "xenstore", context: "system_u:system_r:xenstore_t", flags: [.xenstore]),
    DomainSpec(domid: 2, name: "netdrv", context: "system_u:system_r:nic_dev_t"),
  ]
  var domid = 3
  var tenant = 0
  while domains.count < count {
    let user = "user_\(tenant % 3 + 1)"
    tenant += 1
    let kinds = ["domU_t", "domU_t", "isolated_domU_t", "prot_domU_t", "nomigrate_t"]
    let type = kinds[tenant % kinds.count]
    let role = type == "nomigrate_t" ? "system_r" : "vm_r"
    let userName = type == "nomigrate_t" ? "system_u" : user
    domains.append(DomainSpec(domid: domid, name: "g\(domid)", context: "\(userName):\(role):\(type)"))
    let guest = domid
    domid += 1
    // Every fourth guest has a stub device model.
    if tenant % 4 == 0 && domains.count < count && type == "domU_t" {
      domains.append(DomainSpec(domid: domid, name: "g\(domid)", context: "\(user):vm_r:dm_dom_t", target: "g\(guest)"))
      domid += 1
    }
  }
  return SystemSpec(name: "synthetic-\(count)", module: .flask, policy: "embedded", enforcing: true, mls: false,
    booleans: [:], domains: domains, file: "synthetic.toml")
}

func matrix(domains count: Int) async throws {
  let (catalog, _) = EmbeddedCatalog.load()
  guard let catalog else { throw CocoaError(.fileReadCorruptFile) }
  let loadStart = clock.now
  let (host, diagnostics) = await XenHost.load(syntheticSystem(domains: count), catalog: catalog)
  guard let host else {
    FileHandle.standardError.write(Data("\(diagnostics.map(\.message))\n".utf8))
    throw CocoaError(.fileReadCorruptFile)
  }
  report("matrix", count, "host load", seconds(clock.now - loadStart), "s")
  let engine = DecisionEngine(host: host)
  let ops = catalog.legacyOps
  for modules in [[XSMModule.flask], XSMModule.allCases] {
    let start = clock.now
    let m = AccessMatrix(engine: engine, ops: ops, modules: modules)
    let elapsed = seconds(clock.now - start)
    let label = modules.count == 1 ? "flask" : "all modules"
    report("matrix", count, "\(label) time (\(ops.count) ops)", elapsed, "s")
    report("matrix", count, "\(label) classes", Double(m.classes.count), "")
    report("matrix", count, "\(label) decisions", Double(m.decisions), "")
    // Questions the matrix answers: one per (caller, target) pair for ops with a domain argument, one per caller otherwise.
    let questions = ops.reduce(0) { $0 + ($1.positionalArgument == nil ? count : count * count) } * modules.count
    report("matrix", count, "\(label) pair-decisions/s", Double(questions) / elapsed, "/s")
  }
}

/// The phases of one `xsmq can`, in process.
func startup() async throws {
  var start = clock.now
  let subset = EmbeddedCatalog.loadSubset(names: ["dm.set_pci_intx_level", "domctl.set_target"])
  report("startup", 0, "catalog subset load (what xsmq can reads)", seconds(clock.now - start) * 1000, "ms")
  if subset == nil { print("") }
  start = clock.now
  let (catalog, _) = EmbeddedCatalog.load()
  report("startup", 0, "catalog load", seconds(clock.now - start) * 1000, "ms")
  start = clock.now
  let (spec, _) = EmbeddedDefaults.system()
  report("startup", 0, "system parse", seconds(clock.now - start) * 1000, "ms")
  start = clock.now
  let binary = EmbeddedDefaults.policyBinary
  report("startup", 0, "policy decode", seconds(clock.now - start) * 1000, "ms")
  start = clock.now
  _ = try await FlaskPolicy(binary: binary)
  report("startup", 0, "policy load", seconds(clock.now - start) * 1000, "ms")
  start = clock.now
  let (host, _) = await XenHost.load(spec!, catalog: catalog!)
  report("startup", 0, "host load (all)", seconds(clock.now - start) * 1000, "ms")
  start = clock.now
  let engine = DecisionEngine(host: host!)
  let d = engine.decide(caller: host!.domain(domid: 3)!, op: catalog!.op(named: "dm.set_pci_intx_level")!,
    target: host!.domain(domid: 5)!)
  report("startup", 0, "decision with trace", seconds(clock.now - start) * 1000, "ms")
  if d.trace.isEmpty { print("") }
}

/// Runs the front end (no lowering, no libsepol) on each policy file or tree
/// and reports the seconds of each pass (Benchmarks/frontend.sh).
func frontend(_ arguments: [String]) {
  let mls = arguments.contains("--mls")
  for path in arguments where path != "--mls" {
    let result = PolicyFrontend.run(.path(path), options: CheckOptions(mls: mls), lower: false)
    if result.diagnostics.hasErrors {
      FileHandle.standardError.write(Data("xsmbench: \(path) has \(result.diagnostics.errorCount) errors\n".utf8))
      exit(1)
    }
    for (pass, elapsed) in result.timings { report("frontend", 0, pass.rawValue, elapsed, "s") }
  }
}

switch mode {
case "frontend":
  frontend(Array(arguments.dropFirst()))
case "startup":
  try await startup()
case "fuzz":
  exit(await FrontendFuzzer.run(Array(arguments.dropFirst())))
case "decisions":
  var options = DecisionOptions()
  var guests: [Int] = []
  var rest = Array(arguments.dropFirst())
  while let argument = rest.first {
    rest.removeFirst()
    switch argument {
    case "--queries": options.queriesDirectory = rest.isEmpty ? nil : rest.removeFirst()
    case "--runs": options.runs = rest.isEmpty ? 0 : Int(rest.removeFirst()) ?? 0
    case "--oracle-queries": options.oracleQueries = rest.isEmpty ? -1 : Int(rest.removeFirst()) ?? -1
    default:
      guard let n = Int(argument) else { usage() }
      guests.append(n)
    }
  }
  guard options.runs > 0, options.oracleQueries >= 0 else { usage() }
  for n in guests.isEmpty ? [10, 1000, 5000] : guests { try await decisions(guests: n, options: options) }
case "matrix":
  for n in sizes.isEmpty ? [10, 100, 1000] : sizes { try await matrix(domains: n) }
default:
  FileHandle.standardError.write(Data("xsmbench: unknown mode `\(mode)`\n".utf8))
  exit(2)
}
