import Foundation
import XSMDiagnostics

extension PolicyTree {
  /// Runs m4 over the tree's inputs as its layout's Makefile does and returns
  /// the policy.conf text, whose `#line` markers name the original files.
  /// Generated inputs are written to a temporary directory (removed before
  /// returning) and registered with `map`, so every location found in the
  /// text leads back to the file and line it came from. m4's own complaints
  /// become located diagnostics.
  public func expand(m4Path: String = "m4", map: SourceMap? = nil) -> (String?, [Diagnostic]) {
    var arguments = m4Options
    var aliases: [String: LineOrigins] = [:]
    var diagnostics: [Diagnostic] = []
    var scratch: String?
    defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
    for input in inputs {
      switch input.kind {
      case .file:
        arguments.append(input.path)
      case .generated, .interfaces:
        let display = TreePaths.join(directory, input.path)
        var text = input.text ?? ""
        if input.kind == .interfaces {
          // refpolicy: m4 $(M4SUPPORT) $(ALL_INTERFACES) | sed -e s/dollarsstar/\$$\*/g
          let (output, problems) = runM4(m4Path, input.passFiles ?? [], aliases: [:])
          diagnostics += problems
          guard let output, !problems.contains(where: { $0.severity == .error }) else { return (nil, diagnostics) }
          text = output.replacingOccurrences(of: "dollarsstar", with: "$*")
        }
        do {
          if scratch == nil { scratch = try Self.makeScratchDirectory() }
          let file = scratch! + "/" + (input.path as NSString).lastPathComponent
          try text.write(toFile: file, atomically: false, encoding: .utf8)
          arguments.append(file)
          if let origins = input.origins {
            aliases[file] = .lines(origins)
          } else {
            aliases[file] = .file(display)
            map?.register(file: display, text: text)
          }
        } catch {
          return (nil, diagnostics + [Diagnostic(.tree.m4Failed, .error,
            "cannot write m4's input `\(input.path)` to a temporary directory: \(error.localizedDescription)")])
        }
      }
    }
    for (file, origins) in aliases { map?.alias(file, to: origins) }
    let (output, problems) = runM4(m4Path, arguments, aliases: aliases)
    diagnostics += problems
    guard var text = output else { return (nil, diagnostics) }
    if !droppedLinePrefixes.isEmpty {
      // The Makefile's sed deletes these lines; blanking them keeps later line numbers right.
      text = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        droppedLinePrefixes.contains { line.hasPrefix($0) } ? "" : line
      }.joined(separator: "\n")
    }
    return (text, diagnostics)
  }

  /// The whole m4 command line, for `--explain-layout`.
  public var m4CommandLine: String {
    (["m4"] + m4Options + inputs.map { $0.kind == .file ? $0.path : TreePaths.join(directory, $0.path) })
      .joined(separator: " ")
  }

  private static func makeScratchDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "xsmc-m4-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Runs m4 once; its complaints (`m4:FILE:LINE: message`) are located at the
  /// original file and line.
  private func runM4(_ m4Path: String, _ arguments: [String], aliases: [String: LineOrigins]) -> (String?, [Diagnostic]) {
    let result: ProcessRunner.Output
    do {
      result = try ProcessRunner.run(m4Path, arguments)
    } catch {
      return (nil, [Diagnostic(.tree.m4Failed, .error, "cannot run `m4`: \(error.localizedDescription)",
        help: "install it with `apt-get install m4`")])
    }
    var diagnostics: [Diagnostic] = []
    for line in result.errorText.split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
      if parts.count == 4, parts[0].hasSuffix("m4"), let number = Int(parts[2]) {
        let message = parts[3].trimmingCharacters(in: .whitespaces)
        let isWarning = message.lowercased().hasPrefix("warning")
        let origin = SourceMap.origin(of: String(parts[1]), line: number, in: aliases)
        diagnostics.append(Diagnostic(.tree.m4, isWarning ? .warning : .error, "m4: \(message)",
          span: SourceSpan(file: origin.file, line: origin.line, column: 1)))
      } else {
        diagnostics.append(Diagnostic(.tree.m4, .error, "m4: \(line)"))
      }
    }
    if result.status != 0 && !diagnostics.contains(where: { $0.severity == .error }) {
      diagnostics.append(Diagnostic(.tree.m4Failed, .error, "m4 exited with status \(result.status)"))
    }
    return (result.text, diagnostics)
  }
}
