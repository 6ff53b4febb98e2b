import XSMDiagnostics

/// What kind of thing a type-namespace name is.
public enum TypeSymbolKind: String, Sendable {
  case type, attribute, alias
}

/// One name of the type namespace (types, attributes and aliases share it).
public struct TypeSymbol: Sendable {
  public var name: String
  public var kind: TypeSymbolKind
  /// For an alias, the type it stands for.
  public var actual: String?
  public var span: SourceSpan
}

/// A class with its permissions in bit order (common permissions first).
public struct ClassSymbol: Sendable {
  public var name: String
  public var span: SourceSpan
  public var common: String?
  /// The class's own permissions, after the common's.
  public var ownPermissions: [String] = []
  public var hasAccessVector = false
}

/// The checked policy: every declaration resolved, every reference known to
/// exist. Only a checked model is lowered to CIL, so an unchecked tree never
/// reaches libsepol.
public struct PolicyModel: Sendable {
  public var syntax: PolicySyntax
  public var mls: Bool
  /// Binary policy version the model is built for.
  public var policyVersion = 30
  public var classOrder: [String] = []
  public var classes: [String: ClassSymbol] = [:]
  public var commons: [String: [String]] = [:]
  public var sidOrder: [String] = []
  public var sidContexts: [String: Context] = [:]
  public var typeSymbols: [String: TypeSymbol] = [:]
  /// Real types (not attributes or aliases) in declaration order.
  public var typeOrder: [String] = []
  public var attributeOrder: [String] = []
  /// attribute → member types (direct declarations only; attributes of attributes are not part of the language).
  public var attributeMembers: [String: Set<String>] = [:]
  public var roles: [String: SourceSpan] = [:]
  public var roleOrder: [String] = []
  public var users: [String: SourceSpan] = [:]
  public var userOrder: [String] = []
  public var booleans: [String: Bool] = [:]
  public var booleanOrder: [String] = []
  public var sensitivities: [String] = []
  public var sensitivityAliases: [String: String] = [:]
  public var categories: [String] = []
  public var categoryAliases: [String: String] = [:]
  public var dominance: [String] = []

  /// All permissions of a class in bit order.
  public func permissions(of className: String) -> [String] {
    guard let symbol = classes[className] else { return [] }
    return (symbol.common.flatMap { commons[$0] } ?? []) + symbol.ownPermissions
  }

  /// The real type an alias or type name stands for.
  public func actualType(_ name: String) -> String? {
    guard let symbol = typeSymbols[name] else { return nil }
    switch symbol.kind {
    case .type: return name
    case .alias: return symbol.actual
    case .attribute: return nil
    }
  }

  /// Real types a single name denotes (a type, an alias, or every member of an attribute).
  public func expand(typeName name: String) -> Set<String> {
    guard let symbol = typeSymbols[name] else { return [] }
    switch symbol.kind {
    case .type: return [name]
    case .alias: return symbol.actual.map { [$0] } ?? []
    case .attribute: return attributeMembers[name] ?? []
    }
  }

  /// Real types a set denotes, following checkpolicy: (`*` or the included
  /// names) minus the excluded names, complemented over all types for `~`.
  /// `self` is not a type and is ignored here.
  public func expand(typeSet set: NameSet) -> Set<String> {
    var result = Set<String>()
    if set.star {
      result = Set(typeOrder)
    } else {
      for name in set.included where name.text != "self" { result.formUnion(expand(typeName: name.text)) }
    }
    for name in set.excluded { result.subtract(expand(typeName: name.text)) }
    if set.complement { result = Set(typeOrder).subtracting(result) }
    return result
  }

  /// Permission names a set denotes within one class, in bit order.
  public func expand(permissionSet set: NameSet, in className: String) -> [String] {
    let all = permissions(of: className)
    var chosen: Set<String> = set.star ? Set(all) : Set(set.included.map(\.text))
    chosen.subtract(set.excluded.map(\.text))
    if set.complement { chosen = Set(all).subtracting(chosen) }
    return all.filter { chosen.contains($0) }
  }

  /// Class names a set denotes, in class order.
  public func expand(classSet set: NameSet) -> [String] {
    var chosen: Set<String> = set.star ? Set(classOrder) : Set(set.included.map(\.text))
    chosen.subtract(set.excluded.map(\.text))
    if set.complement { chosen = Set(classOrder).subtracting(chosen) }
    return classOrder.filter { chosen.contains($0) }
  }
}
