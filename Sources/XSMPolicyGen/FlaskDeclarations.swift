/// The class, permission and initial-SID names declared by a Xen FLASK preamble: the
/// concatenation of `security_classes`, `initial_sids` and `access_vectors` that starts every
/// `policy.conf`.
///
/// This is a tolerant scanner, not a policy parser: it understands `class NAME`,
/// `class NAME [inherits COMMON] { perm ... }`, `common NAME { perm ... }` and `sid NAME`
/// (a `sid NAME CONTEXT` line is recognised and skipped), ignores `#` comments and anything else.
/// The generator uses it to learn which permissions exist instead of embedding the hypervisor's
/// class list.
public struct FlaskDeclarations: Sendable, Equatable {
  /// Classes in declaration order (first appearance of `class NAME`).
  public private(set) var classes: [String] = []
  /// Permissions of each class in bit order, common permissions first.
  public private(set) var permissions: [String: [String]] = [:]
  /// Initial SID names in declaration order.
  public private(set) var initialSIDs: [String] = []

  /// Scans `preamble` for declarations.
  public init(parsing preamble: String) {
    let tokens = Self.tokenize(preamble)
    var commons: [String: [String]] = [:]
    var i = 0

    func braceList(from start: Int) -> (names: [String], next: Int) {
      // tokens[start] == "{"
      var names: [String] = []
      var j = start + 1
      while j < tokens.count, tokens[j] != "}" {
        if tokens[j] != "," && tokens[j] != ";" { names.append(tokens[j]) }
        j += 1
      }
      return (names, min(j + 1, tokens.count))
    }

    while i < tokens.count {
      let tok = tokens[i]
      switch tok {
      case "common" where i + 2 < tokens.count && tokens[i + 2] == "{":
        let (names, next) = braceList(from: i + 2)
        commons[tokens[i + 1]] = names
        i = next
      case "class" where i + 1 < tokens.count:
        let name = tokens[i + 1]
        if !classes.contains(name) { classes.append(name) }
        var j = i + 2
        var perms: [String] = []
        var hasBody = false
        if j + 1 < tokens.count, tokens[j] == "inherits" {
          perms += commons[tokens[j + 1]] ?? []
          hasBody = true
          j += 2
        }
        if j < tokens.count, tokens[j] == "{" {
          let (names, next) = braceList(from: j)
          perms += names
          hasBody = true
          j = next
        }
        if hasBody { permissions[name, default: []] += perms }
        i = j
      case "sid" where i + 1 < tokens.count:
        let name = tokens[i + 1]
        var j = i + 2
        // `sid NAME user:role:type` is a context line, not a declaration.
        if j < tokens.count, tokens[j].contains(":") {
          j += 1
        } else if !initialSIDs.contains(name) {
          initialSIDs.append(name)
        }
        i = j
      default:
        i += 1
      }
    }
  }

  /// Whether `permission` is declared in `cls`.
  public func has(_ cls: String, _ permission: String) -> Bool {
    permissions[cls]?.contains(permission) ?? false
  }

  /// Splits into words (letters, digits, `_ . - :`) and single-character punctuation, dropping
  /// `#` comments.
  static func tokenize(_ text: String) -> [String] {
    var tokens: [String] = []
    var word: [UInt8] = []
    var inComment = false
    func flush() {
      if !word.isEmpty {
        tokens.append(String(decoding: word, as: UTF8.self))
        word.removeAll(keepingCapacity: true)
      }
    }
    for byte in text.utf8 {
      if inComment {
        if byte == UInt8(ascii: "\n") { inComment = false }
        continue
      }
      switch byte {
      case UInt8(ascii: "#"):
        flush()
        inComment = true
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "-"), UInt8(ascii: ":"):
        word.append(byte)
      case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","), UInt8(ascii: ";"):
        flush()
        tokens.append(String(decoding: [byte], as: UTF8.self))
      default:
        flush()
      }
    }
    flush()
    return tokens
  }
}
