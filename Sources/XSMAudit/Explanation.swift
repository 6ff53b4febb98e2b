import XSMDiagnostics
import XSMEngine

/// What `xsmq explain` found in a log: every distinct avc record explained,
/// the lines that did not parse, and how many lines there were. Its JSON
/// (snake_case keys) is a stable interface, documented in `xsmq explain --help`.
public struct AVCReport: Sendable, Codable {
  /// The host the records were explained on: its system name and policy source.
  public var system: String
  public var policy: String
  public var linesRead: Int
  /// Lines with an avc record (parsed), malformed ones not included.
  public var avcLines: Int
  /// Lines without `avc:`, skipped.
  public var otherLines: Int
  public var malformed: [MalformedAVCLine]
  /// One entry per distinct record, in order of first appearance.
  public var entries: [AVCEntry]
  /// Why no fix proposes a call of the policy tree's macros (the policy is
  /// not a tree); nil when calls were looked for, or no fix needs one.
  public var macroCallsUnavailable: String?

  public init(system: String, policy: String, linesRead: Int = 0, avcLines: Int = 0, otherLines: Int = 0,
    malformed: [MalformedAVCLine] = [], entries: [AVCEntry] = [])
  {
    self.system = system
    self.policy = policy
    self.linesRead = linesRead
    self.avcLines = avcLines
    self.otherLines = otherLines
    self.malformed = malformed
    self.entries = entries
  }
}

/// Identical avc records (same verdict, permissions, contexts, class and
/// domids) seen `count` times, explained once.
public struct AVCEntry: Sendable, Codable {
  public var verdict: AVCRecord.Verdict
  public var count: Int
  public var firstLine: Int
  public var input: String
  public var source: LoggedDomain?
  public var target: LoggedDomain?
  public var current: LoggedDomain?
  public var scontext: String?
  public var tcontext: String?
  public var ssid: UInt32?
  public var tsid: UInt32?
  public var tclass: String
  public var permissions: [String]
  public var details: [AVCDetail]
  /// What limits the explanation: a domid not on the host, a context the policy does not know.
  public var problems: [String]
  /// One per permission of the record.
  public var explanations: [PermissionExplanation]
  /// Nil for granted records and for denials the policy grants already.
  public var fix: AVCFix?
}

/// A domain of an avc line and what the host knows about it.
public struct LoggedDomain: Sendable, Codable {
  public var domid: Int
  /// As Xen printed it: `d3`, `d[XEN]`.
  public var printed: String
  /// The host's domain with that domid (`dom3 (web-dm)`); nil when the host has none.
  public var onHost: String?
}

/// One permission of a record: the ops that check it and why the policy decides as it does.
public struct PermissionExplanation: Sendable, Codable {
  public var permission: String
  public var reason: DenialReason
  /// Ops whose check of this class:permission, asked on the host for these
  /// domids, fails (or passes) with exactly the logged contexts.
  public var fittingOps: [FittingOp]
  /// The other ops that check this class:permission, which do not fit the line.
  public var otherOps: [String]
  /// Ops that make the check for these domids on the host, but with other
  /// contexts (`checked_as`): the log's labels are not the host's.
  public var otherContexts: [FittingOp]
}

/// An op that makes the logged check for these domains.
public struct FittingOp: Sendable, Codable, Hashable {
  public var op: String
  public var caller: String
  public var target: String?
  /// For an op that makes the check with other contexts: `subject -> object` as the host labels them.
  public var checkedAs: String?
}

/// Why the host's policy (with the host's boolean values) grants or denies a permission.
public struct DenialReason: Sendable, Codable {
  public enum Kind: String, Sendable, Codable, CaseIterable {
    /// A granted record: the rules that grant it (an auditallow logged it).
    case granted
    /// A denial the host's policy grants: the log came from another policy or boolean state.
    case grantedNow = "granted-now"
    case noAllowRule = "no-allow-rule"
    /// A conditional rule grants it with booleans set the other way.
    case boolean
    /// Type rules grant it; a constraint removes it.
    case constraint
    /// Type rules grant it; role rules or type bounds remove it.
    case removed
    case unknownContext = "unknown-context"
    case unknownClass = "unknown-class"
    case unknownPermission = "unknown-permission"
    /// The line gives SIDs, not contexts: no rule can be looked up.
    case noContexts = "no-contexts"
    case noPolicy = "no-policy"
  }
  public var kind: Kind
  public var text: String
  /// The allow rules that grant it (now, or with `booleans` changed).
  public var rules: [String] = []
  public var constraints: [String] = []
  /// The fewest boolean changes under which a conditional rule grants it.
  public var booleans: [BooleanChange] = []
  /// The source rules behind it, when the host's policy came from source
  /// (or a binary with a rule-origin map): those that grant it, the closest
  /// allow rules for the same pair and class, the neverallows that forbid it.
  public var sources: RuleCitations?
  /// Why no source rules are named.
  public var sourceNote: String?
}

/// A boolean value that would grant a permission.
public struct BooleanChange: Sendable, Codable, Hashable, CustomStringConvertible {
  public var name: String
  public var value: Bool
  public var description: String { "\(name)=\(value)" }
}

/// The smallest changes that grant a denial.
public struct AVCFix: Sendable, Codable {
  /// `allow S_t T_t:class { perms };` for the permissions no rule grants.
  public var allowRule: String?
  /// The op rule (xsmc's extension) for the ops that fit, when some do.
  public var opRule: String?
  /// Calls of the policy tree's own macros that grant the same, narrowest
  /// first (only when the host's policy is a tree).
  public var macroCalls: [MacroSuggestion] = []
  /// Boolean values that grant it instead.
  public var booleans: [BooleanChange]
  /// What to do when no allow rule helps (a constraint removes the permission).
  public var note: String?
  /// Whether `allowRule` breaks a neverallow of the host's policy source.
  public var neverallow: NeverallowCheck?
}

/// The host's policy source rebuilt with a suggested rule appended.
public struct NeverallowCheck: Sendable, Codable {
  public enum Status: String, Sendable, Codable, CaseIterable {
    /// The source builds with the rule.
    case holds
    /// A neverallow (`sepol.neverallow`) forbids the rule.
    case breaks
    /// The source does not build with the rule for another reason.
    case fails
    /// The policy is a binary (or embedded): there is no source to rebuild.
    case notChecked = "not-checked"
  }
  public var status: Status
  public var text: String
  /// The diagnostics of a failed build: `file:line:col: id: message`.
  public var diagnostics: [String] = []
}
