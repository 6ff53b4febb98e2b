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
/// deadline runs while xsmd works on a request; the idle one starts when its
/// reply is flushed. Also closes an HTTP/1.0
/// connection after its reply unless it asked for keep-alive (`Connection: close`
/// on the reply).
///
/// The deadline is a time kept per connection; one scheduled check per
/// connection reads it when it falls due and schedules itself again for a
/// deadline that moved later. Arming and disarming write the time only, so a
/// keep-alive request schedules nothing (the check is moved earlier only when
/// a deadline comes before it).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  /// The three timeouts as NIO's amounts, worked out once (a request arms two of them).
  private let requestHead: TimeAmount
  private let requestBody: TimeAmount
  private let idle: TimeAmount
  /// When the connection is closed unless it is disarmed or armed again first.
  private var deadline: NIODeadline?
  /// The scheduled check, and when it runs.
  private var check: Scheduled<Void>?
  private var checkAt = NIODeadline.distantFuture
  private var closeAfterReply = false
  /// Between a request's head and its end: its body deadline runs, and a reply flushed meanwhile
  /// (to an earlier, pipelined request) must not replace it with the idle one.
  private var readingRequest = false

  init(timeouts: ConnectionTimeouts) {
    func amount(_ duration: Duration) -> TimeAmount { .nanoseconds(Int64(duration / .nanoseconds(1))) }
    requestHead = amount(timeouts.requestHead)
    requestBody = amount(timeouts.requestBody)
    idle = amount(timeouts.idle)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { arm(context, requestHead) }
  }

  func channelActive(context: ChannelHandlerContext) {
    arm(context, requestHead)
    context.fireChannelActive()
  }

  func handlerRemoved(context: ChannelHandlerContext) { stop() }

  func channelInactive(context: ChannelHandlerContext) {
    stop()
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
      readingRequest = true
      arm(context, requestBody)
    case .body: break
    case .end:
      readingRequest = false
      disarm()
    }
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    // A keep-alive reply passes as it is, without being unwrapped (a dynamic cast per part);
    // its flush starts the idle deadline.
    guard closeAfterReply else {
      context.write(data, promise: promise)
      return
    }
    switch unwrapOutboundIn(data) {
    case .head(var head):
      head.headers.replaceOrAdd(name: "connection", value: "close")
      context.write(wrapOutboundOut(.head(head)), promise: promise)
    case .end:
      let written = promise ?? context.eventLoop.makePromise()
      context.writeAndFlush(data, promise: written)
      let channel = context.channel
      written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    default:
      context.write(data, promise: promise)
    }
  }

  func flush(context: ChannelHandlerContext) {
    // xsmd writes a reply whole once it is worked out, so a flush outside a request's reading
    // means the reply is out: from here the client has the idle timeout to send the next request.
    if !readingRequest, !closeAfterReply { arm(context, idle) }
    context.flush()
  }

  private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
    let due = NIODeadline.now() + timeout
    deadline = due
    if check == nil || due < checkAt { schedule(context, at: due) }
  }

  /// No deadline runs (the pending check, if any, finds none and ends).
  private func disarm() { deadline = nil }

  private func stop() {
    deadline = nil
    check?.cancel()
    check = nil
  }

  private func schedule(_ context: ChannelHandlerContext, at due: NIODeadline) {
    check?.cancel()
    checkAt = due
    let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
    check = context.eventLoop.scheduleTask(deadline: due) { bound.value.handler.fire(bound.value.context) }
  }

  /// The check: closes the connection past its deadline, or waits for a deadline that moved later.
  private func fire(_ context: ChannelHandlerContext) {
    check = nil
    guard let deadline else { return }
    if NIODeadline.now() >= deadline {
      context.channel.close(promise: nil)
    } else {
      schedule(context, at: deadline)
    }
  }
}
