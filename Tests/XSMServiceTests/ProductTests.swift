import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import XSMProtocol

@testable import XSMServiceHTTP

/// `POST /v1/can/product`: the compact form of a batch gives the answers the
/// explicit form gives for the same questions, in its stated order.
@Suite struct ProductTests {
  /// The explicit batch of a product's questions, in `ProductRequestV1.position` order.
  static func explicit(_ r: ProductRequestV1) throws -> String {
    var queries: [BatchRequestV1.Query] = []
    for caller in r.callers {
      for op in r.ops {
        for target in r.targets ?? [nil] as [String?] { queries.append(.init(caller: caller, op: op, target: target)) }
      }
    }
    return String(decoding: try WireJSON.makeEncoder().encode(BatchRequestV1(module: r.module, queries: queries)),
      as: UTF8.self)
  }

  /// The product's verdicts and the explicit batch's, as letters.
  static func both(_ client: any TestClientProtocol, _ r: ProductRequestV1) async throws -> (String, String) {
    let product = try await client.call(.post, "/v1/can/product",
      json: String(decoding: try WireJSON.makeEncoder().encode(r), as: UTF8.self))
    #expect(product.status == .ok, "\(product.text)")
    let batch = try await client.call(.post, "/v1/can/batch", json: try explicit(r))
    #expect(batch.status == .ok, "\(batch.text)")
    let letters = (batch.object["verdicts"] as? [String] ?? []).map { text in
      VerdictV1(rawValue: text).map { String(ProductReplyV1.letter($0)) } ?? "?"
    }.joined()
    return (product.object["verdicts"] as? String ?? "", letters)
  }

  static func domainNames(_ client: any TestClientProtocol) async throws -> [String] {
    let listed = try await client.call(.get, "/v1/domains", caller: nil)
    return (try JSONSerialization.jsonObject(with: Data(listed.text.utf8)) as? [[String: Any]] ?? []).compactMap {
      $0["name"] as? String
    }
  }

  @Test func sameAnswersAsTheExplicitBatch() async throws {
    try await HTTPFixture.withClient { client in
      let names = try await Self.domainNames(client)
      #expect(names.count >= 4)
      let ops = ["domctl.pause", "domctl.getdomaininfo", "evtchn.bind_interdomain", "grant.map_grant_ref", "dm.set_pci_intx_level"]
      let request = ProductRequestV1(callers: names + ["dom0"], ops: ops, targets: names + ["self"])
      let (product, batch) = try await Self.both(client, request)
      #expect(product.count == (names.count + 1) * ops.count * (names.count + 1))
      #expect(product == batch)
      #expect(Set(product).isSuperset(of: ["a", "d"]), "\(product)")
      // Asked again, the answers come from the snapshot's memo: the same.
      #expect(try await Self.both(client, request) == (product, batch))
      // Under another module, and for ops without a target.
      var dummy = request
      dummy.module = .dummy
      let (underDummy, batchUnderDummy) = try await Self.both(client, dummy)
      #expect(underDummy == batchUnderDummy)
      #expect(underDummy != product)
      let noTarget = ProductRequestV1(callers: names, ops: ["sysctl.physinfo", "sysctl.sched_id"], targets: nil)
      let (plain, plainBatch) = try await Self.both(client, noTarget)
      #expect(plain.count == names.count * 2)
      #expect(plain == plainBatch)
      // A change publishes a new snapshot: the memo of the old one is not used.
      let permissive = try await client.call(.put, "/v1/flask/enforce", json: #"{"enforcing":false}"#)
      #expect(permissive.status == .ok, "\(permissive.text)")
      let (afterChange, batchAfterChange) = try await Self.both(client, request)
      #expect(afterChange == batchAfterChange)
      #expect(afterChange != product)
    }
  }

  /// The explicit batch reads plain questions' verdicts from the snapshot's memo and decides the
  /// rest; either way each verdict is the one `/v1/can` gives for the same question, on the first
  /// batch, on a repeat, and after a change has published a new snapshot.
  @Test func batchVerdictsAreTheSingleAnswersWithAndWithoutTheMemo() async throws {
    try await HTTPFixture.withClient { client in
      let names = try await Self.domainNames(client)
      var queries: [String] = []
      for caller in names.prefix(4) {
        for op in ["domctl.pause", "evtchn.bind_interdomain", "grant.map_grant_ref"] {
          for target in names.prefix(4) { queries.append(#"{"caller":"\#(caller)","op":"\#(op)","target":"\#(target)"}"#) }
        }
        // Questions with arguments or a second domain are decided, not read from the memo.
        queries.append(#"{"caller":"\#(caller)","op":"evtchn.status","target":"web","arguments":["remote=dom0"]}"#)
        queries.append(#"{"caller":"\#(caller)","op":"domctl.set_target","target":"web-dm","object":"web"}"#)
      }
      func batch() async throws -> [String] {
        let reply = try await client.call(.post, "/v1/can/batch", json: #"{"queries":["# + queries.joined(separator: ",") + "]}")
        #expect(reply.status == .ok, "\(reply.text)")
        return reply.object["verdicts"] as? [String] ?? []
      }
      func singles() async throws -> [String] {
        var verdicts: [String] = []
        for q in queries {
          let can = try await client.call(.post, "/v1/can", json: q)
          #expect(can.status == .ok, "\(q): \(can.text)")
          verdicts.append(can.object["verdict"] as? String ?? "?")
        }
        return verdicts
      }
      let enforcing = try await singles()
      #expect(Set(enforcing).isSuperset(of: ["allowed", "denied"]), "\(enforcing)")
      #expect(try await batch() == enforcing)
      #expect(try await batch() == enforcing)
      let permissive = try await client.call(.put, "/v1/flask/enforce", json: #"{"enforcing":false}"#)
      #expect(permissive.status == .ok, "\(permissive.text)")
      let after = try await singles()
      #expect(after != enforcing)
      #expect(try await batch() == after)
      #expect(try await batch() == after)
    }
  }

  /// The reply's bytes are the encoder's, and its order is the documented one.
  @Test func replyBytesAndOrder() async throws {
    try await HTTPFixture.withClient { client in
      let request = ProductRequestV1(callers: ["dom0", "web"], ops: ["domctl.pause", "domctl.unpause"], targets: ["web", "db", "dom0"])
      let reply = try await client.call(.post, "/v1/can/product",
        json: String(decoding: try WireJSON.makeEncoder().encode(request), as: UTF8.self))
      let decoded = try WireJSON.makeDecoder().decode(ProductReplyV1.self, from: Data(reply.text.utf8))
      #expect(reply.text == String(decoding: try WireJSON.makeEncoder().encode(decoded), as: UTF8.self))
      let verdicts = decoded.decoded
      for (c, caller) in request.callers.enumerated() {
        for (o, op) in request.ops.enumerated() {
          for (t, target) in (request.targets ?? []).enumerated() {
            let can = try await client.call(.post, "/v1/can", json: #"{"caller":"\#(caller)","op":"\#(op)","target":"\#(target)"}"#)
            #expect(verdicts[request.position(caller: c, op: o, target: t)]?.rawValue == can.object["verdict"] as? String,
              "\(caller) \(op) \(target)")
          }
        }
      }
    }
  }

  @Test func limitsAndBadInput() async throws {
    try await HTTPFixture.withClient { client in
      let empty = try await client.call(.post, "/v1/can/product", json: #"{"callers":[],"ops":["domctl.pause"],"targets":["web"]}"#)
      expectError(empty, 422, "product.empty")
      #expect(empty.errorMessage.contains("`callers`"))
      let noTargets = try await client.call(.post, "/v1/can/product", json: #"{"callers":["dom0"],"ops":["domctl.pause"],"targets":[]}"#)
      expectError(noTargets, 422, "product.empty")
      #expect(noTargets.errorMessage.contains("leave it out"))
      // 1000 × 1001 × 1 questions: refused before anything is decided.
      let callers = Array(repeating: "dom0", count: 1000)
      let ops = Array(repeating: "domctl.pause", count: 1001)
      let large = try await client.call(.post, "/v1/can/product",
        json: String(decoding: try WireJSON.makeEncoder().encode(ProductRequestV1(callers: callers, ops: ops, targets: nil)), as: UTF8.self))
      expectError(large, 413, "product.too-large")
      #expect(large.errorMessage.contains("1000 callers × 1001 ops × 1 targets"))
      let unknownField = try await client.call(.post, "/v1/can/product", json: #"{"callers":["dom0"],"ops":["domctl.pause"],"target":["web"]}"#)
      expectError(unknownField, 400, "request.unknown-field")
      expectError(try await client.call(.post, "/v1/can/product", json: #"{"callers":["dom0"],"ops":["sysctl.physinfo"],"targets":["web"]}"#),
        400, "can.bad-argument")
      expectError(try await client.call(.post, "/v1/can/product", json: #"{"callers":["nobody"],"ops":["domctl.pause"],"targets":["web"]}"#),
        404, "domain.unknown")
      expectError(try await client.call(.post, "/v1/can/product", json: #"{"callers":["dom0"],"ops":["domctl.nothing"],"targets":["web"]}"#),
        404, "op.unknown")
      expectError(try await client.call(.post, "/v1/can/product", json: #"{"callers":["dom0"],"ops":["domctl.pause"]}"#),
        400, "can.bad-argument")
    }
  }

  /// Products and batches are counted in `/metrics`; the decision log keeps single questions only.
  @Test func countedButNotLogged() async throws {
    try await HTTPFixture.withClient { client in
      _ = try await client.call(.post, "/v1/can", json: #"{"op":"domctl.pause","target":"web"}"#)
      let product = try await client.call(.post, "/v1/can/product",
        json: #"{"callers":["web","db"],"ops":["domctl.pause","domctl.unpause"],"targets":["db","web","ci"],"module":"dummy"}"#)
      #expect(product.status == .ok, "\(product.text)")
      let verdicts = product.object["verdicts"] as? String ?? ""
      let metrics = try await client.call(.get, "/metrics", caller: nil).text
      for (letter, verdict) in [("a", "allowed"), ("d", "denied")] {
        let n = verdicts.count { String($0) == letter }
        guard n > 0 else { continue }
        #expect(metrics.contains(#"xsmd_decisions_total{module="dummy",family="domctl",verdict="\#(verdict)"} \#(n)"# + "\n"),
          "\(verdicts)")
      }
      _ = try await client.call(.post, "/v1/can/batch", json: #"{"queries":[{"caller":"web","op":"domctl.pause","target":"db"}]}"#)
      let log = try await client.call(.get, "/v1/decisions")
      #expect((log.object["decisions"] as? [Any])?.count == 1, "\(log.text)")
    }
  }
}
