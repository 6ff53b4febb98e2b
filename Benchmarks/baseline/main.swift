import Foundation
import Hummingbird
import Logging

// xsmd-baseline: the floor Benchmarks/service.sh measures xsmd against. One
// Hummingbird route, `POST /v1/can`, that reads the request body and answers
// a fixed JSON reply (the bytes of the file given, xsmd's own reply to the
// benchmark's first question), with the application configured as xsmd's:
// same framework version, server name, log level, one process. What xsmd
// spends beyond this is its own work: admission, metrics, decoding, the
// decision, the log and the reply.
//
//   xsmd-baseline REPLY-FILE [PORT]     (port 0, the default, picks a free one)
//
// It prints `listening on http://127.0.0.1:PORT` on stderr once bound.

let arguments = CommandLine.arguments
guard arguments.count >= 2, let reply = FileManager.default.contents(atPath: arguments[1]) else {
  FileHandle.standardError.write(Data("usage: xsmd-baseline REPLY-FILE [PORT]\n".utf8))
  exit(2)
}
let port = arguments.count >= 3 ? Int(arguments[2]) ?? 0 : 0
let replyBytes = [UInt8](reply)

let router = Router()
router.post("/v1/can") { request, _ -> Response in
  _ = try await request.body.collect(upTo: 1 << 20)
  return Response(status: .ok, headers: [.contentType: "application/json"],
    body: ResponseBody(byteBuffer: ByteBuffer(bytes: replyBytes)))
}
var logger = Logger(label: "xsmd-baseline")
logger.logLevel = .warning
let app = Application(
  router: router,
  configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port), serverName: "xsmd"),
  onServerRunning: { channel in
    FileHandle.standardError.write(Data("listening on http://127.0.0.1:\(channel.localAddress?.port ?? 0)\n".utf8))
  },
  logger: logger)
try await app.runService()
