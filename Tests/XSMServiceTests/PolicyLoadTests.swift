import Foundation
import Testing
import XSMEngine
import XSMProtocol
import XSMSepol
import XSMTestSupport

@testable import XSMService

/// What FLASK_LOAD refuses before it replaces the running policy (issue 14 items 3 and 4),
/// and the domain names POST /v1/domains refuses.
@Suite("Policy load checks")
struct PolicyLoadTests {
  /// Xen's validate_classes (xen/xsm/flask/ss/services.c) refuses a policy
  /// whose permission sits elsewhere; xsmd says which and keeps the old policy.
  @Test("a policy with `settime` renamed is refused as Xen refuses it, and the old policy stays")
  func renamedPermission() async throws {
    let service = try await defaultService()
    var binary = EmbeddedDefaults.policyBinary
    let name = Array("settime".utf8)
    let at = try #require((0...(binary.count - name.count)).first { Array(binary[$0..<$0 + name.count]) == name })
    binary.replaceSubrange(at..<at + name.count, with: Array("setxime".utf8))
    let before = service.identity()
    do {
      _ = try await service.load(binary, caller: Caller("dom0"))
      Issue.record("the renamed policy was loaded")
    } catch {
      #expect(error.status == 422 && error.code == "policy.classes", "\(error)")
      #expect(error.message.contains("permission bit"), "\(error)")
      #expect(error.message.contains("`setxime`") && error.message.contains("expects `settime`"), "\(error)")
    }
    #expect(service.identity().policyDigest == before.policyDigest)
  }

  @Test("corrupted binaries are 422 with a stable code, and the old policy stays")
  func corruptedBinaries() async throws {
    let service = try await defaultService()
    let original = EmbeddedDefaults.policyBinary
    let classes = try BinaryPolicyLayout.check(original).symbolTableOffsets[1]
    let before = service.identity()
    for (index, flip) in [(0, UInt8(0xff)), (classes + 2, 0x01), (classes + 5, 0x80), (original.count / 2, 0xff)] {
      var bytes = original
      bytes[index] ^= flip
      do {
        _ = try await service.load(bytes, caller: Caller("dom0"))
      } catch {
        #expect(error.status == 422 && ["policy.invalid", "policy.classes"].contains(error.code), "byte \(index): \(error)")
      }
    }
    #expect(service.identity().policyDigest == before.policyDigest)
  }

  @Test("domain names are checked as system files check them")
  func domainNames() async throws {
    let service = try await defaultService()
    let dom0 = Caller("dom0")
    for name in ["", "two words", "tab\there", "dom1", String(repeating: "x", count: 256)] {
      await expectError(422, "domain.bad-name") { () throws(ServiceError) in
        _ = try await service.addDomain(AddDomainRequestV1(domid: 101, name: name, context: "user_1:vm_r:domU_t"), caller: dom0)
      }
    }
    let added = try await service.addDomain(AddDomainRequestV1(domid: 101, name: "dom101", context: "user_1:vm_r:domU_t"), caller: dom0)
    #expect(added.name == "dom101")
  }
}
