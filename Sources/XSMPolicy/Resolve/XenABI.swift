/// The classes and permission bits the Xen hypervisor validates when it
/// loads a policy (`validate_classes`): class i must be the i-th class, and
/// every permission must sit at the same bit. These are the development
/// branch's (``XenABIHistory/development``); ``XenABIHistory`` has every
/// release from 4.8.
public enum XenABI {
  /// One hypervisor class with its permissions in bit order.
  public struct Class: Sendable, Hashable {
    public var name: String
    public var permissions: [String]

    public init(name: String, permissions: [String]) {
      self.name = name
      self.permissions = permissions
    }
  }

  /// Xen's classes in number order (class 1 first), on the development branch.
  public static var classes: [Class] { XenABIHistory.development.classes }

  /// Xen's initial SIDs in number order (SID 1 first), on the development branch.
  public static var initialSIDs: [String] { XenABIHistory.development.initialSIDs }
}
