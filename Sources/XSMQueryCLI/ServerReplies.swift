import ArgumentParser
import Foundation
import XSMCommandLine
import XSMCatalog
import XSMEngine
import XSMProtocol

// xsmd's replies (XSMProtocol's V1 types) in the engine's terms, so an
// answer from --server goes through the renderer a local answer goes
// through and prints the same; and the module a user names, in the wire's.

extension ModuleV1 {
  init(_ module: XSMModule) {
    switch module {
    case .dummy: self = .dummy
    case .silo: self = .silo
    case .flask: self = .flask
    }
  }
}

extension XSMModule {
  init(_ module: ModuleV1) {
    switch module {
    case .dummy: self = .dummy
    case .silo: self = .silo
    case .flask: self = .flask
    }
  }
}

extension Verdict {
  init(_ verdict: VerdictV1) {
    switch verdict {
    case .allowed: self = .allowed
    case .denied: self = .denied
    case .invalid: self = .invalid
    }
  }
}

extension TraceStep {
  init(_ step: TraceStepV1) {
    let outcome: Outcome =
      switch step.outcome {
      case .pass: .pass
      case .fail: .fail
      case .info: .info
      case .permissive: .permissive
      }
    self.init(outcome, step.layer, step.text, subject: step.subject, object: step.object, rules: step.rules,
      source: step.source)
  }
}

extension Decision {
  init(_ decision: DecisionV1) {
    self.init(module: XSMModule(decision.module), verdict: Verdict(decision.verdict), error: decision.error,
      trace: decision.trace.map(TraceStep.init), wouldDeny: decision.wouldDeny)
    returned = decision.returned
    delivery = decision.delivery.map { delivery in
      switch delivery {
      case .errno: .errno
      case .status: .status
      case .entry: .entry
      case .value: .value
      }
    }
  }
}

extension AccessMatrix {
  /// xsmd's matrix, for `MatrixRendering`. Outside XSMEngine an
  /// `AccessMatrix` can only be computed or decoded, and `MatrixV1` writes
  /// the JSON it decodes from, so the served matrix is read back through it.
  init(_ matrix: MatrixV1) throws {
    do {
      self = try WireJSON.makeDecoder().decode(AccessMatrix.self, from: WireJSON.makeEncoder().encode(matrix))
    } catch {
      fail("xsmq: error: xsmd's matrix does not read as this xsmq's: \(error)")
      throw ExitCode(2)
    }
  }
}

/// What `xsmq identity` shows, read from a local host (`XSMIdentity`) or
/// from xsmd (`IdentityV1`): the two name every field alike.
protocol IdentityFacts: Encodable {
  associatedtype Module: RawRepresentable<String>
  var system: String { get }
  var module: Module { get }
  var enforcing: Bool? { get }
  var policySource: String { get }
  var policyVersion: Int? { get }
  var policyDigest: String? { get }
  var policyBytes: Int? { get }
  var mls: Bool? { get }
  var handleUnknown: String? { get }
  var booleans: [String: Bool] { get }
  var sequence: UInt64? { get }
  var domains: Int { get }
}

extension XSMIdentity: IdentityFacts {}
extension IdentityV1: IdentityFacts {}
