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
guard let mode = arguments.first else {
  FileHandle.standardError.write(Data("usage: xsmbench decisions GUESTS... | matrix DOMAINS... | frontend [--mls] POLICY...\n".utf8))
  exit(2)
}
let sizes = arguments.dropFirst().compactMap { Int($0) }
let clock = ContinuousClock()

func seconds(_ d: Duration) -> Double {
  Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func report(_ kind: String, _ size: Int, _ name: String, _ value: Double, _ unit: String) {
  FileHandle.standardOutput.write(Data("\(kind)\t\(size)\t\(name)\t\(String(format: "%.4g", value))\t\(unit)\n".utf8))
}

let root = FileManager.default.currentDirectoryPath

@SepolActor
func sepolRate(_ binary: [UInt8], types: [String], queries: [(Int, Int, Int)], classes: [String]) throws -> Double {
  let oracle = try SepolOracle(binary: binary)
  let sids = try oracle.sids(forTypes: types)
  let classNumbers = classes.map { oracle.classNumber($0)! }
  let raw = queries.map { (sids[$0.0], sids[$0.1], classNumbers[$0.2]) }
  _ = oracle.computeAllowedMasks(Array(raw.prefix(1000)))
  let start = clock.now
  let sink = oracle.computeAllowedMasks(raw)
  let elapsed = seconds(clock.now - start)
  if sink == 0xdead_beef { print("") }
  return Double(raw.count) / elapsed
}

func decisions(guests: Int) async throws {
  let flask = root + "/policy/flask/"
  let preamble = try ["security_classes", "initial_sids", "access_vectors"]
    .map { try String(contentsOfFile: flask + $0, encoding: .utf8) }.joined(separator: "\n")
  let text = PolicyGenerator(guests: guests, seed: 1).render(preamble: preamble)
  let outcome = await PolicyBuilder.build(.text(name: "g\(guests).conf", text: text), options: BuildOptions())
  guard let binary = outcome.binary else { throw CocoaError(.fileReadCorruptFile) }
  let loadStart = clock.now
  let policy = try await FlaskPolicy(binary: binary)
  report("decisions", guests, "engine load", seconds(clock.now - loadStart), "s")
  // Types only (the value space also holds attributes, which label nothing).
  let pairs = policy.typeNames.compactMap { name in policy.context("system_u:object_r:\(name)").map { (name, $0) } }
  let types = pairs.map(\.0)
  let contexts = pairs.map(\.1)
  let classes = ["xen", "domain", "domain2", "hvm", "mmu", "resource", "event", "grant"]
  let classValues = classes.map { policy.classValue($0)! }
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
  let booleans = policy.booleanDefaults
  for (name, queries) in [("uniform", uniform), ("skewed", skewed)] {
    // libsepol is slow on big policies: its rate comes from the first 50k queries.
    let sepol = try await sepolRate(binary, types: types, queries: Array(queries.prefix(50_000)), classes: classes)
    // Engine, no cache: one FlaskPolicy.computeAV per query.
    var sink: UInt32 = 0
    var start = clock.now
    for (s, t, c) in queries {
      sink |= policy.computeAV(source: contexts[s], target: contexts[t], classValue: classValues[c], booleans: booleans).allowed
    }
    let engine = Double(queries.count) / seconds(clock.now - start)
    // Through the security server and its cache (Xen's AVC path), SIDs prepared.
    let server = SecurityServer(policy: policy)
    server.setCacheThreshold(1 << 20)
    let sids = contexts.map { server.sid(for: $0) }
    start = clock.now
    for (s, t, c) in queries {
      sink |= server.computeAV(source: sids[s], target: sids[t], classValue: classValues[c]).allowed
    }
    let cached = Double(queries.count) / seconds(clock.now - start)
    if sink == 0xdead_beef { print("") }
    report("decisions", guests, "\(name) libsepol", sepol, "/s")
    report("decisions", guests, "\(name) engine", engine, "/s")
    report("decisions", guests, "\(name) engine+avc", cached, "/s")
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
case "decisions":
  for n in sizes.isEmpty ? [10, 1000, 5000] : sizes { try await decisions(guests: n) }
case "matrix":
  for n in sizes.isEmpty ? [10, 100, 1000] : sizes { try await matrix(domains: n) }
default:
  FileHandle.standardError.write(Data("xsmbench: unknown mode `\(mode)`\n".utf8))
  exit(2)
}
