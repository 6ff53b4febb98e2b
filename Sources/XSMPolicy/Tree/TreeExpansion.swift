import CProcessControl
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
    // The scratch directory and its files are removed on SIGINT/SIGTERM too (`xsm_cleanup_install_handlers`).
    var cleanupSlots: [Int32] = []
    defer {
      if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
      for slot in cleanupSlots { xsm_cleanup_forget(1, slot) }
    }
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
          if scratch == nil {
            scratch = try Self.makeScratchDirectory()
            cleanupSlots.append(xsm_cleanup_remember_file(scratch!))
          }
          let file = scratch! + "/" + (input.path as NSString).lastPathComponent
          cleanupSlots.append(xsm_cleanup_remember_file(file))
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

  /// Runs m4 once, within `m4Limits`; its complaints (`m4:FILE:LINE: message`)
  /// are located at the original file and line.
  private func runM4(_ m4Path: String, _ arguments: [String], aliases: [String: LineOrigins]) -> (String?, [Diagnostic]) {
    let result: ProcessRunner.Output
    do {
      result = try ProcessRunner.run(m4Path, m4Limits.shellRefusalDefinitions + arguments, limits: m4Limits.processLimits)
    } catch {
      return (nil, [Diagnostic(.tree.m4Failed, .error, "cannot run `m4`: \(error.localizedDescription)",
        help: "install it with `apt-get install m4`")])
    }
    var diagnostics: [Diagnostic] = []
    var ranOutOfMemory = false
    for line in result.errorText.split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
      if parts.count == 4, parts[0].hasSuffix("m4"), let number = Int(parts[2]) {
        let message = parts[3].trimmingCharacters(in: .whitespaces)
        let origin = SourceMap.origin(of: String(parts[1]), line: number, in: aliases)
        let span = SourceSpan(file: origin.file, line: origin.line, column: 1)
        if let refusal = shellRefusal(message, span: span) {
          diagnostics.append(refusal)
          continue
        }
        let isWarning = message.lowercased().hasPrefix("warning")
        diagnostics.append(Diagnostic(.tree.m4, isWarning ? .warning : .error, "m4: \(message)", span: span))
      } else if line.hasSuffix("memory exhausted") {
        ranOutOfMemory = true
      } else if !m4Limits.allowsShell && line.hasSuffix("subprocess failed: Operation not permitted") {
        continue  // m4's second word on a refused shell command, after the located one
      } else {
        diagnostics.append(Diagnostic(.tree.m4, .error, "m4: \(line)"))
      }
    }
    if let limit = limitDiagnostic(result.stop, ranOutOfMemory: ranOutOfMemory) {
      return (nil, diagnostics.filter { $0.severity != .error } + [limit])
    }
    if result.status != 0 && !diagnostics.contains(where: { $0.severity == .error }) {
      diagnostics.append(Diagnostic(.tree.m4Failed, .error, "m4 exited with status \(result.status)"))
    }
    return (result.text, diagnostics)
  }

  /// The refusal of a shell builtin, from the refusing definition's message
  /// or (a call through `builtin`) from m4 failing to start the shell.
  private func shellRefusal(_ message: String, span: SourceSpan) -> Diagnostic? {
    guard !m4Limits.allowsShell else { return nil }
    let what: String
    if message.hasPrefix(M4Limits.refusalMarker) {
      what = "`\(message.dropFirst(M4Limits.refusalMarker.count))` runs a shell command"
    } else if message.hasPrefix("cannot run command ") {
      // A call through `builtin`, stopped by the seccomp filter.
      let command = message.dropFirst("cannot run command ".count).prefix { $0 != ":" }
      what = "this line runs the shell command \(command)"
    } else {
      return nil
    }
    return Diagnostic(.tree.m4ShellRefused, .error, "\(what) while the policy is built, which xsmc refuses", span: span,
      help: "pass `--allow-m4-shell` if the tree is yours and needs it: its commands then run with xsmc's permissions")
  }

  /// The error for a limit that stopped m4, naming the limit and how to raise it.
  private func limitDiagnostic(_ stop: ProcessRunner.Stop?, ranOutOfMemory: Bool) -> Diagnostic? {
    switch stop {
    case .timeLimit:
      return Diagnostic(.tree.m4TimeLimit, .error,
        "m4 ran for more than \(M4Limits.describe(seconds: m4Limits.time)) and was stopped",
        help: "a macro that expands to a call of itself never ends; if the tree is only slow to expand, "
          + "raise the limit with `--m4-time-limit SECONDS`")
    case .outputLimit:
      return Diagnostic(.tree.m4OutputLimit, .error,
        "m4 wrote more than \(M4Limits.describe(bytes: m4Limits.outputBytes)) and was stopped",
        help: "a macro whose expansion doubles its text grows without bound; if the policy is really that large, "
          + "raise the limit with `--m4-output-limit MIB`")
    case nil:
      guard ranOutOfMemory else { return nil }
      return Diagnostic(.tree.m4MemoryLimit, .error,
        "m4 ran out of memory at its limit of \(M4Limits.describe(bytes: m4Limits.memoryBytes))",
        help: "raise the limit with `--m4-memory-limit MIB`")
    }
  }
}
