import ArgumentParser
import Foundation
import XSMCatalog
import XSMCommandLine
import XSMEngine

extension XSMQ {
  /// `xsmq args OP`: the arguments `can` takes for an op, in Xen's terms.
  struct Args: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The arguments `xsmq can` takes for OP, Xen's gates around its hook, and how a refusal reaches the caller.",
      discussion: """
        Each op takes the arguments of its hypercall: TARGET fills the first domain argument, the \
        others are given to `xsmq can` as --arg NAME=VALUE and situations as --situation. Gates are \
        the refusals Xen makes outside XSM, in the order it makes them, each with the Xen file and \
        function; `xsmc ops OP` shows the rest of the op's facts.
        """)

    @Argument(help: "The op, by name or alias (evtchn.status).", completion: .custom(Completions.ops))
    var op: String

    @OptionGroup var host: HostOptions

    struct Answer: Encodable {
      var op: String
      var usage: String
      var arguments: [OpArgument]
      var gates: [String]
      var denial: [String]
    }

    func run() async throws {
      let host = try await self.host.load(onlyOps: [op])
      let operation = try host.resolveOp(op)
      let gates = operation.gates.map { "\($0) [\($0.source)]" }
      let denial = operation.denial.map { "\($0) [\($0.source)]" }
      if self.host.json {
        Console.current.say(encodeJSON(Answer(op: operation.name, usage: OpArgumentError.usage(of: operation).components(separatedBy: "\n")[0],
          arguments: operation.arguments, gates: gates, denial: denial)))
        return
      }
      var out = OpArgumentError.usage(of: operation)
      if !gates.isEmpty { out += "\nXen's gates, in order:\n" + gates.map { "  " + $0 }.joined(separator: "\n") }
      if !denial.isEmpty { out += "\nA refusal reaches the caller as:\n" + denial.map { "  " + $0 }.joined(separator: "\n") }
      Console.current.say(self.host.label(host).after(out))
    }
  }
}
