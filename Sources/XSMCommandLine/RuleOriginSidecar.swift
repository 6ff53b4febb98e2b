import Foundation
import Synchronization
import XSMBuild
import XSMDiagnostics
import XSMEngine
import XSMPolicy

/// The rule-origin map stored beside a binary policy: `xsmc build --origins`
/// writes `OUTPUT.origins.json` (a `RuleOriginMap` as JSON, format
/// `xsmtools-rule-origins` version 1, with the source it was built from and
/// the SHA-256 of the binary), and xsmq reads it when a host names the
/// binary. A map written for another binary or in another version is refused
/// with a note, never used.
public enum RuleOriginSidecar {
  /// Where the map of the binary at `binaryPath` is stored.
  public static func path(besideBinaryAt binaryPath: String) -> String { binaryPath + ".origins.json" }

  /// The file's bytes: `map` for `binary`, as JSON (`OutputFile` writes them beside the binary).
  public static func encode(_ map: RuleOriginMap, for binary: [UInt8]) throws -> [UInt8] {
    var stored = map
    stored.binaryDigest = sha256Hex(binary)
    let encoder = JSONStyle.encoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(stored)) + [UInt8(ascii: "\n")]
  }

  /// Writes `map` for `binary` beside `binaryPath`.
  public static func write(_ map: RuleOriginMap, for binary: [UInt8], besideBinaryAt binaryPath: String) throws {
    try OutputFile.write(try encode(map, for: binary), to: path(besideBinaryAt: binaryPath))
  }

  /// The source rules of the binary at `binaryPath` (whose bytes are
  /// `binary`), from the map beside it; a note when there is none or it does not fit.
  public static func ruleSources(besideBinaryAt binaryPath: String, binary: [UInt8]) -> RuleSources {
    let sidecar = path(besideBinaryAt: binaryPath)
    guard let data = FileManager.default.contents(atPath: sidecar) else { return .binaryWithoutMap }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    struct Header: Decodable {
      var format: String?
      var version: Int?
    }
    guard let header = try? decoder.decode(Header.self, from: data), header.format == RuleOriginMap.formatName else {
      return .none("no source map: `\(sidecar)` is not a rule-origin map; rebuild with xsmc build --origins")
    }
    guard header.version == RuleOriginMap.currentVersion else {
      return .none("no source map: `\(sidecar)` is version \(header.version.map(String.init) ?? "?"), this xsmq reads "
        + "version \(RuleOriginMap.currentVersion); rebuild with xsmc build --origins")
    }
    guard let map = try? decoder.decode(RuleOriginMap.self, from: data) else {
      return .none("no source map: `\(sidecar)` cannot be read; rebuild with xsmc build --origins")
    }
    guard map.binaryDigest == sha256Hex(binary) else {
      return .none("no source map: `\(sidecar)` was written for another binary (built from \(map.source)), "
        + "so it is stale; rebuild with xsmc build --origins")
    }
    return RuleSources(lookup: { source, target, className, permission, booleans in
      map.citations(source: source, target: target, className: className, permission: permission, booleans: booleans)
    })
  }

  /// The source rules of a tree or policy.conf, mapped by running the front
  /// end again in this process the first time a rule is looked up.
  public static func ruleSources(ofSourceAt path: String, mls: Bool) -> RuleSources {
    let map = LazyRuleOriginMap(path: path, mls: mls)
    return RuleSources(lookup: { source, target, className, permission, booleans in
      map.value?.citations(source: source, target: target, className: className, permission: permission,
        booleans: booleans) ?? RuleCitations()
    })
  }
}

/// A rule-origin map built on first use.
final class LazyRuleOriginMap: Sendable {
  private let path: String
  private let mls: Bool
  private let built = Mutex<RuleOriginMap??>(nil)

  init(path: String, mls: Bool) {
    self.path = path
    self.mls = mls
  }

  var value: RuleOriginMap? {
    built.withLock { built in
      if let built { return built }
      let frontend = PolicyFrontend.run(.path(path), options: BuildOptions.forPolicy(at: path, mls: mls).checkOptions, lower: false)
      let map = RuleOriginMap(frontend, source: path)
      built = .some(map)
      return map
    }
  }
}
