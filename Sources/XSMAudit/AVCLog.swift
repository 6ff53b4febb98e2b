/// A domain as Xen's `%pd` prints it in an avc line (xen/common/vsprintf.c
/// print_domain): `d3`, or `d[IO]`, `d[XEN]`, `d[COW]`, `d[IDLE]` for the
/// system domains, whose domids are given here.
public struct AVCDomain: Sendable, Hashable, Codable, CustomStringConvertible {
  public var domid: Int
  /// As printed: `d3`, `d[XEN]`.
  public var text: String

  static let systemDomains: [String: Int] = ["[IO]": 0x7ff1, "[XEN]": 0x7ff2, "[COW]": 0x7ff3, "[IDLE]": 0x7fff]
  /// DOMID_FIRST_RESERVED: domids from here on are Xen's own, never a guest's.
  public static let firstSystemDomid = 0x7ff0

  /// Reads `d3` or `d[XEN]`; nil for anything else.
  public init?(_ text: some StringProtocol) {
    guard text.hasPrefix("d") else { return nil }
    let rest = text.dropFirst()
    if let id = Self.systemDomains[String(rest)] {
      domid = id
    } else if let id = Int(rest), id >= 0, id < Self.firstSystemDomid {
      domid = id
    } else {
      return nil
    }
    self.text = String(text)
  }

  public var description: String { text }
}

/// One `avc:` line of Xen's log, as xen/xsm/flask/avc.c avc_audit prints
/// it: `avc:  denied  { map_read } for source=d3 target=d5 scontext=… tcontext=… tclass=mmu`.
public struct AVCRecord: Sendable, Hashable, Codable {
  public enum Verdict: String, Sendable, Hashable, Codable, CaseIterable {
    case denied, granted
  }

  public var verdict: Verdict
  /// The permissions in the braces, in Xen's order; bits Xen could not name
  /// appear as hex (`0x400`); empty for Xen's `null`.
  public var permissions: [String]
  /// `source=`: the subject domain of the check.
  public var source: AVCDomain?
  /// `target=`: the object domain, printed only when it is not the source.
  public var target: AVCDomain?
  /// `current=`: the calling domain, printed when the check names neither.
  public var current: AVCDomain?
  /// The object beyond the domains, by Xen's names: `device`, `irq`,
  /// `range`, `pte`, `mfn`, `dtdevice` (and any field Xen adds later), in line order.
  public var details: [AVCDetail]
  /// The contexts, or the SIDs when Xen could not print them (`ssid=`, `tsid=`).
  public var scontext: String?
  public var tcontext: String?
  public var ssid: UInt32?
  public var tsid: UInt32?
  public var tclass: String

  /// The domain the check's subject belongs to: `source`, else `current`.
  public var subjectDomain: AVCDomain? { source ?? current }
  /// The domain the check's object belongs to: `target`, else the source
  /// (avc_audit leaves `target=` out when it is the source); nil for `current=` lines.
  public var objectDomain: AVCDomain? { target ?? source }

  /// What makes two lines the same denial: verdict, permissions, contexts, class and domids.
  public var groupKey: String {
    [verdict.rawValue, permissions.sorted().joined(separator: " "), scontext ?? "ssid=\(ssid ?? 0)",
     tcontext ?? "tsid=\(tsid ?? 0)", tclass, source?.text ?? "", target?.text ?? "", current?.text ?? ""]
      .joined(separator: "|")
  }
}

/// A `name=value` field of an avc line other than the domains, contexts and class.
public struct AVCDetail: Sendable, Hashable, Codable {
  public var name: String
  public var value: String

  public init(name: String, value: String) {
    self.name = name
    self.value = value
  }
}

/// A line with `avc:` in it that is not an avc record.
public struct MalformedAVCLine: Sendable, Hashable, Codable {
  /// 1-based line number in its input.
  public var line: Int
  /// Which input (a file name, or `-` for standard input).
  public var input: String
  public var text: String
  public var reason: String
}

/// The avc records of a log (`xl dmesg`, a serial console capture):
/// each record with its line, the lines that mention `avc:` but do not
/// parse, and how many other lines there were.
public struct AVCLog: Sendable {
  public struct Entry: Sendable, Hashable {
    public var record: AVCRecord
    public var line: Int
    public var input: String
  }

  public var entries: [Entry] = []
  public var malformed: [MalformedAVCLine] = []
  /// Lines without `avc:` (other console output), skipped.
  public var otherLines = 0
  /// Every line read.
  public var linesRead = 0

  public init() {}

  /// Reads `text` (named `input` in reports) and adds its records.
  public mutating func read(_ text: String, input: String) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }  // the newline that ends the last line
    var number = 0
    for line in lines {
      number += 1
      linesRead += 1
      guard line.contains("avc:") else {
        otherLines += 1
        continue
      }
      switch AVCLog.parse(line) {
      case .success(let record): entries.append(Entry(record: record, line: number, input: input))
      case .failure(let problem):
        malformed.append(MalformedAVCLine(line: number, input: input, text: String(line), reason: problem.reason))
      }
    }
  }

  /// Why a line with `avc:` is not a record.
  public struct ParseProblem: Error, Sendable {
    public var reason: String
  }

  /// One avc line, wherever `avc:` starts in it (after `(XEN) ` and a
  /// `[  12.345]` timestamp, say).
  public static func parse(_ line: some StringProtocol) -> Result<AVCRecord, ParseProblem> {
    func fail(_ reason: String) -> Result<AVCRecord, ParseProblem> { .failure(ParseProblem(reason: reason)) }
    guard let start = line.range(of: "avc:") else { return fail("no `avc:`") }
    var words = line[start.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })[...]
    guard let verdictWord = words.popFirst() else { return fail("nothing after `avc:`") }
    guard let verdict = AVCRecord.Verdict(rawValue: String(verdictWord)) else {
      return fail("expected `denied` or `granted` after `avc:`, found `\(verdictWord)`")
    }
    var permissions: [String] = []
    switch words.popFirst() {
    case "null"?: break
    case "{"?:
      while let word = words.popFirst(), word != "}" {
        if word == "for" { return fail("the permission list has no closing `}`") }
        permissions.append(String(word))
      }
    case let other?: return fail("expected `{` after `\(verdict.rawValue)`, found `\(other)`")
    case nil: return fail("the line ends after `\(verdict.rawValue)`")
    }
    guard words.popFirst() == "for" else { return fail("expected `for` after the permissions") }
    var record = AVCRecord(verdict: verdict, permissions: permissions, details: [], tclass: "")
    for word in words {
      guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
        return fail("expected `name=value`, found `\(word)`")
      }
      let name = String(word[..<eq])
      let value = String(word[word.index(after: eq)...])
      func domain() -> AVCDomain? { AVCDomain(value) }
      switch name {
      case "source", "target", "current":
        guard let d = domain() else { return fail("`\(name)=\(value)` is not a domain as Xen prints one (`d3`, `d[XEN]`)") }
        if name == "source" { record.source = d } else if name == "target" { record.target = d } else { record.current = d }
      case "scontext": record.scontext = value
      case "tcontext": record.tcontext = value
      case "ssid", "tsid":
        guard let sid = UInt32(value) else { return fail("`\(name)=\(value)` is not a SID") }
        if name == "ssid" { record.ssid = sid } else { record.tsid = sid }
      case "tclass": record.tclass = value
      default: record.details.append(AVCDetail(name: name, value: value))
      }
    }
    if record.scontext == nil && record.ssid == nil { return fail("no `scontext=` (or `ssid=`)") }
    if record.tcontext == nil && record.tsid == nil { return fail("no `tcontext=` (or `tsid=`)") }
    if record.tclass.isEmpty { return fail("no `tclass=`") }
    return .success(record)
  }
}
