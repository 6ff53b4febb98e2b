import ArgumentParser
import Foundation
import XSMCommandLine
import XSMCatalog
import XSMEngine
import XSMProtocol
import XSMWire

// xsmd's replies in the engine's terms, so an answer from --server goes
// through the renderer a local answer goes through and prints the same
// (the conversions of single values are XSMWire's).

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
