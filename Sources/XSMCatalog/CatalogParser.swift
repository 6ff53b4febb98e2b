import XSMDiagnostics

/// A word of a catalog line and the column it starts at.
struct CatalogWord {
  var text: String
  var column: Int
}

/// Reads the line-oriented catalog text (see docs/catalog-format.md) into
/// entries. It checks the shape of each line; cross-entry rules (names,
/// numbers, coverage) are the loader's.
struct CatalogParser {
  /// An entry as parsed, with the keys it set itself (for `inherit`).
  struct ParsedOp {
    var op: Op
    var keysSet: Set<String> = []
    var aliasSpans: [String: SourceSpan] = [:]
    var replacesSpans: [String: SourceSpan] = [:]
    var inheritSpan: SourceSpan?
    var numberSpan: SourceSpan?
  }

  private(set) var ops: [ParsedOp] = []
  private(set) var coverage: [CoverageRule] = []
  var diagnostics: [Diagnostic] = []
  /// The `layout` blocks, checked one by one (the op they name is the linker's).
  var layouts: [ParsedLayout] = []

  let file: String
  private var currentOp: ParsedOp?
  var currentLayout: ParsedLayout?
  private var currentCoverage: CoverageRule?

  static let opKeys: Set<String> = [
    "alias", "hypercall", "subop", "hook", "dummy", "target", "check", "flask", "silo", "refuses-self", "class",
    "summary", "note", "replaces", "inherit", "group", "number", "arg", "gate", "denial",
  ]
  static let targetKinds: Set<String> = [
    "none", "xen", "domain", "self", "domain-pair", "domains", "evtchn", "grant", "irq", "pirq", "iomem", "ioport",
    "pci", "devicetree", "security",
  ]
  /// Keys that take the rest of the line as text.
  static let textKeys: Set<String> = ["summary", "note"]
  /// Keys an entry may give at most once.
  static let singleKeys: Set<String> = [
    "hypercall", "hook", "target", "flask", "silo", "refuses-self", "class", "summary", "inherit", "group", "number",
  ]

  init(file: String) { self.file = file }

  static func parse(text: String, file: String) -> CatalogParser {
    var parser = CatalogParser(file: file)
    var lineNumber = 0
    for rawLine in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
      lineNumber += 1
      parser.parseLine(String(Substring(rawLine)), line: lineNumber)
    }
    parser.finishBlock()
    return parser
  }

  // MARK: Lines

  private mutating func parseLine(_ line: String, line lineNumber: Int) {
    let words = Self.words(of: line)
    guard let keyword = words.first, !keyword.text.hasPrefix("#") else { return }
    let key = keyword.text
    let keySpan = span(lineNumber, keyword)
    let args = Array(words.dropFirst())

    switch key {
    case "op", "split":
      finishBlock()
      guard let name = one(args, key, lineNumber, keySpan, what: "an op name") else { return }
      if !Self.isOpName(name.text) {
        error(.catalog.badName, "`\(name.text)` is not an op name", span(lineNumber, name),
          help: "op names are `family.name`: lower-case letters, digits, `_` and `.`")
      }
      currentOp = ParsedOp(op: Op(name: name.text, kind: key == "op" ? .legacy : .split, span: span(lineNumber, name)))
      return
    case "layout":
      finishBlock()
      currentLayout = layoutHeader(args, keySpan: keySpan, lineNumber: lineNumber)
      return
    case "unsplit", "retire":
      finishBlock()
      guard let pattern = one(args, key, lineNumber, keySpan, what: "an op name or `family.*`") else { return }
      currentCoverage = CoverageRule(
        kind: key == "retire" ? .retire : .unsplit, pattern: pattern.text, reason: "", span: span(lineNumber, pattern))
      return
    default:
      break
    }

    if currentLayout != nil {
      return layoutLine(key, args, keySpan: keySpan, lineNumber: lineNumber)
    }
    if var rule = currentCoverage.take() {
      defer { currentCoverage = rule }
      switch key {
      case "summary": rule.reason = restOfLine(line, after: keyword)
      case "note": rule.reason += (rule.reason.isEmpty ? "" : " ") + restOfLine(line, after: keyword)
      default:
        error(.catalog.unknownKey, "`\(key)` is not a key of an `\(rule.kind.rawValue)` block", keySpan,
          help: "an `unsplit` or `retire` block takes `summary` and `note`")
      }
      return
    }
    // The entry is taken out while its line is parsed, so the parsers below
    // change it in place; the defer puts it back.
    guard var entry = currentOp.take() else {
      error(.catalog.outsideOp, "`\(key)` appears before any `op` or `split` line", keySpan,
        help: "start an entry with `op family.name` or `split family.name`")
      return
    }
    defer { currentOp = entry }
    guard Self.opKeys.contains(key) else {
      let hint = Suggestion.closest(to: key, in: Self.opKeys).map { "did you mean `\($0)`?" }
      error(.catalog.unknownKey, "unknown key `\(key)`", keySpan, help: hint ?? "see docs/catalog-format.md for the keys")
      return
    }
    if Self.singleKeys.contains(key) && entry.keysSet.contains(key) {
      error(.catalog.repeatedKey, "`\(key)` is given twice for `\(entry.op.name)`", keySpan)
      return
    }
    entry.keysSet.insert(key)
    parseKey(key, into: &entry, keySpan: keySpan, args: args, line: line, lineNumber: lineNumber, keyword: keyword)
  }

  private mutating func parseKey(
    _ key: String, into entry: inout ParsedOp, keySpan: SourceSpan, args: [CatalogWord], line: String,
    lineNumber: Int, keyword: CatalogWord
  ) {
    switch key {
    case "alias":
      guard !args.isEmpty else { return missing(key, keySpan, "one or more op names") }
      for a in args {
        if !Self.isOpName(a.text) { error(.catalog.badName, "`\(a.text)` is not an op name", span(lineNumber, a)) }
        entry.op.aliases.append(a.text)
        entry.aliasSpans[a.text] = span(lineNumber, a)
      }
    case "hypercall":
      guard let first = args.first else { return missing(key, keySpan, "`__HYPERVISOR_name NUMBER` or `none`") }
      if first.text == "none" {
        if args.count > 1 { extra(args[1], lineNumber) }
        return
      }
      guard args.count == 2, let n = Self.number(args[1].text) else {
        return error(.catalog.badHypercall, "a hypercall is written `__HYPERVISOR_name NUMBER`",
          span(lineNumber, args.count > 1 ? args[1] : first))
      }
      if args.count > 2 { extra(args[2], lineNumber) }
      entry.op.hypercall = Hypercall(name: first.text, number: n)
    case "subop":
      // `CONSTANT NUMBER [| CONSTANT NUMBER ...]`: one level, alternatives separated by `|`.
      let level = (entry.op.subops.map(\.level).max() ?? -1) + 1
      var index = 0
      repeat {
        guard index + 1 < args.count, args[index].text != "|" else {
          return error(.catalog.badSubop, "a sub-op is written `CONSTANT NUMBER` or `CONSTANT LOW..HIGH`",
            index < args.count ? span(lineNumber, args[index]) : keySpan,
            help: "alternatives at one level are separated by `|`")
        }
        guard let range = Self.numberRange(args[index + 1].text) else {
          return error(.catalog.badNumber, "`\(args[index + 1].text)` is not a number or range",
            span(lineNumber, args[index + 1]))
        }
        entry.op.subops.append(SubOp(constant: args[index].text, low: range.0, high: range.1, level: level))
        index += 2
        if index < args.count {
          guard args[index].text == "|" else {
            return error(.catalog.badSubop, "expected `|` between alternative sub-ops, found `\(args[index].text)`",
              span(lineNumber, args[index]))
          }
          index += 1
          if index == args.count {
            return error(.catalog.badSubop, "`|` must be followed by another sub-op", span(lineNumber, args[index - 1]))
          }
        }
      } while index < args.count
    case "hook":
      guard !args.isEmpty else { return missing(key, keySpan, "`xsm_...` hook names or `none`") }
      if args.count == 1 && args[0].text == "none" { return }
      for h in args {
        guard h.text.hasPrefix("xsm_") else {
          return error(.catalog.badHook, "`\(h.text)` is not an XSM hook name", span(lineNumber, h),
            help: "hooks are the `xsm_*` functions; write `hook none` for a path without one")
        }
        entry.op.hooks.append(h.text)
      }
    case "dummy":
      guard let step = parseDummy(args, keySpan: keySpan, lineNumber: lineNumber) else { return }
      entry.op.dummy.append(step)
    case "target":
      guard let first = args.first else { return missing(key, keySpan, "target kinds joined with `+`") }
      if args.count > 1 { extra(args[1], lineNumber) }
      var kinds: [String] = []
      var column = first.column
      for part in first.text.split(separator: "+", omittingEmptySubsequences: false).map(String.init) {
        if !Self.targetKinds.contains(part) {
          let at = SourceSpan(file: file, line: lineNumber, column: column, endColumn: column + max(part.count, 1))
          let hint = Suggestion.closest(to: part, in: Self.targetKinds).map { "did you mean `\($0)`?" }
          error(.catalog.unknownTarget, "unknown target kind `\(part)`", at,
            help: hint ?? "kinds: " + Self.targetKinds.sorted().joined(separator: " "))
        }
        kinds.append(part)
        column += part.count + 1
      }
      entry.op.targets = kinds
    case "check":
      guard let check = parseCheck(args, keySpan: keySpan, lineNumber: lineNumber) else { return }
      entry.op.checks.append(check)
    case "flask":
      guard let word = one(args, key, lineNumber, keySpan, what: "`none` or `unclassified`") else { return }
      guard let marker = FlaskMarker(rawValue: word.text) else {
        return error(.catalog.badFlask, "`flask` takes `none` or `unclassified`, not `\(word.text)`",
          span(lineNumber, word))
      }
      entry.op.flask = marker
    case "silo":
      guard args.count == 2 else {
        return error(.catalog.badSilo, "`silo` names two domains: `silo LEFT RIGHT`",
          args.count > 2 ? span(lineNumber, args[2]) : keySpan)
      }
      guard let l = endpoint(args[0], lineNumber, domainOnly: true),
        let r = endpoint(args[1], lineNumber, domainOnly: true)
      else { return }
      entry.op.silo = SiloRule(left: l, right: r)
    case "arg":
      parseArgument(args, into: &entry, keySpan: keySpan, lineNumber: lineNumber)
    case "gate":
      parseGate(args, into: &entry, keySpan: keySpan, lineNumber: lineNumber)
    case "denial":
      parseDenial(args, into: &entry, keySpan: keySpan, lineNumber: lineNumber)
    case "refuses-self":
      if let first = args.first { extra(first, lineNumber) }
      entry.op.refusesSelf = true
    case "class":
      guard let word = one(args, key, lineNumber, keySpan, what: "`privileged`, `logical` or `mixed`") else { return }
      guard let c = PrivilegeClass(rawValue: word.text) else {
        let hint = Suggestion.closest(to: word.text, in: PrivilegeClass.allCases.map(\.rawValue))
        return error(.catalog.badClass, "unknown op class `\(word.text)`", span(lineNumber, word),
          help: hint.map { "did you mean `\($0)`?" } ?? "the classes are privileged, logical and mixed")
      }
      entry.op.privilege = c
    case "summary":
      let text = restOfLine(line, after: keyword)
      if text.isEmpty { return missing(key, keySpan, "a sentence") }
      entry.op.summary = text
    case "note":
      let text = restOfLine(line, after: keyword)
      if text.isEmpty { return missing(key, keySpan, "a sentence") }
      entry.op.notes.append(text)
    case "replaces":
      guard !args.isEmpty else { return missing(key, keySpan, "the legacy ops this op replaces") }
      for a in args {
        entry.op.replaces.append(a.text)
        entry.replacesSpans[a.text] = span(lineNumber, a)
      }
    case "inherit":
      guard let word = one(args, key, lineNumber, keySpan, what: "a legacy op name") else { return }
      entry.op.inherits = word.text
      entry.inheritSpan = span(lineNumber, word)
    case "group":
      guard let word = one(args, key, lineNumber, keySpan, what: "a group word") else { return }
      entry.op.group = word.text
    case "number":
      guard let word = one(args, key, lineNumber, keySpan, what: "a number") else { return }
      guard let n = Self.number(word.text) else {
        return error(.catalog.badNumber, "`\(word.text)` is not a number", span(lineNumber, word))
      }
      entry.op.number = n
      entry.numberSpan = span(lineNumber, word)
    default:
      break
    }
  }

  // MARK: Arguments, gates, denials

  /// `NAME KIND [FIELD] [default VALUE]`
  private mutating func parseArgument(
    _ args: [CatalogWord], into entry: inout ParsedOp, keySpan: SourceSpan, lineNumber: Int
  ) {
    guard args.count >= 2 else {
      return error(.catalog.badArg, "an argument is written `arg NAME KIND [FIELD] [default VALUE]`",
        args.first.map { span(lineNumber, $0) } ?? keySpan, help: "for example `arg owner domain evtchn_status.dom default self`")
    }
    let name = args[0]
    guard Self.isConditionName(name.text) else {
      return error(.catalog.badArg, "`\(name.text)` is not an argument name", span(lineNumber, name),
        help: "argument names are lower-case words: `target`, `remote`, `vcpu`")
    }
    guard let kind = OpArgument.Kind(rawValue: args[1].text) else {
      return unknownWord(.catalog.badArg, "argument kind", args[1], lineNumber, OpArgument.Kind.allCases.map(\.rawValue))
    }
    if kind == .domain && Endpoint.kinds[name.text] != .domain {
      let hint = Suggestion.closest(to: name.text, in: Endpoint.domainNames).map { "did you mean `\($0)`?" }
      return error(.catalog.badArg, "a domain argument is named after a party of the checks, not `\(name.text)`",
        span(lineNumber, name), help: hint ?? "parties: " + Endpoint.domainNames.joined(separator: " "))
    }
    var argument = OpArgument(name: name.text, kind: kind)
    var rest = Array(args.dropFirst(2))
    if let first = rest.first, first.text != "default" {
      argument.field = first.text
      rest.removeFirst()
    }
    if let word = rest.first {
      guard word.text == "default", rest.count == 2 else {
        return error(.catalog.badArg, "unexpected `\(word.text)`; an argument ends with `default VALUE`",
          span(lineNumber, word))
      }
      argument.defaultValue = rest[1].text
    }
    if entry.op.arguments.contains(where: { $0.name == argument.name }) {
      return error(.catalog.badArg, "argument `\(argument.name)` is declared twice", span(lineNumber, name))
    }
    entry.op.arguments.append(argument)
  }

  /// `before|after REQUIREMENT [DOMAIN...] ERROR at FILE FUNCTION`
  private mutating func parseGate(
    _ args: [CatalogWord], into entry: inout ParsedOp, keySpan: SourceSpan, lineNumber: Int
  ) {
    let shape = "a gate is written `gate before|after REQUIREMENT [DOMAIN...] ERROR at FILE FUNCTION`"
    guard args.count >= 3, let stage = OpGate.Stage(rawValue: args[0].text) else {
      return error(.catalog.badGate, shape, args.first.map { span(lineNumber, $0) } ?? keySpan,
        help: "for example `gate after not-caller target -EINVAL at xen/common/domctl.c do_domctl`")
    }
    guard let requirement = OpGate.Requirement(rawValue: args[1].text) else {
      return unknownWord(.catalog.badGate, "gate", args[1], lineNumber, OpGate.Requirement.allCases.map(\.rawValue))
    }
    let count = requirement.domainCount
    guard args.count >= 2 + count + 1 else { return error(.catalog.badGate, shape, span(lineNumber, args[args.count - 1])) }
    let domains = args[2..<(2 + count)].map(\.text)
    let errorWord = args[2 + count]
    guard Self.isErrorName(errorWord.text) else {
      return error(.catalog.badGate, "`\(errorWord.text)` is not an error such as `-EINVAL`", span(lineNumber, errorWord),
        help: "`\(requirement.rawValue)` names \(count) domain argument\(count == 1 ? "" : "s") before the error")
    }
    var rest = Array(args.dropFirst(3 + count))
    var condition: Condition?
    if let word = rest.first, word.text == "if" || word.text == "unless" {
      guard rest.count >= 2, Self.isConditionName(rest[1].text) else {
        return error(.catalog.badCondition, "`\(word.text)` needs a condition word", span(lineNumber, word))
      }
      condition = Condition(name: rest[1].text, negated: word.text == "unless")
      rest.removeFirst(2)
    }
    var modules: [String] = []
    if let word = rest.first, word.text == "under" {
      guard rest.count >= 2 else { return error(.catalog.badGate, "`under` needs module names", span(lineNumber, word)) }
      modules = rest[1].text.split(separator: ",").map(String.init)
      if let bad = modules.first(where: { !["dummy", "silo", "flask"].contains($0) }) {
        return error(.catalog.badGate, "`\(bad)` is not a module (dummy, silo, flask)", span(lineNumber, rest[1]))
      }
      rest.removeFirst(2)
    }
    guard let source = sourceCitation(rest, lineNumber: lineNumber, after: errorWord) else { return }
    var whole = span(lineNumber, args[0])
    whole = whole.merged(with: span(lineNumber, errorWord))
    var gate = OpGate(stage: stage, requirement: requirement, domains: domains, error: errorWord.text,
      condition: condition, source: source, span: whole)
    gate.modules = modules
    entry.op.gates.append(gate)
  }

  /// `errno|status|entry|value VALUE at FILE FUNCTION`
  private mutating func parseDenial(
    _ args: [CatalogWord], into entry: inout ParsedOp, keySpan: SourceSpan, lineNumber: Int
  ) {
    guard args.count >= 2, let channel = OpDenial.Channel(rawValue: args[0].text) else {
      let names = OpDenial.Channel.allCases.map(\.rawValue).joined(separator: " ")
      return error(.catalog.badDenial, "a denial is written `denial CHANNEL VALUE at FILE FUNCTION`",
        args.first.map { span(lineNumber, $0) } ?? keySpan, help: "channels: \(names)")
    }
    if channel == .errno && !Self.isErrorName(args[1].text) {
      return error(.catalog.badDenial, "`\(args[1].text)` is not an error such as `-EPERM`", span(lineNumber, args[1]))
    }
    var rest = Array(args.dropFirst(2))
    var party: String?
    if let word = rest.first, word.text == "naming" {
      guard rest.count >= 2, Endpoint.kinds[rest[1].text] == .domain else {
        return error(.catalog.badDenial, "`naming` needs a party of the op's checks", span(lineNumber, word))
      }
      party = rest[1].text
      rest.removeFirst(2)
    }
    guard let source = sourceCitation(rest, lineNumber: lineNumber, after: args[1]) else { return }
    var denial = OpDenial(channel: channel, value: args[1].text, source: source,
      span: span(lineNumber, args[0]).merged(with: span(lineNumber, args[1])))
    denial.party = party
    entry.op.denial.append(denial)
  }

  /// A word outside its vocabulary: an error with did-you-mean, or the list of words.
  private mutating func unknownWord(_ id: DiagnosticID, _ what: String, _ word: CatalogWord, _ lineNumber: Int,
    _ names: [String])
  {
    let hint = Suggestion.closest(to: word.text, in: names).map { "did you mean `\($0)`?" }
    error(id, "unknown \(what) `\(word.text)`", span(lineNumber, word), help: hint ?? "one of: " + names.joined(separator: " "))
  }

  /// `at FILE FUNCTION [FUNCTION...]`: where in Xen's source a fact comes from.
  private mutating func sourceCitation(_ words: [CatalogWord], lineNumber: Int, after: CatalogWord) -> String? {
    guard words.count >= 3, words[0].text == "at", words[1].text.hasPrefix("xen/") || words[1].text.hasPrefix("tools/")
    else {
      error(.catalog.missingSource, "cite Xen's source: `at FILE FUNCTION`",
        words.first.map { span(lineNumber, $0) } ?? span(lineNumber, after),
        help: "for example `at xen/common/domctl.c do_domctl`")
      return nil
    }
    return words.dropFirst().map(\.text).joined(separator: " ")
  }

  /// `-EINVAL`, `-ESRCH|-EPERM` (control domain | anyone else), or `0`
  /// (Xen returns success at once, without the hook).
  static func isErrorName(_ s: String) -> Bool {
    if s == "0" { return true }
    return s.split(separator: "|", omittingEmptySubsequences: false).allSatisfy { e in
      e.hasPrefix("-E") && e.count > 2 && e.dropFirst().allSatisfy { $0.isUppercase || $0.isNumber }
    } && s.split(separator: "|").count <= 2
  }

  // MARK: Checks and dummy steps

  /// `CLASS:PERM[+PERM] SUBJECT -> OBJECT [if|unless COND] [intended CLASS:PERM]`
  private mutating func parseCheck(_ args: [CatalogWord], keySpan: SourceSpan, lineNumber: Int) -> FlaskCheck? {
    guard args.count >= 4, args[2].text == "->" else {
      error(.catalog.badCheck, "a check is written `CLASS:PERM SUBJECT -> OBJECT`",
        args.isEmpty ? keySpan : span(lineNumber, args[min(2, args.count - 1)]),
        help: "for example `check domain:pause current -> target`")
      return nil
    }
    let spec = args[0]
    let parts = spec.text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
      error(.catalog.badCheck, "`\(spec.text)` is not `CLASS:PERM`", span(lineNumber, spec))
      return nil
    }
    let permissions = parts[1].split(separator: "+", omittingEmptySubsequences: false).map(String.init)
    if permissions.contains(where: \.isEmpty) {
      error(.catalog.badCheck, "an empty permission in `\(spec.text)`", span(lineNumber, spec))
      return nil
    }
    guard let subject = endpoint(args[1], lineNumber, domainOnly: false),
      let object = endpoint(args[3], lineNumber, domainOnly: false)
    else { return nil }
    var rest = Array(args.dropFirst(4))
    var condition: Condition?
    var intended: Permission?
    while let word = rest.first {
      rest.removeFirst()
      switch word.text {
      case "if", "unless":
        guard let c = rest.first, Self.isConditionName(c.text) else {
          error(.catalog.badCondition, "`\(word.text)` needs a condition word", span(lineNumber, rest.first ?? word),
            help: "conditions are lower-case words such as `writable` or `revoke`")
          return nil
        }
        rest.removeFirst()
        condition = Condition(name: c.text, negated: word.text == "unless")
      case "intended":
        guard let p = rest.first, let permission = Permission(p.text) else {
          error(.catalog.badCheck, "`intended` needs `CLASS:PERM`", span(lineNumber, rest.first ?? word))
          return nil
        }
        rest.removeFirst()
        intended = permission
      default:
        error(.catalog.badCheck, "unexpected `\(word.text)` after the object", span(lineNumber, word),
          help: "a check may end with `if COND`, `unless COND` or `intended CLASS:PERM`")
        return nil
      }
    }
    let whole = span(lineNumber, args[0]).merged(with: span(lineNumber, args[3]))
    return FlaskCheck(
      securityClass: String(parts[0]), permissions: permissions, subject: subject, object: object,
      condition: condition, intended: intended, span: whole)
  }

  /// `ACTION [SUBJECT -> OBJECT] [if|unless COND]`
  private mutating func parseDummy(_ args: [CatalogWord], keySpan: SourceSpan, lineNumber: Int) -> DummyStep? {
    guard let first = args.first else {
      missing("dummy", keySpan, "an action such as `XSM_PRIV`")
      return nil
    }
    var text = first.text
    var other = false
    if text.hasPrefix("XSM_OTHER=") {
      other = true
      text = String(text.dropFirst("XSM_OTHER=".count))
    }
    guard let action = DummyAction(rawValue: text) else {
      let names = DummyAction.allCases.map(\.rawValue)
      let hint = Suggestion.closest(to: text, in: names).map { "did you mean `\($0)`?" }
      error(.catalog.badDummy, "unknown dummy action `\(first.text)`", span(lineNumber, first),
        help: hint ?? "actions: " + names.joined(separator: " ") + ", or `XSM_OTHER=ACTION`")
      return nil
    }
    var step = DummyStep(action: action, other: other)
    var rest = Array(args.dropFirst())
    if rest.count >= 3 && rest[1].text == "->" {
      guard let s = endpoint(rest[0], lineNumber, domainOnly: false),
        let o = endpoint(rest[2], lineNumber, domainOnly: false)
      else { return nil }
      step.subject = s
      step.object = o
      rest.removeFirst(3)
    }
    if let word = rest.first {
      guard (word.text == "if" || word.text == "unless"), rest.count == 2, Self.isConditionName(rest[1].text) else {
        error(.catalog.badDummy, "unexpected `\(word.text)` in a dummy step", span(lineNumber, word),
          help: "a step is `ACTION [SUBJECT -> OBJECT] [if|unless COND]`")
        return nil
      }
      step.condition = Condition(name: rest[1].text, negated: word.text == "unless")
    }
    return step
  }

  private mutating func endpoint(_ word: CatalogWord, _ lineNumber: Int, domainOnly: Bool) -> Endpoint? {
    var name = word.text
    var raw = false
    if name.hasSuffix("(raw)") {
      raw = true
      name = String(name.dropLast("(raw)".count))
    }
    guard let kind = Endpoint.kinds[name], !domainOnly || kind == .domain else {
      let allowed = domainOnly ? Endpoint.domainNames : Endpoint.allNames
      let hint = Suggestion.closest(to: name, in: allowed).map { "did you mean `\($0)`?" }
      error(.catalog.unknownEndpoint, "unknown \(domainOnly ? "domain" : "subject or object") `\(name)`",
        span(lineNumber, word), help: hint ?? "see the subjects and objects in docs/catalog-format.md")
      return nil
    }
    return Endpoint(name, raw: raw)
  }

  // MARK: Blocks

  private mutating func finishBlock() {
    if let op = currentOp { ops.append(op) }
    if let layout = currentLayout.take() { finishLayout(layout) }
    if let rule = currentCoverage {
      if rule.reason.isEmpty {
        error(.catalog.missingKey, "`\(rule.kind.rawValue) \(rule.pattern)` has no `summary` giving the reason",
          rule.span)
      }
      coverage.append(rule)
    }
    currentOp = nil
    currentCoverage = nil
  }

  // MARK: Helpers

  private mutating func one(
    _ args: [CatalogWord], _ key: String, _ lineNumber: Int, _ keySpan: SourceSpan, what: String
  ) -> CatalogWord? {
    guard let first = args.first else {
      missing(key, keySpan, what)
      return nil
    }
    if args.count > 1 { extra(args[1], lineNumber) }
    return first
  }

  private mutating func missing(_ key: String, _ at: SourceSpan, _ what: String) {
    error(.catalog.missingArgument, "`\(key)` needs \(what)", at)
  }

  private mutating func extra(_ word: CatalogWord, _ lineNumber: Int) {
    error(.catalog.extraArgument, "unexpected `\(word.text)`", span(lineNumber, word))
  }

  mutating func error(_ id: DiagnosticID, _ message: String, _ at: SourceSpan, help: String? = nil) {
    diagnostics.append(Diagnostic(id, .error, message, span: at, help: help))
  }

  func span(_ line: Int, _ word: CatalogWord) -> SourceSpan {
    SourceSpan(file: file, line: line, column: word.column, endColumn: word.column + word.text.count)
  }

  private func restOfLine(_ line: String, after keyword: CatalogWord) -> String {
    // The keyword is the line's first word, so the text starts at its first occurrence.
    guard let range = line.range(of: keyword.text) else { return "" }
    return String(line[range.upperBound...]).trimmingWhitespace()
  }

  /// The words of a line, split on spaces and tabs, with 1-based columns
  /// (counted in Unicode scalars; the catalog is ASCII in practice). Works on
  /// UTF-8 bytes: the catalog has thousands of lines and tools load it on
  /// every run.
  static func words(of line: String) -> [CatalogWord] {
    var words: [CatalogWord] = []
    let bytes = line.utf8
    var column = 0
    var start: String.Index?
    var startColumn = 0
    var index = bytes.startIndex
    while index < bytes.endIndex {
      let byte = bytes[index]
      let isContinuation = byte & 0xC0 == 0x80
      if !isContinuation { column += 1 }
      if byte == 0x20 || byte == 0x09 || byte == 0x0D {
        if let s = start {
          words.append(CatalogWord(text: String(line[s..<index]), column: startColumn))
          start = nil
        }
      } else if start == nil {
        start = index
        startColumn = column
      }
      index = bytes.index(after: index)
    }
    if let s = start { words.append(CatalogWord(text: String(line[s...]), column: startColumn)) }
    // A comment ends the line, except in text keys where `#` is prose.
    if let first = words.first, !textKeys.contains(first.text),
      let hash = words.firstIndex(where: { $0.text.hasPrefix("#") })
    {
      words.removeSubrange(hash...)
    }
    return words
  }

  static func isOpName(_ s: String) -> Bool {
    s.first?.isLetter == true && s.last != "." && !s.contains("..")
      && s.allSatisfy { ($0.isLetter && $0.isASCII) || $0.isNumber || $0 == "_" || $0 == "." }
  }

  static func isConditionName(_ s: String) -> Bool {
    !s.isEmpty && s.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
  }

  static func number(_ s: String) -> Int? {
    if s.hasPrefix("0x") { return Int(s.dropFirst(2), radix: 16) }
    return Int(s)
  }

  static func numberRange(_ s: String) -> (Int, Int)? {
    if let r = s.range(of: "..") {
      guard let lo = number(String(s[..<r.lowerBound])), let hi = number(String(s[r.upperBound...])), lo <= hi
      else { return nil }
      return (lo, hi)
    }
    return number(s).map { ($0, $0) }
  }
}

extension String {
  func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
    return String(s)
  }
}
