import Foundation

/// `POST /v1/can/product` request: every (caller, op, target) of three lists,
/// the questions a matrix-like tool asks, in a body whose size does not grow
/// with their number. Each question is asked as `/v1/can` asks it with no
/// other argument; `targets` omitted asks the ops without a target.
public struct ProductRequestV1: Codable, Sendable {
  /// Domains asking (names or `domN`), at least one.
  public var callers: [String]
  /// Ops asked (names or aliases), at least one.
  public var ops: [String]
  /// Targets (names, `domN` or `self`), at least one when given.
  public var targets: [String]?
  /// The module to decide under; the host's when absent.
  public var module: ModuleV1?
  public init(callers: [String], ops: [String], targets: [String]?, module: ModuleV1? = nil) {
    self.callers = callers
    self.ops = ops
    self.targets = targets
    self.module = module
  }

  /// The number of questions: callers × ops × targets (× 1 without targets), nil past `Int.max`.
  public var count: Int? {
    let (pairs, overflow) = callers.count.multipliedReportingOverflow(by: ops.count)
    let (all, overflowAgain) = pairs.multipliedReportingOverflow(by: targets?.count ?? 1)
    return overflow || overflowAgain ? nil : all
  }

  /// Where the verdict of (caller `c`, op `o`, target `t`) is in the reply's
  /// `verdicts`: callers outermost, targets fastest.
  public func position(caller c: Int, op o: Int, target t: Int) -> Int {
    (c * ops.count + o) * (targets?.count ?? 1) + t
  }
}

/// `POST /v1/can/product` reply: one character per question, in the order
/// `ProductRequestV1.position` gives (`a` allowed, `d` denied, `i` invalid).
public struct ProductReplyV1: Codable, Sendable, Equatable {
  public var verdicts: String
  public var sequence: UInt64?
  public init(verdicts: String, sequence: UInt64? = nil) {
    self.verdicts = verdicts
    self.sequence = sequence
  }

  /// The character each verdict is written as.
  public static func letter(_ verdict: VerdictV1) -> Character {
    switch verdict {
    case .allowed: "a"
    case .denied: "d"
    case .invalid: "i"
    }
  }

  /// The verdicts, read back.
  public var decoded: [VerdictV1?] {
    verdicts.map { c in VerdictV1.allCases.first { Self.letter($0) == c } }
  }
}
