import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import XSMCatalog
import XSMEngine
import XSMProtocol
@testable import XSMService
@testable import XSMServiceHTTP

// XSMProtocol is the wire: the V1 types that took the place of the
// engine's types write the JSON keys those types wrote, and the server
// serves exactly the routes RouteV1 names (the routes xsmq calls).

/// Every key path of `value`'s wire JSON: `a.b`, with `[]` for the elements
/// of an array (all elements merged); below an `opaque` path the keys are
/// data (boolean names), not fields.
func wireKeyPaths(_ value: some Encodable, opaque: Set<String> = []) throws -> Set<String> {
  let data = try WireJSON.makeEncoder().encode(value)
  var paths = Set<String>()
  func walk(_ node: Any, _ path: String) {
    if let object = node as? [String: Any] {
      for (key, child) in object {
        let childPath = path.isEmpty ? key : path + "." + key
        paths.insert(childPath)
        if !opaque.contains(childPath) { walk(child, childPath) }
      }
    } else if let array = node as? [Any] {
      for element in array { walk(element, path + "[]") }
    }
  }
  walk(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]), "")
  return paths
}

/// The key paths the engine's types wrote on the wire before XSMProtocol
/// (read from xsmd's and `xsmq --json`'s output at the time), for values
/// with every optional field present.
enum KeysBeforeV1 {
  // `origin_note` (and, for a policy built from source, `origins`, `closest`, `switched_off`,
  // `forbidden_by`): optional keys added to V1 with rule citations, in the engine's type and the wire's alike.
  static let traceStep = ["layer", "object", "origin_note", "outcome", "rules", "source", "subject", "text"]
  static let decision: Set<String> = Set(
    ["delivery", "error", "module", "returned", "trace", "verdict", "would_deny"] + traceStep.map { "trace[].\($0)" })
  static let canReply: Set<String> = Set(
    ["arguments", "caller", "decisions", "op", "sequence", "target", "verdict"] + decision.map { "decisions[].\($0)" })
  static let identity: Set<String> = [
    "booleans", "domains", "enforcing", "handle_unknown", "mls", "module", "policy_bytes", "policy_digest",
    "policy_source", "policy_version", "sequence", "system",
  ]
  static let matrix: Set<String> = [
    "class_of", "classes", "classes[].context", "classes[].domids", "classes[].flags", "classes[].representative",
    "decisions", "domains", "domains[].context_text", "domains[].domid", "domains[].flags", "domains[].iommu",
    "domains[].kind", "domains[].missing", "domains[].name", "domains[].self_sid", "domains[].sid",
    "domains[].target_domid", "domains[].target_sid", "modules", "rows", "rows[].allowed", "rows[].cells",
    "rows[].cells[].caller_class", "rows[].cells[].example", "rows[].cells[].pairs", "rows[].cells[].relation",
    "rows[].cells[].target_class", "rows[].cells[].verdicts", "rows[].denied", "rows[].invalid", "rows[].op",
  ]
  static let errorBody: Set<String> = Set(
    ["error", "error.code", "error.errno", "error.message", "error.trace"]
      + ["layer", "object", "origin_note", "outcome", "rules", "subject", "text"].map { "error.trace[].\($0)" })
}

@Suite("Wire protocol V1")
struct WireProtocolTests {
  /// A grant map the policy refuses: a decision with an error, a returned
  /// status, a delivery channel, and flask and xen steps in its trace.
  static let refusedGrant = CanRequestV1(
    caller: "web", op: "grant.map_grant_ref", why: true, arguments: ["granter=db"])

  @Test func repliesKeepTheEngineTypesKeys() async throws {
    let service = try await defaultService()
    let host = service.core.state.host
    let dom0 = Caller("dom0")

    let op = try #require(host.catalog.op(named: Self.refusedGrant.op))
    let web = try #require(host.domain(named: "web"))
    let question = try OpQuestion.bind(
      caller: web, op: op, target: nil, arguments: try OpQuestion.namedArguments(["granter=db"], for: op), flags: [],
      on: host)
    let decision = DecisionEngine(host: host).decide(
      caller: web, op: op, target: question.target, module: .flask, objects: question.objects, explain: true)
    #expect(decision.returned != nil && decision.delivery != nil && decision.error != nil)
    #expect(try wireKeyPaths(DecisionV1(decision)) == KeysBeforeV1.decision)

    let reply = try service.can(Self.refusedGrant, caller: dom0)
    #expect(try wireKeyPaths(reply) == KeysBeforeV1.canReply)
    #expect(reply.decisions == [DecisionV1(decision)], "the served decision is the engine's")

    #expect(try wireKeyPaths(IdentityV1(host.identity), opaque: ["booleans"]) == KeysBeforeV1.identity)
    #expect(try wireKeyPaths(service.identity(), opaque: ["booleans"]) == KeysBeforeV1.identity)

    let matrix = AccessMatrix(
      engine: DecisionEngine(host: host), ops: [try #require(host.catalog.op(named: "domctl.pause"))],
      modules: [.flask])
    #expect(try wireKeyPaths(MatrixV1(matrix)) == KeysBeforeV1.matrix)
    #expect(try wireKeyPaths(service.matrix(MatrixRequestV1(ops: ["domctl.pause"]), caller: dom0)) == KeysBeforeV1.matrix)

    do {
      _ = try await service.setEnforce(SetEnforceRequestV1(enforcing: false), caller: Caller("web"))
      Issue.record("a guest switched flask to permissive")
    } catch {
      #expect(try wireKeyPaths(error.body) == KeysBeforeV1.errorBody)
    }
  }

  /// The engine's spellings of the values the V1 enumerations carry.
  @Test func enumerationsKeepTheEngineSpellings() throws {
    let encoder = WireJSON.makeEncoder()
    func same(_ wire: some Encodable, _ engine: some Encodable) throws -> Bool {
      try encoder.encode(wire) == encoder.encode(engine)
    }
    for module in XSMModule.allCases { #expect(try same(ModuleV1(module), module)) }
    for verdict in [Verdict.allowed, .denied, .invalid] { #expect(try same(VerdictV1(verdict), verdict)) }
    for outcome in [TraceStep.Outcome.pass, .fail, .info, .permissive] {
      #expect(try same(TraceStepV1(TraceStep(outcome, "xen", "")).outcome, outcome))
    }
    for relation in AccessMatrix.Relation.allCases { #expect(try same(MatrixV1.Relation(relation), relation)) }
    #expect(ModuleV1.allCases.count == XSMModule.allCases.count)
    #expect(MatrixV1.Domain.Flag.allCases.map(\.rawValue) == DomainFlag.allCases.map(\.rawValue))
    #expect(MatrixV1.Domain.IOMMU.allCases.map(\.rawValue) == IOMMUMode.allCases.map(\.rawValue))
    #expect(MatrixV1.Domain.Kind.allCases.map(\.rawValue) == DomainKind.allCases.map(\.rawValue))
    #expect(DeliveryV1.allCases.map(\.rawValue) == OpDenial.Channel.allCases.map(\.rawValue))
  }

  /// The router is built from RouteV1 and nothing else: every route it has
  /// is a RouteV1 case, once, and every case is answered by its own route
  /// (never `request.no-route` or `request.method-not-allowed`).
  @Test func everyRouteV1IsServed() async throws {
    let served = RouteTable.shared.routes.map(\.wire)
    #expect(served.count == RouteV1.allCases.count)
    #expect(Set(served) == Set(RouteV1.allCases))
    try await HTTPFixture.withClient { client in
      for route in RouteV1.allCases {
        let uri = route.path.replacingOccurrences(of: "{domid}", with: "4242")
        let method = try #require(HTTPRequest.Method(route.method.rawValue))
        let response = try await client.call(method, uri, caller: "dom0", json: "{}")
        #expect(
          !["request.no-route", "request.method-not-allowed"].contains(response.errorCode ?? ""),
          "\(route.method.rawValue) \(route.path): \(response.text)")
      }
      // The error body the client reads is the one the server writes.
      let denied = try await client.call(.put, RouteV1.flaskSetEnforce.path, caller: "web", json: #"{"enforcing":false}"#)
      let body = try WireJSON.makeDecoder().decode(ErrorBodyV1.self, from: Data(denied.body.readableBytesView))
      #expect(body.error.code == "guard.denied" && body.error.trace?.isEmpty == false)
    }
  }
}
