import XSMCatalog
import XSMDiagnostics

/// The stable numeric id of an op and the identifiers the bindings give it.
///
/// An id is 64 bits and depends only on the op's numbers (or, where it has
/// none, its name), never on where the op sits in the catalog:
///
/// | bits  | legacy op with a hypercall | legacy op without one | split op |
/// | ----- | -------------------------- | --------------------- | -------- |
/// | 60–63 | 1                          | 2                     | 3        |
/// | 56–59 | number of sub-op levels (0–3) | 0                  | 0        |
/// | 48–55 | hypercall number           | 0                     | 0        |
/// | 16–47 | sub-op levels 1 and 2 (16 bits each, from bit 32 down) | 0 | FNV-1a-32 of the family name |
/// | 0–15  | sub-op level 3             | —                     | the op's `number` |
///
/// For a legacy op without a hypercall (an internal call site) bits 0–31
/// hold the FNV-1a-32 hash of the op name. A sub-op range counts as its low
/// number, and a level with alternatives (`A 0 | B 2`) counts as its first
/// alternative. The generator refuses (see `problems(in:)`) ids that collide or
/// numbers that do not fit.
public enum OpIdentifier {
  /// The tag in bits 60–63.
  public enum Tag: UInt64, Sendable {
    case legacy = 1
    case internalCallSite = 2
    case split = 3
  }

  /// The id of `op`, as the C, Rust and Go bindings define it.
  public static func id(of op: Op) -> UInt64 {
    switch op.kind {
    case .legacy:
      guard let call = op.hypercall else {
        return Tag.internalCallSite.rawValue << 60 | UInt64(fnv1a32(op.name))
      }
      let levels = op.subopLevels.prefix(3).compactMap(\.first)
      var id = Tag.legacy.rawValue << 60 | UInt64(levels.count) << 56 | field(call.number, bits: 8) << 48
      for (level, subop) in levels.enumerated() {
        id |= field(subop.low, bits: 16) << UInt64(32 - 16 * level)
      }
      return id
    case .split:
      return Tag.split.rawValue << 60 | UInt64(fnv1a32(op.family)) << 16 | field(op.number ?? 0, bits: 16)
    }
  }

  /// `0x1124000300000000`: the id as the bindings write it.
  public static func hex(_ id: UInt64) -> String {
    let digits = String(id, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
  }

  /// The 32-bit FNV-1a hash of the UTF-8 bytes of `text`.
  public static func fnv1a32(_ text: String) -> UInt32 {
    var hash: UInt32 = 0x811c_9dc5
    for byte in text.utf8 {
      hash ^= UInt32(byte)
      hash = hash &* 0x0100_0193
    }
    return hash
  }

  /// `DOMCTL_PAUSEDOMAIN` for `domctl.pausedomain`: the C and Rust stem.
  public static func upperSnake(_ name: String) -> String {
    String(name.map { $0 == "." || $0 == "-" ? "_" : $0 }).uppercased()
  }

  /// `DomctlShadowOpOff` for `domctl.shadow_op.off`: the Go stem.
  public static func upperCamel(_ name: String) -> String {
    name.split(whereSeparator: { $0 == "." || $0 == "_" || $0 == "-" }).map { part in
      part.prefix(1).uppercased() + part.dropFirst()
    }.joined()
  }

  /// `XSM_OP_DOMCTL_PAUSEDOMAIN`.
  public static func cMacro(_ name: String) -> String { "XSM_OP_" + upperSnake(name) }
  /// `OP_DOMCTL_PAUSEDOMAIN`.
  public static func rustConstant(_ name: String) -> String { "OP_" + upperSnake(name) }
  /// `OpDomctlPausedomain`.
  public static func goConstant(_ name: String) -> String { "Op" + upperCamel(name) }

  /// Id collisions, numbers too wide for their field, and identifier clashes.
  public static func problems(in catalog: OpCatalog) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    func report(_ id: DiagnosticID, _ message: String, _ op: Op, help: String? = nil, notes: [DiagnosticNote] = []) {
      problems.append(Diagnostic(id, .error, message, span: op.span, help: help, notes: notes))
    }
    for op in catalog.ops {
      for subop in op.subops where subop.low < 0 || subop.high > Int(UInt32.max) {
        report(
          .docs.idOverflow, "sub-op number \(subop.numberText) of `\(op.name)` is not a 32-bit unsigned number", op)
      }
      if let call = op.hypercall, op.kind == .legacy, !(0...0xff).contains(call.number) {
        report(
          .docs.idOverflow, "hypercall number \(call.number) of `\(op.name)` does not fit the 8 bits of an op id", op)
      }
      if op.kind == .legacy && op.hypercall != nil {
        for subop in op.subopLevels.prefix(3).compactMap(\.first) where !(0...0xffff).contains(subop.low) {
          report(.docs.idOverflow,
            "sub-op number \(subop.low) of `\(op.name)` does not fit the 16 bits of an op id", op)
        }
      }
      if op.kind == .split, let number = op.number, !(0...0xffff).contains(number) {
        report(.docs.idOverflow, "number \(number) of split op `\(op.name)` does not fit the 16 bits of an op id", op)
      }
    }
    var byID: [UInt64: Op] = [:]
    for op in catalog.ops {
      let id = id(of: op)
      if let earlier = byID[id] {
        report(.docs.idCollision, "`\(op.name)` gets op id \(hex(id)), as `\(earlier.name)` does", op,
          help: op.subopLevels.count > 3 || op.subops.count > op.subopLevels.count
            ? "an op id holds the first alternative of at most three sub-op levels" : nil,
          notes: [DiagnosticNote("`\(earlier.name)` is here", span: earlier.span)])
      } else {
        byID[id] = op
      }
    }
    let namings: [(String, (String) -> String)] = [
      ("C", { cMacro($0) }), ("Rust", { rustConstant($0) }), ("Go", { goConstant($0) }),
    ]
    for (language, naming) in namings {
      var owner: [String: (op: Op, name: String)] = [:]
      for op in catalog.ops {
        for name in [op.name] + op.aliases {
          let identifier = naming(name)
          if let earlier = owner[identifier], earlier.op.name != op.name {
            report(.docs.identifierClash,
              "`\(name)` and `\(earlier.name)` both become the \(language) identifier `\(identifier)`", op,
              notes: [DiagnosticNote("`\(earlier.name)` is here", span: earlier.op.span)])
          } else if owner[identifier] == nil {
            owner[identifier] = (op, name)
          }
        }
      }
    }
    problems.append(contentsOf: CBindingNames.clashes(in: catalog))
    return problems
  }

  private static func field(_ value: Int, bits: Int) -> UInt64 {
    UInt64(truncatingIfNeeded: value) & ((1 << UInt64(bits)) - 1)
  }
}
