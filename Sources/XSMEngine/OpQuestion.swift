import Foundation
import XSMCatalog
import XSMDiagnostics

/// A question about one op as a person or a client writes it — a target
/// and `name=value` arguments — checked against the op's argument model and
/// bound to the host's domains, labels and devices. Every command and
/// route that asks `can` goes through it, so a malformed question is
/// refused the same way everywhere.
public struct OpQuestion: Sendable {
  public var caller: HostDomain
  public var op: Op
  /// The op's first domain argument, when it takes one.
  public var target: HostDomain?
  public var objects: QueryObjects
  /// Every argument as bound, defaults included, in the op's order (`target=dom5`), for answers and examples.
  public var boundArguments: [String]

  /// Binds `target` (the positional argument) and `arguments` to `op`'s
  /// arguments. Domain values are `domN`, a name or `self` (DOMID_SELF);
  /// flags are given as `name` or `name=true`.
  public static func bind(caller: HostDomain, op: Op, target: String?, arguments: [(String, String)],
    flags: [String] = [], on host: XenHost) throws(OpArgumentError) -> OpQuestion
  {
    var values: [String: String] = [:]
    let valid = op.arguments
    func reject(_ message: String) -> OpArgumentError { OpArgumentError(message: message, op: op) }
    if let target {
      guard let first = op.positionalArgument else {
        throw reject("`\(op.name)` takes no domain argument, so no target `\(target)`")
      }
      values[first.name] = target
    }
    for (name, value) in arguments {
      guard let argument = op.argument(named: name) else {
        let hint = Suggestion.closest(to: name, in: valid.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""
        throw reject("`\(op.name)` has no argument `\(name)`\(hint)")
      }
      if values[name] != nil {
        throw reject("argument `\(name)` is given twice" + (argument.name == op.positionalArgument?.name ? " (TARGET fills it)" : ""))
      }
      values[argument.name] = value
    }
    for flag in flags {
      guard let argument = op.argument(named: flag), argument.kind == .flag else {
        let flagNames = valid.filter { $0.kind == .flag }.map(\.name)
        let hint = Suggestion.closest(to: flag, in: flagNames).map { "; did you mean `\($0)`?" } ?? ""
        throw reject("`\(flag)` is not a situation of `\(op.name)`\(hint)")
      }
      values[argument.name] = "true"
    }

    var question = OpQuestion(caller: caller, op: op, target: nil, objects: QueryObjects(), boundArguments: [])
    for argument in valid {
      if values[argument.name] == nil && argument.isOptional { continue }
      guard let value = values[argument.name] ?? argument.defaultValue else {
        if argument.isRequired { throw reject("`\(op.name)` needs the argument `\(argument.name)`") }
        continue
      }
      question.boundArguments.append("\(argument.name)=\(value)")
      switch argument.kind {
      case .domain:
        let domain: HostDomain
        if value == "self" {
          domain = caller
          question.objects.domidSelf.insert(argument.name)
        } else if let d = host.domain(named: value) {
          domain = d
        } else if let n = Self.domid(value), n < 0x7ff0 {
          // A domid no domain has: Xen's lookup of it fails, which the op's gates say how.
          domain = .nonexistent(domid: n)
        } else {
          let hint = Suggestion.closest(to: value, in: host.domainNames).map { "; did you mean `\($0)`?" } ?? ""
          throw OpArgumentError(message: "unknown \(argument.name) domain `\(value)`\(hint)", op: op, unknownDomain: value)
        }
        question.objects.parties[argument.name] = domain.domid
        if domain.missing { question.objects.missing[domain.domid] = domain }
        if argument.name == op.positionalArgument?.name { question.target = domain }
      case .flag:
        switch value {
        case "true", "1", "yes": question.objects.situations.insert(argument.name)
        case "false", "0", "no": break
        default: throw reject("`\(argument.name)` is a flag: give it bare or as `\(argument.name)=true|false`")
        }
      case .vcpu:
        guard let vcpu = VCPUArgument(value) else {
          throw reject("`\(argument.name)`: `\(value)` is not a vCPU (a number, or `current` for the calling vCPU)")
        }
        question.objects.vcpu = vcpu
      case .label:
        guard let server = host.server else { throw reject("`\(argument.name)` needs a host with a Flask policy") }
        guard let context = server.policy.context(value), server.policy.isValid(context) else {
          throw reject("`\(argument.name)`: `\(value)` is not a valid context of the policy")
        }
        question.objects.label = server.sid(for: context)
      case .irq:
        guard let n = UInt32(value) else { throw reject("`\(argument.name)`: `\(value)` is not an IRQ number") }
        question.objects.irq = n
      case .pci:
        guard let sbdf = Self.parseSBDF(value) else {
          throw reject("`\(argument.name)`: `\(value)` is not a PCI device (SEG:BUS:DEV.FN)")
        }
        question.objects.pciDevice = sbdf
        // Naming a PCI device is the `pci` situation of the ops that have one.
        if op.argument(named: "pci")?.kind == .flag { question.objects.situations.insert("pci") }
      case .iomem:
        guard let frame = Self.parseNumber(value) else { throw reject("`\(argument.name)`: `\(value)` is not a frame number") }
        question.objects.iomem = frame
      case .ioport:
        guard let port = Self.parseNumber(value), port <= 0xffff else {
          throw reject("`\(argument.name)`: `\(value)` is not an I/O port")
        }
        question.objects.ioport = UInt32(port)
      case .dt:
        question.objects.deviceTreePath = value
        if op.argument(named: "dt")?.kind == .flag { question.objects.situations.insert("dt") }
      case .number:
        guard let n = Self.parseNumber(value) else { throw reject("`\(argument.name)`: `\(value)` is not a number") }
        question.objects.numbers[argument.name] = n
      }
    }
    return question
  }

  /// The arguments `xsmq can` takes as options of their own rather than
  /// `--arg NAME=VALUE` (and `/v1/can` as fields of the same names): the
  /// op's second domain and the device it names.
  public struct Options: Sendable, Hashable {
    /// The op's second domain argument (`--object`).
    public var object: String?
    public var irq: UInt32?
    /// `SEG:BUS:DEV.FN` or a 32-bit SBDF number.
    public var pci: String?
    public var iomem: String?
    public var ioport: String?
    /// A device-tree path.
    public var dt: String?

    public init(object: String? = nil, irq: UInt32? = nil, pci: String? = nil, iomem: String? = nil,
      ioport: String? = nil, dt: String? = nil)
    {
      self.object = object
      self.irq = irq
      self.pci = pci
      self.iomem = iomem
      self.ioport = ioport
      self.dt = dt
    }

    /// The options as (name, value) pairs of `op`'s arguments, for `bind`
    /// after the `--arg` pairs; an option the op has no argument for is refused.
    public func pairs(for op: Op) throws(OpArgumentError) -> [(String, String)] {
      var pairs: [(String, String)] = []
      if let object {
        guard let second = op.domainArguments.dropFirst().first else {
          throw OpArgumentError(message: "`\(op.name)` takes no second domain, so no object (--object)", op: op)
        }
        pairs.append((second.name, object))
      }
      let devices: [(OpArgument.Kind, String?)] = [
        (.irq, irq.map(String.init)), (.pci, pci), (.iomem, iomem), (.ioport, ioport), (.dt, dt),
      ]
      for case let (kind, value?) in devices {
        guard let argument = op.arguments.first(where: { $0.kind == kind }) else {
          let name = kind.rawValue
          throw OpArgumentError(message: "`\(op.name)` takes no \(name) argument, so no \(name) (--\(name))", op: op)
        }
        pairs.append((argument.name, value))
      }
      return pairs
    }
  }

  /// `NAME=VALUE` texts (`xsmq can --arg`, `/v1/can`'s `arguments`) as pairs for `bind`.
  public static func namedArguments(_ texts: [String], for op: Op) throws(OpArgumentError) -> [(String, String)] {
    var pairs: [(String, String)] = []
    for text in texts {
      guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
        throw OpArgumentError(message: "`\(text)` is not NAME=VALUE", op: op)
      }
      pairs.append((String(text[..<eq]), String(text[text.index(after: eq)...])))
    }
    return pairs
  }

  /// The question a matrix cell asks, as `can` takes it: `target` in the
  /// first domain argument, the other domain arguments the caller (by its
  /// domid), vCPU 0, the target's own label, numbers 0, no flags and no
  /// devices. Empty for an op without arguments.
  public static func matrixArguments(caller: HostDomain, op: Op, target: HostDomain) -> [String] {
    var arguments: [String] = []
    let first = op.positionalArgument?.name
    for argument in op.arguments where argument.isRequired {
      switch argument.kind {
      case .domain: arguments.append("\(argument.name)=\(argument.name == first ? target.name : caller.name)")
      case .vcpu, .number: arguments.append("\(argument.name)=0")
      case .label: arguments.append("\(argument.name)=\(target.contextText)")
      default: continue
      }
    }
    for argument in op.domainArguments where !argument.isRequired && argument.name == first {
      arguments.insert("\(argument.name)=\(target.name)", at: 0)
    }
    return arguments
  }

  /// The same question bound, built directly (matrices ask it for every
  /// cell): the target and objects `DecisionEngine` takes. `bind` of
  /// `matrixArguments` gives the same; a test walks every pair to show it.
  public static func matrixCell(caller: HostDomain, op: Op, target: HostDomain) -> (HostDomain?, QueryObjects) {
    var objects = QueryObjects()
    let first = op.positionalArgument?.name
    for argument in op.arguments {
      switch argument.kind {
      case .domain:
        if argument.name == first {
          objects.parties[argument.name] = target.domid
        } else if argument.isRequired {
          objects.parties[argument.name] = caller.domid
        }
      case .vcpu where argument.isRequired: objects.vcpu = .number(0)
      case .number where argument.isRequired: objects.numbers[argument.name] = 0
      case .label where argument.isRequired: objects.label = target.sid
      default: continue
      }
    }
    return (first == nil ? nil : target, objects)
  }

  /// `domN` or `N`.
  static func domid(_ text: String) -> Int? {
    Int(text.hasPrefix("dom") ? String(text.dropFirst(3)) : text)
  }

  static func parseNumber(_ text: String) -> UInt64? {
    text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
  }

  /// `SSSS:BB:DD.F`, as lspci -D and sysfs name a PCI device (the inverse of `parseSBDF`).
  public static func formatSBDF(_ sbdf: UInt32) -> String {
    String(format: "%04x:%02x:%02x.%d", Int(sbdf >> 16), Int((sbdf >> 8) & 0xff), Int((sbdf >> 3) & 0x1f), Int(sbdf & 7))
  }

  /// `0000:03:00.1`, `03:00.1` or a plain number.
  public static func parseSBDF(_ text: String) -> UInt32? {
    if let n = parseNumber(text), n <= UInt64(UInt32.max) { return UInt32(n) }
    let parts = text.split(separator: ":")
    guard parts.count == 2 || parts.count == 3, let devfn = parts.last?.split(separator: "."), devfn.count == 2,
      let dev = UInt32(devfn[0], radix: 16), let fn = UInt32(devfn[1], radix: 16), dev < 32, fn < 8
    else { return nil }
    let bus = UInt32(parts[parts.count - 2], radix: 16) ?? 0
    let seg = parts.count == 3 ? UInt32(parts[0], radix: 16) ?? 0 : 0
    return seg << 16 | bus << 8 | dev << 3 | fn
  }
}

/// A question that does not fit its op's arguments: what is wrong, and the
/// arguments the op takes.
public struct OpArgumentError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var op: Op
  /// The domain name nobody on the host has, when that is the problem.
  public var unknownDomain: String?

  public init(message: String, op: Op, unknownDomain: String? = nil) {
    self.message = message
    self.op = op
    self.unknownDomain = unknownDomain
  }

  /// The message and the op's arguments, one per line.
  public var description: String {
    message + "\n" + OpArgumentError.usage(of: op)
  }

  /// `usage: xsmq can CALLER OP [TARGET] [--arg NAME=VALUE]...` with one line per argument.
  public static func usage(of op: Op) -> String {
    var lines: [String] = []
    let positional = op.positionalArgument
    var synopsis = "usage: xsmq can CALLER \(op.name)"
    if let positional { synopsis += positional.isRequired ? " \(positional.name.uppercased())" : " [\(positional.name.uppercased())]" }
    for argument in op.arguments where argument.name != positional?.name {
      synopsis += argument.kind == .flag ? " [--situation \(argument.name)]"
        : argument.isRequired ? " --arg \(argument.name)=VALUE" : " [--arg \(argument.name)=VALUE]"
    }
    lines.append(synopsis)
    if op.arguments.isEmpty { lines.append("  `\(op.name)` takes no arguments") }
    for argument in op.arguments {
      var text = "  \(argument.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(argument.kind.rawValue)"
      if let field = argument.field { text += ", Xen's \(field)" }
      if let d = argument.defaultValue { text += ", default \(d)\(d == "self" ? " (DOMID_SELF, the caller)" : "")" }
      else if argument.isRequired { text += ", required" }
      if argument.name == positional?.name { text += " (TARGET)" }
      lines.append(text)
    }
    return lines.joined(separator: "\n")
  }
}
