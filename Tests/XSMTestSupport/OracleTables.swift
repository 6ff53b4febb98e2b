import XSMSepol

/// libsepol's decision tables (`SepolOracle.decisionTable`), computed once
/// per test process for each (binary, types, classes). The differential
/// suites of the compiler and of the engine compare the same generated and
/// project policies against libsepol; the table is the slow, serialised
/// part (libsepol's lock is held while it is computed), so it is made once.
@SepolActor
public enum OracleTables {
  private struct Key: Hashable {
    var binary: [UInt8]
    var types: [String]
    var classes: [String]
  }

  private static var tables: [Key: DecisionTable] = [:]

  /// libsepol's table of `binary` over `types` × `types` × `classes`.
  public static func table(_ binary: [UInt8], types: [String], classes: [String]) throws -> DecisionTable {
    let key = Key(binary: binary, types: types, classes: classes)
    if let known = tables[key] { return known }
    let table = try SepolOracle(binary: binary).decisionTable(types: types, classes: classes)
    tables[key] = table
    return table
  }
}
