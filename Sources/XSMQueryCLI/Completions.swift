import ArgumentParser
import XSMCatalog
import XSMEngine

/// What the shell completes for xsmq's words (the closures of
/// `CompletionKind.custom`, run by the completion scripts as
/// `xsmq ---completion ...`): op names and aliases from the built-in
/// catalog, and the domains of the host the command line (or XSMQ_SYSTEM,
/// or the config file) names.
enum Completions {
  /// Ops and aliases starting with `prefix`; just the families (`domctl.`)
  /// while no dot is typed and many ops would match.
  static func ops(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    guard let catalog = EmbeddedCatalog.load().0 else { return [] }
    let names = catalog.ops.flatMap { [$0.name] + $0.aliases }.filter { $0.hasPrefix(prefix) }
    if !prefix.contains("."), names.count > 40 {
      return Array(Set(names.compactMap { $0.split(separator: ".").first.map { $0 + "." } })).sorted()
    }
    return names.sorted()
  }

  /// Names and `domN` of the host's domains starting with `prefix`.
  static func domains(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
    let flag = words.firstIndex(of: "--system").flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
    let domains = SystemFile.load(pathOrDefault: flag ?? (try? ClientDefaults.current.get())?.system).0?.domains ?? []
    return (domains.map(\.name) + domains.map { "dom\($0.domid)" }).filter { $0.hasPrefix(prefix) }
  }
}
