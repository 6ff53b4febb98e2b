import Foundation

/// How the project writes JSON outside xsmd's wire (which `XSMProtocol`'s
/// `WireJSON` fixes): pretty-printed, keys sorted and in snake_case, slashes
/// unescaped, so the same value is always the same bytes. Every `--json`
/// output and the JSON diagnostics use it.
public enum JSONStyle {
  /// A new encoder in this style.
  public static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return encoder
  }
}
