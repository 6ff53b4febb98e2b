/// A stable identifier of a kind of diagnostic, shaped `phase.kebab-name`
/// (`resolve.unknown-type`). Tests, docs and JSON consumers match on it.
///
/// Every id is declared once, as a property of its phase's group in `IDs/`,
/// and call sites name it with a leading dot: `parse.expected-token` is
/// `.parse.expectedToken`. Only this module can make an id, so whatever a tool
/// reports is in ``all`` and in docs/diagnostics.md.
public struct DiagnosticID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
  /// The id as output shows it: `phase.kebab-name`.
  public let rawValue: String
  /// What the id reports, in one line, as docs/diagnostics.md shows it.
  public let meaning: String
  /// The exit status an error with this id gives the command reporting it.
  public let exitStatus: ExitStatus

  /// What an error does to the exit status of the command that reports it.
  /// Warnings and notes never change it.
  public enum ExitStatus: Int32, Sendable {
    /// The input was read and is wrong.
    case invalidInput = 1
    /// The input could not be read at all (missing, unreadable, not text).
    case unreadableInput = 2
  }

  /// Declares an id; only the groups in `IDs/` call it.
  init(_ rawValue: String, _ meaning: String, exit: ExitStatus = .invalidInput) {
    self.rawValue = rawValue
    self.meaning = meaning
    self.exitStatus = exit
  }

  /// The declared id spelt `rawValue`, or nil when no group declares it.
  public init?(rawValue: String) {
    guard let declared = Self.declared[rawValue] else { return nil }
    self = declared
  }

  public var description: String { rawValue }

  public static func == (lhs: DiagnosticID, rhs: DiagnosticID) -> Bool { lhs.rawValue == rhs.rawValue }
  public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

  /// Decodes the id's string; a string no group declares is a decoding error.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let declared = Self.declared[text] else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "`\(text)` is not a declared diagnostic id")
    }
    self = declared
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }
}

/// The ids of one phase. Each stored `DiagnosticID` property declares one id
/// under the name call sites use: `expectedToken` for `parse.expected-token`.
public protocol DiagnosticIDGroup: Sendable {
  /// The prefix of every id in the group (`parse`).
  static var phase: String { get }
  /// The heading of the group's table in docs/diagnostics.md.
  static var title: String { get }
  /// Markdown under the heading: who reports the ids and where they are tested.
  static var summary: String { get }
}

extension DiagnosticIDGroup {
  /// The group's ids with their property names, in declaration order.
  public var members: [(name: String, id: DiagnosticID)] {
    Mirror(reflecting: self).children.compactMap { child in
      guard let name = child.label, let id = child.value as? DiagnosticID else { return nil }
      return (name, id)
    }
  }
}

extension DiagnosticID {
  /// Every group, in the order docs/diagnostics.md lists them.
  public static let groups: [any DiagnosticIDGroup] = [
    io, tree, lex, parse, declare, resolve, check, lower, sepol, op, catalog, docs, toml, system, port, testfile, fmt,
  ]

  /// Every declared id, group by group.
  public static let all: [DiagnosticID] = groups.flatMap { $0.members.map(\.id) }

  private static let declared: [String: DiagnosticID] = Dictionary(
    all.map { ($0.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
}
