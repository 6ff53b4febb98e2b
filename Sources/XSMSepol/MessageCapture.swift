import CSepol
import Synchronization

/// Collects the messages of one libsepol operation.
///
/// The C sinks below cannot capture context, so they find the collector of
/// the running operation through a task-local value. They are only ever
/// called synchronously from inside a `@SepolActor` call, on that task.
///
/// CIL levels: libsepol 3.4's `cil_vlog` passes its log *threshold*
/// (`cil_log_level`), not the message's own level, to the handler, so every
/// CIL message arrives as "warning" (we set the threshold to CIL_WARN). CIL
/// messages are therefore labelled by outcome: errors when the operation
/// failed, warnings when it succeeded. libsepol's own messages carry their
/// real level.
final class MessageCollector: Sendable {
  private struct Entry {
    var message: SepolMessage
    var fromCIL: Bool
  }

  private struct State {
    var entries: [Entry] = []
    /// CIL logs one line in several calls ("Unknown type foo", " at f.cil:3",
    /// "\n"): fragments are joined up to each newline.
    var cilPending = ""
    var cilPendingLevel: Int32 = 1
  }

  private let state = Mutex(State())

  /// A complete libsepol message (one callback = one message).
  func addSepol(level: Int32, text: String) {
    state.withLock { s in
      Self.flushCIL(&s)
      let trimmed = Self.trimNewlines(text)
      if !trimmed.isEmpty {
        s.entries.append(
          Entry(message: SepolMessage(level: .init(sepolLevel: level), text: trimmed), fromCIL: false))
      }
    }
  }

  /// A CIL log fragment.
  func addCIL(level: Int32, fragment: String) {
    state.withLock { s in
      if s.cilPending.isEmpty { s.cilPendingLevel = level }
      for ch in fragment {
        if ch == "\n" {
          Self.flushCIL(&s)
        } else {
          if s.cilPending.isEmpty { s.cilPendingLevel = level }
          s.cilPending.append(ch)
        }
      }
    }
  }

  /// Everything collected so far (pending CIL text included), in order, with
  /// CIL messages labelled by the operation's outcome.
  func drain(operationFailed: Bool) -> [SepolMessage] {
    state.withLock { s in
      Self.flushCIL(&s)
      let out = s.entries.map { entry in
        var message = entry.message
        if entry.fromCIL { message.level = operationFailed ? .error : .warning }
        return message
      }
      s.entries = []
      return out
    }
  }

  private static func flushCIL(_ s: inout State) {
    let text = trimNewlines(s.cilPending)
    if !text.isEmpty {
      s.entries.append(
        Entry(
          message: SepolMessage(level: .init(sepolLevel: s.cilPendingLevel), text: text),
          fromCIL: true))
    }
    s.cilPending = ""
  }

  private static func trimNewlines(_ text: String) -> String {
    var t = Substring(text)
    while let last = t.last, last == "\n" || last == "\r" || last == " " { t.removeLast() }
    while let first = t.first, first == "\n" || first == "\r" { t.removeFirst() }
    return String(t)
  }
}

enum MessageCapture {
  @TaskLocal static var current: MessageCollector?
}

/// Points libsepol's compat handle and CIL's log at our sinks. Cheap and
/// idempotent; done at the start of every operation.
@SepolActor
func installMessageSinks() {
  xsm_sepol_capture_compat { level, text in
    guard let text else { return }
    MessageCapture.current?.addSepol(level: level, text: String(cString: text))
  }
  xsm_cil_capture { level, text in
    guard let text else { return }
    MessageCapture.current?.addCIL(level: level, fragment: String(cString: text))
  }
}

/// A libsepol handle whose messages go to the current collector.
@SepolActor
func makeCapturingHandle() throws(SepolError) -> OpaquePointer {
  guard let handle = sepol_handle_create() else { throw .outOfMemory("sepol_handle_create") }
  xsm_sepol_capture_handle(handle) { level, text in
    guard let text else { return }
    MessageCapture.current?.addSepol(level: level, text: String(cString: text))
  }
  return handle
}

/// A libsepol handle that drops its messages (for a pass whose messages a
/// second pass repeats).
@SepolActor
func makeSilentHandle() throws(SepolError) -> OpaquePointer {
  guard let handle = sepol_handle_create() else { throw .outOfMemory("sepol_handle_create") }
  sepol_msg_set_callback(handle, nil, nil)
  return handle
}

/// Runs `body` with message capture on. On success returns the result and the
/// captured messages; on failure the thrown error carries them.
@SepolActor
func withSepolCapture<R>(_ body: () throws(SepolError) -> R) throws(SepolError) -> (
  R, [SepolMessage]
) {
  installMessageSinks()
  let collector = MessageCollector()
  let result: Result<R, SepolError> = MessageCapture.$current.withValue(collector) {
    do throws(SepolError) {
      return .success(try body())
    } catch {
      return .failure(error)
    }
  }
  let failed = if case .failure = result { true } else { false }
  let messages = collector.drain(operationFailed: failed)
  switch result {
  case .success(let value):
    return (value, messages)
  case .failure(var error):
    error.messages = messages + error.messages
    throw error
  }
}
