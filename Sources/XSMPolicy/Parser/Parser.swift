import XSMDiagnostics

/// Parses policy tokens into `PolicySyntax`, recording every syntax error
/// (not only the first) and recovering at the next statement.
///
/// The grammar is the SELinux policy language as Xen's policies use it after
/// m4: declarations, access-vector and type rules, conditionals,
/// constraints, MLS statements, initial SID contexts and Xen's ocontexts.
public struct Parser {
  /// Where tokens come from: the lexer, read as the parser goes (no token
  /// array), unless the tokens were given up front.
  private var lexer: Lexer
  private let readsLexer: Bool
  /// Tokens to read before asking the lexer again, the next one last: the
  /// tokens given up front, a token looked ahead at, and the pieces of a
  /// split MLS atom.
  private var pending: [Token]
  private var current: Token
  /// Where the token before `current` is, and its line in the text.
  private var previousSpan: SourceSpan
  private var previousOutputLine: Int
  /// How many tokens were consumed; tells whether recovery made progress.
  private var position = 0
  /// `if` blocks open around the statement being parsed.
  private var blockNesting = 0
  /// Parentheses open in the expression being parsed; after `parse.too-deep`
  /// the parser skips to where they close, so recovery starts balanced.
  private var openParentheses = 0
  public private(set) var diagnostics: [Diagnostic] = []

  public init(tokens: [Token]) {
    pending = tokens.reversed()
    if pending.first?.kind != .end {
      let last = tokens.last?.span ?? SourceSpan(file: "<input>", line: 1, column: 1)
      pending.insert(Token(kind: .end, text: "", span: last), at: 0)
    }
    current = pending.removeLast()
    previousSpan = current.span
    previousOutputLine = current.outputLine
    lexer = Lexer(text: "", file: current.span.file, map: SourceMap(primaryFile: current.span.file))
    readsLexer = false
  }

  private init(lexer: Lexer) {
    self.lexer = lexer
    readsLexer = true
    pending = []
    current = self.lexer.next()
    previousSpan = current.span
    previousOutputLine = current.outputLine
  }

  /// Lexes and parses `text`; diagnostics from both steps are returned with the tree.
  /// `macros` places the tokens of macro expansions in the macro bodies that hold them.
  public static func parse(
    text: String, file: String, map: SourceMap, macros: MacroExpansionMap? = nil
  ) -> (PolicySyntax, [Diagnostic]) {
    var parser = Parser(lexer: Lexer(text: text, file: file, map: map, macros: macros))
    let syntax = parser.parsePolicy()
    return (syntax, parser.lexer.diagnostics + parser.diagnostics)
  }

  struct Failure: Error {}

  // MARK: Token access

  /// The token after `current`.
  private mutating func peekNext() -> Token {
    if let next = pending.last { return next }
    guard current.kind != .end, readsLexer else { return current }
    let next = lexer.next()
    pending.append(next)
    return next
  }
  @discardableResult
  private mutating func advance() -> Token {
    let token = current
    guard token.kind != .end else { return token }
    previousSpan = token.span
    previousOutputLine = token.outputLine
    if let next = pending.popLast() {
      current = next
    } else if readsLexer {
      current = lexer.next()
    }
    position += 1
    return token
  }

  private mutating func fail(_ id: DiagnosticID, _ message: String, at span: SourceSpan, label: String? = nil, help: String? = nil) -> Failure {
    diagnostics.append(Diagnostic(id, .error, message, span: span, label: label, help: help))
    return Failure()
  }

  private func describe(_ token: Token) -> String {
    switch token.kind {
    case .end: "end of input"
    case .string: "string \(token.text)"
    default: "`\(token.text)`"
    }
  }

  private mutating func expect(_ punct: Punctuation, _ context: String) throws(Failure) {
    if current.isPunct(punct) {
      advance()
      return
    }
    throw fail(.parse.expectedToken, "expected `\(punct.text)` \(context), found \(describe(current))",
      at: punct == .semicolon ? missingSemicolonSpan : current.span, label: "expected `\(punct.text)`")
  }

  /// Where a missing `;` belongs: just after the statement's last token when
  /// the next token is on a later line (or in another file), else at the next token.
  private var missingSemicolonSpan: SourceSpan {
    let previous = previousSpan
    let next = current.span
    guard position > 0,
      current.kind == .end || current.outputLine > previousOutputLine || next.file != previous.file
        || next.line > previous.endLine
    else { return next }
    guard previous.column > 0 else { return previous }
    return SourceSpan(file: previous.file, line: previous.endLine, column: previous.endColumn, endColumn: previous.endColumn + 1)
  }

  private mutating func expectWord(_ word: Keyword, _ context: String) throws(Failure) {
    if current.isWord(word) {
      advance()
      return
    }
    throw fail(.parse.expectedToken, "expected `\(word.spelling)` \(context), found \(describe(current))",
      at: current.span, label: "expected `\(word.spelling)`")
  }

  private mutating func name(_ what: String) throws(Failure) -> Name {
    guard current.kind == .identifier else {
      throw fail(.parse.expectedName, "expected \(what), found \(describe(current))", at: current.span,
        label: "expected \(what)")
    }
    let token = advance()
    return Name(token.text, span: token.span)
  }

  private mutating func optionalSemicolon() {
    if current.isPunct(.semicolon) { advance() }
  }

  // MARK: Nesting limits

  /// The deepest a conditional or constraint expression may nest: each `(`,
  /// `!`/`not` and operator adds a level (a chain `a && b && c` is two deep).
  /// libsepol's CIL parser stops at 4096 open parentheses and checkpolicy's
  /// at about 10,000; this keeps the lowered CIL far below the first and
  /// every walk over the tree shallow. Real policies nest a few levels.
  public static let maximumExpressionDepth = 256
  /// The deepest `if` blocks may nest. Any nesting is an error
  /// (`check.statement-in-conditional`); past this the parser stops descending.
  public static let maximumBlockDepth = 8

  /// Fails with `parse.too-deep` at `span` when `depth` passes `limit`, first
  /// skipping the parentheses still open so recovery starts at the statement's level.
  private mutating func checkDepth(_ depth: Int, limit: Int, at span: SourceSpan, _ what: String) throws(Failure) {
    guard depth > limit else { return }
    let failure = fail(.parse.tooDeep, "\(what) nests deeper than \(limit) levels", at: span,
      label: "level \(limit + 1)", help: "split it up; xsmc stops here so that nothing it accepts overflows its stack or libsepol's limits")
    var unclosed = openParentheses
    var inner = 0
    while unclosed > 0 && current.kind != .end && !current.isPunct(.semicolon) {
      if current.isPunct(.openParen) { inner += 1 }
      if current.isPunct(.closeParen) {
        if inner == 0 { unclosed -= 1 } else { inner -= 1 }
      }
      advance()
    }
    openParentheses = 0
    throw failure
  }

  // MARK: Statements

  static let statementKeywords: Set<String> = [
    "class", "common", "sid", "type", "typealias", "attribute", "typeattribute", "permissive", "typebounds",
    "role", "allow", "auditallow", "dontaudit", "neverallow", "type_transition", "type_member", "type_change",
    "user", "bool", "policycap", "if", "constrain", "validatetrans", "mlsconstrain", "mlsvalidatetrans",
    "sensitivity", "dominance", "category", "pirqcon", "iomemcon", "ioportcon", "pcidevicecon", "devicetreecon",
  ]

  static let unsupportedForXen: Set<String> = [
    "portcon", "netifcon", "nodecon", "fs_use_xattr", "fs_use_task", "fs_use_trans", "genfscon", "ibpkeycon",
    "ibendportcon", "range_transition", "role_transition", "default_user", "default_role", "default_type",
    "default_range", "attribute_role", "roleattribute", "neverallowxperm", "allowxperm", "auditallowxperm",
    "dontauditxperm", "expandattribute", "typeattribute_role",
  ]

  /// Parses the whole token stream.
  public mutating func parsePolicy() -> PolicySyntax {
    PolicySyntax(statements: parseStatements(untilBrace: false))
  }

  private mutating func parseStatements(untilBrace: Bool) -> [Statement] {
    var statements: [Statement] = []
    while current.kind != .end {
      if untilBrace && current.isPunct(.closeBrace) { break }
      let start = position
      do {
        if let statement = try parseStatement() { statements.append(statement) }
      } catch {
        recover(from: start)
      }
    }
    return statements.trimmed()
  }

  /// Skips to just after the next `;` at this nesting level, or to the next
  /// statement keyword, so one mistake yields one diagnostic.
  private mutating func recover(from start: Int) {
    if position == start { advance() }
    var depth = 0
    while current.kind != .end {
      if current.isPunct(.openBrace) || current.isPunct(.openParen) { depth += 1 }
      if current.isPunct(.closeBrace) || current.isPunct(.closeParen) {
        if depth == 0 { return }
        depth -= 1
      }
      if current.isPunct(.semicolon) && depth == 0 {
        advance()
        return
      }
      if depth == 0 && current.keyword.startsStatement && current.keyword != .type {
        return
      }
      advance()
    }
  }

  private mutating func parseStatement() throws(Failure) -> Statement? {
    let token = current
    let start = token.span
    guard token.kind == .identifier else {
      if token.isPunct(.semicolon) {
        advance()
        return nil
      }
      throw fail(.parse.expectedStatement, "expected a statement, found \(describe(token))", at: token.span,
        label: "a statement starts with a keyword such as `allow` or `type`")
    }
    func done(_ kind: Statement.Kind) -> Statement {
      Statement(kind, span: start.merged(with: previousSpan), outputLine: token.outputLine)
    }
    switch token.keyword {
    case .class:
      advance()
      let className = try name("a class name")
      if current.isWord(.inherits) {
        advance()
        let common = try name("a common name")
        var permissions: [Name] = []
        if current.isPunct(.openBrace) { permissions = try braceList("a permission") }
        return done(.accessVector(class: className, common: common, permissions: permissions))
      }
      if current.isPunct(.openBrace) {
        let permissions = try braceList("a permission")
        return done(.accessVector(class: className, common: nil, permissions: permissions))
      }
      optionalSemicolon()
      return done(.classDeclaration(className))
    case .common:
      advance()
      let commonName = try name("a common name")
      let permissions = try braceList("a permission")
      return done(.common(commonName, permissions: permissions))
    case .sid:
      advance()
      let sidName = try name("an initial SID name")
      if current.kind == .identifier && peekNext().isPunct(.colon) {
        let context = try parseContext()
        optionalSemicolon()
        return done(.sidContext(sidName, context))
      }
      optionalSemicolon()
      return done(.sidDeclaration(sidName))
    case .type:
      advance()
      let typeName = try name("a type name")
      var aliases: [Name] = []
      var attributes: [Name] = []
      if current.isWord(.alias) {
        advance()
        aliases = try nameOrBraceList("an alias name")
      }
      while current.isPunct(.comma) {
        advance()
        attributes.append(try name("an attribute name"))
      }
      try expect(.semicolon, "after the type declaration")
      return done(.type(typeName, aliases: aliases, attributes: attributes))
    case .typealias:
      advance()
      let typeName = try name("a type name")
      try expectWord(.alias, "in `typealias`")
      let aliases = try nameOrBraceList("an alias name")
      try expect(.semicolon, "after `typealias`")
      return done(.typeAlias(typeName, aliases: aliases))
    case .attribute:
      advance()
      let attributeName = try name("an attribute name")
      try expect(.semicolon, "after the attribute declaration")
      return done(.attribute(attributeName))
    case .typeattribute:
      advance()
      let typeName = try name("a type name")
      let attributes = try commaList("an attribute name")
      try expect(.semicolon, "after `typeattribute`")
      return done(.typeAttribute(typeName, attributes: attributes))
    case .permissive:
      advance()
      let typeName = try name("a type name")
      try expect(.semicolon, "after `permissive`")
      return done(.permissive(typeName))
    case .typebounds:
      advance()
      let parent = try name("a type name")
      let children = try commaList("a type name")
      try expect(.semicolon, "after `typebounds`")
      return done(.typeBounds(parent, children: children))
    case .role:
      advance()
      let roleName = try name("a role name")
      var types: NameSet?
      if current.isWord(.types) {
        advance()
        types = try nameSet("a type")
      }
      try expect(.semicolon, "after the role declaration")
      return done(.role(roleName, types: types))
    case .allow, .auditallow, .dontaudit, .neverallow:
      advance()
      let kind = AccessRuleKind(rawValue: token.text)!
      let source = try nameSet(kind == .allow ? "a type or role" : "a type")
      let target = try nameSet(kind == .allow ? "a type or role" : "a type")
      if kind == .allow && current.isPunct(.semicolon) {
        advance()
        return done(.roleAllow(source, target))
      }
      try expect(.colon, "between the target and the class")
      let classes = try nameSet("a class")
      let permissions = try nameSet("a permission")
      try expect(.semicolon, "after the rule")
      return done(.accessRule(kind, source: source, target: target, classes: classes, permissions: permissions))
    case .typeTransition, .typeMember, .typeChange:
      advance()
      let kind = TypeRuleKind(rawValue: token.text)!
      let source = try nameSet("a type")
      let target = try nameSet("a type")
      try expect(.colon, "between the target and the class")
      let classes = try nameSet("a class")
      let result = try name("the new type")
      if current.kind == .string {
        throw fail(.parse.unsupportedStatement, "name-based type transitions are not supported for target xen",
          at: current.span, label: "object names do not exist in Xen")
      }
      try expect(.semicolon, "after the rule")
      return done(.typeRule(kind, source: source, target: target, classes: classes, result: result))
    case .user:
      advance()
      let userName = try name("a user name")
      try expectWord(.roles, "in the user declaration")
      let roles = try nameSet("a role")
      var level: Level?
      var range: LevelRange?
      if current.isWord(.level) {
        advance()
        level = try parseLevel()
        try expectWord(.range, "after the user's level")
        range = try parseRange()
      }
      try expect(.semicolon, "after the user declaration")
      return done(.user(userName, roles: roles, level: level, range: range))
    case .bool:
      advance()
      let booleanName = try name("a boolean name")
      let value: Bool
      if current.isWord(.true) {
        value = true
      } else if current.isWord(.false) {
        value = false
      } else {
        throw fail(.parse.expectedBooleanValue, "expected `true` or `false`, found \(describe(current))",
          at: current.span, label: "the default value")
      }
      advance()
      try expect(.semicolon, "after the boolean declaration")
      return done(.boolean(booleanName, value))
    case .policycap:
      advance()
      let capability = try name("a policy capability")
      try expect(.semicolon, "after `policycap`")
      return done(.policyCapability(capability))
    case .if:
      advance()
      try checkDepth(blockNesting + 1, limit: Self.maximumBlockDepth, at: token.span, "`if` block")
      try expect(.openParen, "after `if`")
      openParentheses = 1  // the condition's own
      let condition = try conditionalOr(nesting: 0).expression
      try expect(.closeParen, "to close the condition")
      openParentheses = 0
      blockNesting += 1
      defer { blockNesting -= 1 }
      let thenBranch = try block()
      var elseBranch: [Statement] = []
      if current.isWord(.else) {
        advance()
        elseBranch = try block()
      }
      return done(.conditional(condition, then: thenBranch, otherwise: elseBranch))
    case .constrain, .validatetrans, .mlsconstrain, .mlsvalidatetrans:
      advance()
      let kind = ConstraintKind(rawValue: token.text)!
      let classes = try nameSet("a class")
      let permissions = kind.hasPermissions ? try nameSet("a permission") : nil
      openParentheses = 0
      let expression = try constraintOr(nesting: 0).expression
      try expect(.semicolon, "after the constraint")
      return done(.constraint(kind, classes: classes, permissions: permissions, expression))
    case .sensitivity:
      advance()
      let sensitivity = try name("a sensitivity name")
      var aliases: [Name] = []
      if current.isWord(.alias) {
        advance()
        aliases = try nameOrBraceList("an alias name")
      }
      try expect(.semicolon, "after the sensitivity declaration")
      return done(.sensitivity(sensitivity, aliases: aliases))
    case .dominance:
      advance()
      let order = try nameOrBraceList("a sensitivity")
      optionalSemicolon()
      return done(.dominance(order))
    case .category:
      advance()
      let category = try name("a category name")
      var aliases: [Name] = []
      if current.isWord(.alias) {
        advance()
        aliases = try nameOrBraceList("an alias name")
      }
      try expect(.semicolon, "after the category declaration")
      return done(.category(category, aliases: aliases))
    case .level:
      advance()
      let level = try parseLevel()
      try expect(.semicolon, "after the level declaration")
      return done(.levelDeclaration(level))
    case .pirqcon, .iomemcon, .ioportcon, .pcidevicecon:
      advance()
      let kind = OcontextKind(rawValue: token.text)!
      let low = try number()
      var high = low
      if (kind == .iomemcon || kind == .ioportcon) && current.isPunct(.minus) {
        advance()
        let highToken = current
        high = try number()
        if high < low {
          throw fail(.parse.badRange, "range end \(high) is below its start \(low)", at: highToken.span,
            label: "must be at least \(low)")
        }
      }
      let context = try parseContext()
      optionalSemicolon()
      return done(.ocontext(kind, low: low, high: high, path: nil, context))
    case .devicetreecon:
      advance()
      guard current.kind == .string else {
        throw fail(.parse.expectedString, "expected a quoted device tree path, found \(describe(current))",
          at: current.span, label: "e.g. \"/soc/ethernet@ff0e0000\"")
      }
      let path = String(advance().text.dropFirst().dropLast())
      let context = try parseContext()
      optionalSemicolon()
      return done(.ocontext(.devicetreecon, low: 0, high: 0, path: path, context))
    default:
      if Self.unsupportedForXen.contains(token.text) {
        throw fail(.parse.unsupportedStatement, "`\(token.text)` is not supported for target xen", at: token.span,
          label: "Linux-only statement", help: "Xen policies label devices with pirqcon, iomemcon, ioportcon, pcidevicecon and devicetreecon")
      }
      let suggestion = Suggestion.closest(to: token.text, in: Self.statementKeywords)
      throw fail(.parse.unknownStatement, "unknown statement `\(token.text)`", at: token.span,
        label: "not a policy statement", help: suggestion.map { "did you mean `\($0)`?" })
    }
  }

  private mutating func block() throws(Failure) -> [Statement] {
    try expect(.openBrace, "to open the block")
    let statements = parseStatements(untilBrace: true)
    try expect(.closeBrace, "to close the block")
    return statements
  }

  private mutating func number() throws(Failure) -> UInt64 {
    guard current.kind == .number else {
      throw fail(.parse.expectedNumber, "expected a number, found \(describe(current))", at: current.span,
        label: "decimal or 0x hexadecimal")
    }
    let token = advance()
    let value: UInt64? =
      token.text.hasPrefix("0x") || token.text.hasPrefix("0X")
      ? UInt64(token.text.dropFirst(2), radix: 16) : UInt64(token.text)
    guard let value else {
      throw fail(.parse.badNumber, "`\(token.text)` is not a valid number", at: token.span,
        label: "decimal or 0x hexadecimal, at most 64 bits")
    }
    return value
  }

  // MARK: Lists and sets

  private mutating func braceList(_ what: String) throws(Failure) -> [Name] {
    try expect(.openBrace, "to open the list")
    var names: [Name] = []
    while !current.isPunct(.closeBrace) {
      names.append(try name(what))
      if current.isPunct(.comma) { advance() }
    }
    advance()
    if names.isEmpty {
      throw fail(.parse.emptyList, "empty list", at: previousSpan, label: "expected at least one \(what.dropFirst(what.hasPrefix("an ") ? 3 : 2))")
    }
    return names.trimmed()
  }

  private mutating func nameOrBraceList(_ what: String) throws(Failure) -> [Name] {
    current.isPunct(.openBrace) ? try braceList(what) : [try name(what)]
  }

  private mutating func commaList(_ what: String) throws(Failure) -> [Name] {
    var names = [try name(what)]
    while current.isPunct(.comma) {
      advance()
      names.append(try name(what))
    }
    return names.trimmed()
  }

  /// `name`, `*`, `~set`, or `{ a -b * }`.
  private mutating func nameSet(_ what: String) throws(Failure) -> NameSet {
    let start = current.span
    if current.isPunct(.star) {
      advance()
      return NameSet(star: true, span: start)
    }
    if current.isPunct(.tilde) {
      advance()
      // Fail before descending, so a run of `~` costs no stack.
      if current.isPunct(.tilde) {
        throw fail(.parse.doubleComplement, "a set cannot be complemented twice", at: start)
      }
      var inner = try nameSet(what)
      inner.complement = true
      inner.span = start.merged(with: inner.span)
      return inner
    }
    if current.isPunct(.openBrace) {
      advance()
      var set = NameSet(span: start)
      while !current.isPunct(.closeBrace) {
        if current.isPunct(.minus) {
          advance()
          set.excluded.append(try name(what))
        } else if current.isPunct(.star) {
          advance()
          set.star = true
        } else if current.kind == .identifier {
          set.included.append(try name(what))
        } else {
          throw fail(.parse.expectedName, "expected \(what), found \(describe(current))", at: current.span,
            label: current.kind == .end ? "the set is not closed" : "expected \(what)")
        }
        if current.isPunct(.comma) { advance() }
      }
      let close = advance()
      set.span = start.merged(with: close.span)
      set.included = set.included.trimmed()
      set.excluded = set.excluded.trimmed()
      if set.included.isEmpty && !set.star {
        throw fail(.parse.emptyList, "empty set", at: set.span,
          label: set.excluded.isEmpty ? "name at least one \(what.dropFirst(what.hasPrefix("an ") ? 3 : 2))" : "a set of only exclusions is empty")
      }
      return set
    }
    return NameSet(try name(what))
  }

  // MARK: Conditional expressions (if)

  /// An expression and the depth of its tree (a name or comparison is 0 deep).
  private struct Nested<Expression> {
    var expression: Expression
    var depth: Int
  }

  /// The node `combine(left, right)` one level above both, checked against the limit at `operatorSpan`.
  private mutating func joined<Expression>(
    _ left: Nested<Expression>, _ right: Nested<Expression>, at operatorSpan: SourceSpan, _ what: String,
    _ combine: (Expression, Expression) -> Expression
  ) throws(Failure) -> Nested<Expression> {
    let depth = max(left.depth, right.depth) + 1
    try checkDepth(depth, limit: Self.maximumExpressionDepth, at: operatorSpan, what)
    return Nested(expression: combine(left.expression, right.expression), depth: depth)
  }

  /// `nesting` counts the `(` and `!` around the expression being parsed.
  private mutating func conditionalOr(nesting: Int) throws(Failure) -> Nested<ConditionalExpression> {
    var left = try conditionalXor(nesting: nesting)
    while current.isPunct(.orOr) {
      let op = advance()
      left = try joined(left, try conditionalXor(nesting: nesting), at: op.span, "the condition", ConditionalExpression.or)
    }
    return left
  }
  private mutating func conditionalXor(nesting: Int) throws(Failure) -> Nested<ConditionalExpression> {
    var left = try conditionalAnd(nesting: nesting)
    while current.isPunct(.caret) {
      let op = advance()
      left = try joined(left, try conditionalAnd(nesting: nesting), at: op.span, "the condition", ConditionalExpression.xor)
    }
    return left
  }
  private mutating func conditionalAnd(nesting: Int) throws(Failure) -> Nested<ConditionalExpression> {
    var left = try conditionalEquality(nesting: nesting)
    while current.isPunct(.andAnd) {
      let op = advance()
      left = try joined(left, try conditionalEquality(nesting: nesting), at: op.span, "the condition", ConditionalExpression.and)
    }
    return left
  }
  private mutating func conditionalEquality(nesting: Int) throws(Failure) -> Nested<ConditionalExpression> {
    var left = try conditionalUnary(nesting: nesting)
    while current.isPunct(.equalEqual) || current.isPunct(.notEqual) {
      let op = advance()
      let right = try conditionalUnary(nesting: nesting)
      left = try joined(left, right, at: op.span, "the condition", op.text == "==" ? ConditionalExpression.equal : ConditionalExpression.notEqual)
    }
    return left
  }
  private mutating func conditionalUnary(nesting: Int) throws(Failure) -> Nested<ConditionalExpression> {
    if current.isPunct(.bang) {
      let bang = advance()
      try checkDepth(nesting + 1, limit: Self.maximumExpressionDepth, at: bang.span, "the condition")
      let inner = try conditionalUnary(nesting: nesting + 1)
      return Nested(expression: .not(inner.expression), depth: inner.depth + 1)
    }
    if current.isPunct(.openParen) {
      let open = advance()
      openParentheses += 1
      try checkDepth(nesting + 1, limit: Self.maximumExpressionDepth, at: open.span, "the condition")
      let inner = try conditionalOr(nesting: nesting + 1)
      try expect(.closeParen, "to close the parenthesis")
      openParentheses -= 1
      return inner
    }
    return Nested(expression: .boolean(try name("a boolean name")), depth: 0)
  }

  // MARK: Constraint expressions

  private mutating func constraintOr(nesting: Int) throws(Failure) -> Nested<ConstraintExpression> {
    var left = try constraintAnd(nesting: nesting)
    while current.isWord(.or) || current.isPunct(.orOr) {
      let op = advance()
      left = try joined(left, try constraintAnd(nesting: nesting), at: op.span, "the constraint", ConstraintExpression.or)
    }
    return left
  }
  private mutating func constraintAnd(nesting: Int) throws(Failure) -> Nested<ConstraintExpression> {
    var left = try constraintUnary(nesting: nesting)
    while current.isWord(.and) || current.isPunct(.andAnd) {
      let op = advance()
      left = try joined(left, try constraintUnary(nesting: nesting), at: op.span, "the constraint", ConstraintExpression.and)
    }
    return left
  }
  private mutating func constraintUnary(nesting: Int) throws(Failure) -> Nested<ConstraintExpression> {
    if current.isWord(.not) || current.isPunct(.bang) {
      let not = advance()
      try checkDepth(nesting + 1, limit: Self.maximumExpressionDepth, at: not.span, "the constraint")
      let inner = try constraintUnary(nesting: nesting + 1)
      return Nested(expression: .not(inner.expression), depth: inner.depth + 1)
    }
    if current.isPunct(.openParen) {
      let open = advance()
      openParentheses += 1
      try checkDepth(nesting + 1, limit: Self.maximumExpressionDepth, at: open.span, "the constraint")
      let inner = try constraintOr(nesting: nesting + 1)
      try expect(.closeParen, "to close the parenthesis")
      openParentheses -= 1
      return inner
    }
    let leftToken = current
    guard leftToken.kind == .identifier, let left = ConstraintOperand(rawValue: leftToken.text) else {
      throw fail(.parse.expectedConstraintOperand, "expected a constraint operand such as `u1`, `r2` or `t1`, found \(describe(leftToken))",
        at: leftToken.span, label: "expected u1, u2, u3, r1, r2, r3, t1, t2, t3, l1, l2, h1 or h2")
    }
    advance()
    let op: ConstraintExpression.Operator
    switch current.text {
    case "==", "eq": op = .equal
    case "!=", "neq": op = .notEqual
    case "dom": op = .dom
    case "domby": op = .domby
    case "incomp": op = .incomp
    default:
      throw fail(.parse.expectedConstraintOperator, "expected `==`, `!=`, `dom`, `domby` or `incomp`, found \(describe(current))",
        at: current.span)
    }
    advance()
    if current.kind == .identifier, let right = ConstraintOperand(rawValue: current.text) {
      let rightToken = advance()
      return Nested(expression: .compare(op, left, right, leftToken.span.merged(with: rightToken.span)), depth: 0)
    }
    let names = try nameSet("a name")
    return Nested(expression: .compareNames(op, left, names), depth: 0)
  }

  // MARK: Contexts and MLS

  /// `user:role:type[:range]`.
  private mutating func parseContext() throws(Failure) -> Context {
    let start = current.span
    let user = try name("a user in the context")
    try expect(.colon, "between user and role")
    let role = try name("a role in the context")
    try expect(.colon, "between role and type")
    let type = try name("a type in the context")
    var range: LevelRange?
    if current.isPunct(.colon) && current.outputLine == previousOutputLine {
      advance()
      range = try parseRange()
    }
    return Context(user: user, role: role, type: type, range: range, span: start.merged(with: previousSpan))
  }

  /// The next MLS atom: an identifier holding `.` or `-` is split in place
  /// into its pieces, so `c0.c255` and `s0-s15` parse like their spaced forms.
  private mutating func atom() -> Token {
    let token = current
    guard token.kind == .identifier, token.text.count > 1,
      token.text.contains(where: { $0 == "." || $0 == "-" })
    else { return token }
    var pieces: [Token] = []
    var column = token.span.column
    var piece = ""
    func flush() {
      if !piece.isEmpty {
        var span = token.span
        if span.column > 0 {
          span.column = column - piece.count
          span.endColumn = column
        }
        pieces.append(Token(kind: .identifier, text: piece, span: span, outputLine: token.outputLine))
        piece = ""
      }
    }
    for ch in token.text {
      if ch == "." || ch == "-" {
        flush()
        var span = token.span
        if span.column > 0 {
          span.column = column
          span.endColumn = column + 1
        }
        pieces.append(Token(kind: .punctuation, text: String(ch), span: span, outputLine: token.outputLine))
      } else {
        piece.append(ch)
      }
      column += 1
    }
    flush()
    current = pieces[0]
    pending.append(contentsOf: pieces.dropFirst().reversed())
    return current
  }

  private mutating func takeAtom() -> Token {
    _ = atom()
    return advance()
  }

  private mutating func atomName(_ what: String) throws(Failure) -> Name {
    let a = atom()
    guard a.kind == .identifier else {
      throw fail(.parse.expectedName, "expected \(what), found \(describe(a))", at: a.span, label: "expected \(what)")
    }
    let t = takeAtom()
    return Name(t.text, span: t.span)
  }

  /// `s0`, `s0:c0`, `s0:c0.c255,c300`.
  private mutating func parseLevel() throws(Failure) -> Level {
    let sensitivity = try atomName("a sensitivity")
    var categories: [Level.Categories] = []
    if atom().isPunct(.colon) {
      _ = takeAtom()
      repeat {
        if atom().isPunct(.comma) { _ = takeAtom() }
        let first = try atomName("a category")
        if atom().isPunct(.dot) {
          _ = takeAtom()
          categories.append(.range(first, try atomName("the last category of the range")))
        } else {
          categories.append(.single(first))
        }
      } while atom().isPunct(.comma)
    }
    return Level(sensitivity: sensitivity, categories: categories)
  }

  /// `low[-high]`.
  private mutating func parseRange() throws(Failure) -> LevelRange {
    let low = try parseLevel()
    if atom().isPunct(.minus) {
      _ = takeAtom()
      return LevelRange(low: low, high: try parseLevel())
    }
    return LevelRange(low: low, high: low)
  }
}
