import ArgumentParser
import Foundation
import XSMEngine
import XSMProtocol

// `xsmq flask label-pci|label-irq|label-iomem|label-ioport`: the labelling
// commands of Xen's flask-utils (tools/flask/utils/label-pci.c), each a
// series of FLASK_ADD_OCONTEXT calls with the context turned into a SID
// first, as libxc's xc_flask_add_device/_pirq/_iomem/_ioport do.

/// One range a label command gave a label: what `--json` prints per range.
struct LabelledRangeV1: Codable, Sendable {
  var kind: String
  var low: UInt64
  var high: UInt64
  var context: String
  var sid: UInt32?
  /// Set when xsmd refused this range (the command then exits non-zero).
  var error: String?
}

/// The I/O resources of a PCI device as Linux lists them in sysfs: the lines
/// `0xSTART 0xEND 0xFLAGS` of `resource`, and the interrupt in `irq`.
struct SysfsPCIResources {
  /// `IORESOURCE_IO` and `IORESOURCE_MEM` of Linux's include/linux/ioport.h.
  static let ioFlag: UInt64 = 0x100
  static let memoryFlag: UInt64 = 0x200

  /// `ioport` ranges and `iomem` page-frame ranges (addresses shifted right
  /// by 12, as flask-label-pci labels them), in the file's order.
  var ranges: [(kind: String, range: ClosedRange<UInt64>)] = []
  /// Linux's interrupt number; nil when `irq` is missing or 0.
  var irq: UInt64?

  /// Reads `DIR/bus/pci/devices/SSSS:BB:DD.F/{resource,irq}` under `root`
  /// (normally `/sys`); throws a usage error naming the file when the device is unknown.
  init(sbdf: UInt32, root: String) throws {
    let name = OpQuestion.formatSBDF(sbdf)
    let directory = root + "/bus/pci/devices/" + name
    guard let text = try? String(contentsOfFile: directory + "/resource", encoding: .utf8) else {
      throw usageError("unable to find PCI device \(name): cannot read \(directory)/resource")
    }
    for (index, line) in text.split(separator: "\n").enumerated() {
      let fields = line.split(separator: " ").compactMap { parseNumber(String($0)) }
      guard fields.count == 3 else {
        throw usageError("\(directory)/resource line \(index + 1) is not `0xSTART 0xEND 0xFLAGS`: `\(line)`")
      }
      let (start, end, flags) = (fields[0], fields[1], fields[2])
      guard start <= end else { continue }
      // label-pci.c tests IO first, then MEM; unused BARs (flags 0) are skipped.
      if flags & Self.ioFlag != 0 {
        ranges.append(("ioport", start...end))
      } else if flags & Self.memoryFlag != 0 {
        ranges.append(("iomem", (start >> 12)...(end >> 12)))
      }
    }
    let irqText = (try? String(contentsOfFile: directory + "/irq", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
    irq = irqText.flatMap { UInt64($0) }.flatMap { $0 == 0 ? nil : $0 }
  }
}

/// A START or START-END range of numbers (0x for hex).
private func parseRange(_ text: String, what: String) throws -> ClosedRange<UInt64> {
  let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
  guard let low = parts.first.flatMap(parseNumber), let high = parts.count == 2 ? parseNumber(parts[1]) : low,
    low <= high
  else { throw usageError("\(what) `\(text)` is not a number or a LOW-HIGH range (0x for hex)") }
  return low...high
}

extension XSMQ.Flask {
  /// Sends FLASK_ADD_OCONTEXT for each range; a refused range is reported and
  /// the rest still labelled (as flask-label-pci goes on), then the command
  /// exits with the worst status.
  static func label(_ ranges: [(kind: String, range: ClosedRange<UInt64>, context: String)], options: FlaskOptions)
    async throws
  {
    let client = try options.client()
    var sids: [String: UInt32] = [:]
    var results: [LabelledRangeV1] = []
    var failure: ExitCode?
    for item in ranges {
      var result = LabelledRangeV1(kind: item.kind, low: item.range.lowerBound, high: item.range.upperBound, context: item.context)
      do {
        var sid = sids[item.context]
        if sid == nil { sid = try await resolveSID(item.context, role: "context", client) }
        sids[item.context] = sid
        result.sid = sid
        let _: EmptyV1 = try await client.send(
          .flaskAddOcontext,
          OcontextRequestV1(kind: item.kind, sid: sid, low: item.range.lowerBound, high: item.range.upperBound))
      } catch let status as ExitCode {
        result.error = "refused (exit status \(status.rawValue))"
        failure = ExitCode(max(failure?.rawValue ?? 0, status.rawValue))
      }
      results.append(result)
    }
    await options.emit(results, results.map(describe).joined(separator: "\n"))
    if let failure { throw failure }
  }

  private static func describe(_ r: LabelledRangeV1) -> String {
    let number: (UInt64) -> String = { r.kind == "pirq" ? "\($0)" : "0x" + String($0, radix: 16) }
    let span = r.low == r.high ? number(r.low) : number(r.low) + "-" + number(r.high)
    let what = r.kind == "pcidevice" ? "pcidevice \(OpQuestion.formatSBDF(UInt32(r.low)))" : "\(r.kind) \(span)"
    return r.error.map { "\(what): \($0)" } ?? "labelled \(what) \(r.context)"
  }

  struct LabelPCI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "label-pci",
      abstract: "Label a PCI device with its I/O ports, memory and IRQ, as flask-label-pci does.",
      discussion: """
        Reads the device's resources from sysfs (--sysfs, default /sys): each I/O port range of \
        bus/pci/devices/SBDF/resource gets CONTEXT as an ioport label, each memory range an iomem label \
        (page frames, addresses >> 12), the device itself a pcidevice label, and its interrupt (irq) a \
        pirq label with IRQ-CONTEXT (default CONTEXT). Every label is FLASK_ADD_OCONTEXT, checked as \
        security:add_ocontext; a refused range is reported and the others still labelled.
        """)
    @Argument(help: "The device, SEG:BUS:DEV.FN (hex, as lspci -D prints it).") var device: String
    @Argument(help: "The device's context, e.g. system_u:object_r:nic_dev_t.") var context: String
    @Argument(help: "The context of its interrupt (default: CONTEXT).") var irqContext: String?
    @Option(name: .long, help: ArgumentHelp("Where sysfs is mounted.", valueName: "dir")) var sysfs = "/sys"
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      guard let sbdf = OpQuestion.parseSBDF(device) else { throw usageError("`\(device)` is not a PCI device (SEG:BUS:DEV.FN)") }
      let resources = try SysfsPCIResources(sbdf: sbdf, root: sysfs)
      var ranges: [(kind: String, range: ClosedRange<UInt64>, context: String)] = [
        ("pcidevice", UInt64(sbdf)...UInt64(sbdf), context)
      ]
      ranges += resources.ranges.map { ($0.kind, $0.range, context) }
      if let irq = resources.irq { ranges.append(("pirq", irq...irq, irqContext ?? context)) }
      try await XSMQ.Flask.label(ranges, options: options)
    }
  }

  /// `label-irq`, `label-iomem`, `label-ioport`: one range, one context.
  struct LabelRange<Kind: RangeLabelKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
      CommandConfiguration(commandName: "label-" + Kind.word, abstract: Kind.abstract)
    }
    @Argument(help: ArgumentHelp(Kind.rangeHelp)) var range: String
    @Argument(help: "The context, e.g. system_u:object_r:nic_io_t.") var context: String
    @OptionGroup var options: FlaskOptions

    func run() async throws {
      try await XSMQ.Flask.label([(Kind.kind, try parseRange(range, what: Kind.word), context)], options: options)
    }
  }
}

/// What differs between the one-range label commands.
protocol RangeLabelKind {
  /// The ocontext kind FLASK_ADD_OCONTEXT takes.
  static var kind: String { get }
  /// The word after `label-`.
  static var word: String { get }
  static var abstract: String { get }
  static var rangeHelp: String { get }
}

enum IRQLabel: RangeLabelKind {
  static let kind = "pirq", word = "irq"
  static let abstract = "Label a physical IRQ (FLASK_ADD_OCONTEXT pirq, security:add_ocontext)."
  static let rangeHelp = "The IRQ number, or LOW-HIGH."
}

enum IOMemLabel: RangeLabelKind {
  static let kind = "iomem", word = "iomem"
  static let abstract = "Label a range of I/O memory page frames (FLASK_ADD_OCONTEXT iomem, security:add_ocontext)."
  static let rangeHelp = "A page frame number or LOW-HIGH (0x for hex)."
}

enum IOPortLabel: RangeLabelKind {
  static let kind = "ioport", word = "ioport"
  static let abstract = "Label a range of I/O ports (FLASK_ADD_OCONTEXT ioport, security:add_ocontext)."
  static let rangeHelp = "A port or LOW-HIGH (0x for hex)."
}
