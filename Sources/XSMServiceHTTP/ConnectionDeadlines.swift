import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// How long a client may take to send a request, and to come back with the next.
public struct ConnectionTimeouts: Sendable, Equatable {
  /// From the connection's start to the end of the first request's headers.
  public var requestHead: Duration
  /// From the end of a request's headers to the end of its body.
  public var requestBody: Duration
  /// From the end of a reply to the end of the next request's headers (keep-alive).
  public var idle: Duration

  /// Creates timeouts (10 s for headers, 30 s for a body, 60 s idle).
  public init(requestHead: Duration = .seconds(10), requestBody: Duration = .seconds(30), idle: Duration = .seconds(60)) {
    self.requestHead = requestHead
    self.requestBody = requestBody
    self.idle = idle
  }
}

/// xsmd's HTTP/1.1 channel: Hummingbird's, with ``ConnectionDeadlineHandler``
/// placed where it sees NIO's request heads (with their HTTP version).
struct DeadlineHTTP1Channel: ServerChildChannel {
  let inner: HTTP1Channel
  let timeouts: ConnectionTimeouts

  func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
    inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
      let operations = channel.pipeline.syncOperations
      let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
      try operations.addHandler(ConnectionDeadlineHandler(timeouts: timeouts), position: .before(codec))
      return value
    }
  }

  func handle(value: HTTP1Channel.Value, logger: Logger) async {
    await inner.handle(value: value, logger: logger)
  }
}

/// Closes a connection whose client is too slow, so it cannot hold a request
/// slot: headers not complete within ``ConnectionTimeouts/requestHead`` of
/// connecting (or ``ConnectionTimeouts/idle`` of the last reply), a body not
/// complete within ``ConnectionTimeouts/requestBody`` of its headers. No
/// deadline runs while xsmd works on a request. Also closes an HTTP/1.0
/// connection after its reply unless it asked for keep-alive (`Connection: close`
/// on the reply).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  private let timeouts: ConnectionTimeouts
  private var deadline: Scheduled<Void>?
  private var closeAfterReply = false

  init(timeouts: ConnectionTimeouts) { self.timeouts = timeouts }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { arm(context, timeouts.requestHead) }
  }

  func channelActive(context: ChannelHandlerContext) {
    arm(context, timeouts.requestHead)
    context.fireChannelActive()
  }

  func handlerRemoved(context: ChannelHandlerContext) { disarm() }

  func channelInactive(context: ChannelHandlerContext) {
    disarm()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // A request the decoder cannot read (a bad chunk size) never reaches its end: xsmd answers it
    // 400 now, and the body's deadline must not close the connection before that reply is written.
    disarm()
    context.fireErrorCaught(error)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      closeAfterReply = !head.isKeepAlive
      arm(context, timeouts.requestBody)
    case .body: break
    case .end: disarm()
    }
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    switch unwrapOutboundIn(data) {
    case .head(var head) where closeAfterReply:
      head.headers.replaceOrAdd(name: "connection", value: "close")
      context.write(wrapOutboundOut(.head(head)), promise: promise)
    case .end where closeAfterReply:
      let written = promise ?? context.eventLoop.makePromise()
      context.writeAndFlush(data, promise: written)
      let channel = context.channel
      written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    case .end:
      context.write(data, promise: promise)
      arm(context, timeouts.idle)
    default:
      context.write(data, promise: promise)
    }
  }

  private func arm(_ context: ChannelHandlerContext, _ timeout: Duration) {
    disarm()
    let nanoseconds = Int64(timeout / .nanoseconds(1))
    let channel = context.channel
    deadline = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { channel.close(promise: nil) }
  }

  private func disarm() {
    deadline?.cancel()
    deadline = nil
  }
}
