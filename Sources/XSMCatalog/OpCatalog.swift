import Foundation
import XSMDiagnostics

/// The op catalog: every legacy op and split op, looked up by name or alias,
/// plus the rules saying which legacy ops the proposed ABI keeps or drops.
public struct OpCatalog: Sendable {
  /// All ops in file order (legacy and split interleaved as written).
  public let ops: [Op]
  public let coverage: [CoverageRule]
  /// The split ops' request and reply layouts, in file order (see ``layout(of:_:)``).
  public let layouts: [PayloadLayout]
  /// The files the catalog was read from, by display name, in order.
  public let files: [String]
  private let index: [String: Int]

  init(ops: [Op], coverage: [CoverageRule], files: [String], layouts: [PayloadLayout] = []) {
    self.ops = ops
    self.coverage = coverage
    self.layouts = layouts
    self.files = files
    var index: [String: Int] = [:]
    for (i, op) in ops.enumerated() {
      index[op.name] = index[op.name] ?? i
      for alias in op.aliases { index[alias] = index[alias] ?? i }
    }
    self.index = index
  }

  /// The request or reply layout of a split op, if the catalog gives one.
  public func layout(of op: String, _ role: PayloadRole) -> PayloadLayout? {
    layouts.first { $0.op == op && $0.role == role }
  }

  /// The op with this name or alias.
  public func op(named name: String) -> Op? { index[name].map { ops[$0] } }
  public var legacyOps: [Op] { ops.filter { $0.kind == .legacy } }
  public var splitOps: [Op] { ops.filter { $0.kind == .split } }
  /// Every name and alias an op answers to.
  public var allNames: [String] { Array(index.keys) }

  /// The split ops that take over a legacy op.
  public func splitOps(replacing legacy: String) -> [Op] {
    splitOps.filter { $0.replaces.contains(legacy) }
  }
  /// The `unsplit`/`retire` rule covering a legacy op, if any: an exact
  /// name wins over the longest matching `family.*` pattern.
  public func coverageRule(for legacy: String) -> CoverageRule? {
    coverage.filter { $0.matches(legacy) }.max { a, b in
      let exactA = !a.pattern.hasSuffix(".*")
      let exactB = !b.pattern.hasSuffix(".*")
      if exactA != exactB { return exactB }
      return a.pattern.count < b.pattern.count
    }
  }
  /// Ops whose name, or the part after the family, equals `name`; or ops of
  /// a family when `name` is `family` or `family.*`.
  public func ops(matching pattern: String) -> [Op] {
    if let op = op(named: pattern) { return [op] }
    let family = pattern.hasSuffix(".*") ? String(pattern.dropLast(2)) : pattern
    return ops.filter { $0.family == family || $0.name.hasPrefix(family + ".") }
  }
  /// The family names in order of first appearance.
  public var families: [String] {
    var seen = Set<String>()
    return ops.compactMap { seen.insert($0.family).inserted ? $0.family : nil }
  }
}

/// Reads a catalog from a directory of `.ops` files (or from text), and
/// checks everything that can be checked without a policy.
public enum CatalogLoader {
  /// One catalog file: its name for diagnostics and its text.
  public struct File: Sendable {
    public var name: String
    public var text: String
    public init(name: String, text: String) {
      self.name = name
      self.text = text
    }
  }

  /// Every `*.ops` file under `directory`, in path order.
  public static func files(in directory: String) throws(CatalogError) -> [File] {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw CatalogError("`\(directory)` is not a directory of `.ops` files")
    }
    guard let walker = fm.enumerator(atPath: directory) else {
      throw CatalogError("cannot list `\(directory)`")
    }
    var paths: [String] = []
    while let relative = walker.nextObject() as? String {
      if relative.hasSuffix(".ops") { paths.append(relative) }
    }
    if paths.isEmpty { throw CatalogError("`\(directory)` holds no `.ops` files") }
    var files: [File] = []
    for relative in paths.sorted() {
      let path = (directory as NSString).appendingPathComponent(relative)
      guard let data = fm.contents(atPath: path) else { throw CatalogError("cannot read `\(path)`") }
      guard let text = String(data: data, encoding: .utf8) else { throw CatalogError("`\(path)` is not UTF-8 text") }
      files.append(File(name: path, text: text))
    }
    return files
  }

  /// Loads the catalog in `directory`.
  public static func load(directory: String) -> (OpCatalog?, DiagnosticList) {
    do {
      return load(files: try files(in: directory))
    } catch {
      return (nil, DiagnosticList([Diagnostic(.catalog.io, .error, error.message)]))
    }
  }

  /// Parses, links (`inherit`) and validates the files. The catalog is
  /// returned only when there are no errors.
  public static func load(files: [File]) -> (OpCatalog?, DiagnosticList) {
    load(files: files, complete: true)
  }

  /// `complete: false` skips the checks that need the whole catalog (every
  /// legacy op covered, `replaces` naming known ops), for loading a subset.
  static func load(files: [File], complete: Bool) -> (OpCatalog?, DiagnosticList) {
    var diagnostics = DiagnosticList()
    var parsed: [CatalogParser.ParsedOp] = []
    var coverage: [CoverageRule] = []
    var layouts: [ParsedLayout] = []
    for file in files {
      let parser = CatalogParser.parse(text: file.text, file: file.name)
      parsed += parser.ops
      layouts += parser.layouts
      coverage += parser.coverage
      diagnostics.append(contentsOf: parser.diagnostics)
    }
    var linker = CatalogLinker(parsed: parsed, coverage: coverage, layouts: layouts, complete: complete)
    linker.run()
    diagnostics.append(contentsOf: linker.diagnostics)
    if !diagnostics.isEmpty {
      // Source lines only for files that have diagnostics.
      let named = Set(diagnostics.items.compactMap { $0.span?.file })
      var sources: [String: [Substring]] = [:]
      for file in files where named.contains(file.name) {
        sources[file.name] = file.text.split(separator: "\n", omittingEmptySubsequences: false)
      }
      diagnostics = DiagnosticList(diagnostics.items.map { attachSource($0, sources) })
    }
    guard !diagnostics.hasErrors else { return (nil, diagnostics) }
    return (
      OpCatalog(ops: linker.ops, coverage: coverage, files: files.map(\.name), layouts: layouts.map(\.layout)),
      diagnostics
    )
  }

  private static func attachSource(_ d: Diagnostic, _ sources: [String: [Substring]]) -> Diagnostic {
    func line(_ span: SourceSpan?) -> String? {
      guard let span, let lines = sources[span.file], span.line >= 1, span.line <= lines.count else { return nil }
      return String(lines[span.line - 1])
    }
    var copy = d
    if copy.sourceLine == nil { copy.sourceLine = line(d.span) }
    copy.notes = d.notes.map { n in
      var note = n
      if note.sourceLine == nil { note.sourceLine = line(n.span) }
      return note
    }
    return copy
  }
}

/// A catalog that could not be read at all (missing directory, unreadable file).
public struct CatalogError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

extension CatalogLoader {
  /// Loads only the entries that `names` (op names or aliases) need — each
  /// named op and the op it inherits from — out of `files`, which must be a
  /// catalog that loads. A fast path for tools that answer one question:
  /// the full load parses and cross-checks every op. Nil when a name is not
  /// found (load the whole catalog then, for did-you-mean).
  /// The first `count` words of a line (split on spaces and tabs), found on its UTF-8 bytes.
  static func leadingWords(_ line: Substring, count: Int) -> [Substring] {
    var words: [Substring] = []
    let bytes = line.utf8
    var i = bytes.startIndex
    while words.count < count {
      while i < bytes.endIndex, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D { i = bytes.index(after: i) }
      guard i < bytes.endIndex else { break }
      var j = i
      while j < bytes.endIndex, bytes[j] != 0x20 && bytes[j] != 0x09 && bytes[j] != 0x0D { j = bytes.index(after: j) }
      words.append(line[i..<j])
      i = j
    }
    return words
  }

  public static func loadSubset(files: [File], names: [String]) -> OpCatalog? {
    struct Block {
      var file: Int
      /// The block's text: from its header line to the end of its last line.
      var range: Range<String.Index>
      var names: [Substring]
      var inherits: Substring?
    }
    var blocks: [Block] = []
    for (fileIndex, file) in files.enumerated() {
      var current: Block?
      // Byte-level, and no copy of the lines: this runs over the whole catalog on each `xsmq can`.
      for rawLine in file.text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
        let line = Substring(rawLine)
        let words = Self.leadingWords(line, count: 2)
        switch words.first {
        case "op"?, "split"?, "unsplit"?, "retire"?, "layout"?:
          if let block = current { blocks.append(block) }
          let header = words[0]
          current =
            header == "op" || header == "split"
            ? Block(file: fileIndex, range: line.startIndex..<line.endIndex, names: words.count > 1 ? [words[1]] : [])
            : nil
          continue
        case "alias"?:
          current?.names += line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst()
            .prefix { !$0.hasPrefix("#") }
        case "inherit"?:
          current?.inherits = words.count > 1 ? words[1] : nil
        default:
          break
        }
        if let start = current?.range.lowerBound { current?.range = start..<line.endIndex }
      }
      if let block = current { blocks.append(block) }
    }
    var chosen: [Int] = []
    func choose(_ name: Substring) -> Bool {
      guard let i = blocks.firstIndex(where: { $0.names.contains(name) }) else { return false }
      if !chosen.contains(i) { chosen.append(i) }
      if let base = blocks[i].inherits { return choose(base) }
      return true
    }
    for name in names where !choose(Substring(name)) { return nil }
    let subset = chosen.sorted().map { i in
      File(name: files[blocks[i].file].name, text: String(files[blocks[i].file].text[blocks[i].range]))
    }
    return load(files: subset, complete: false).0
  }
}
