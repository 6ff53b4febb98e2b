import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A thread of its own that runs jobs one at a time, in the order they were
/// given, at a lower scheduling priority than the threads that serve
/// requests (nice 10 on Linux). Work no request waits for — the decision
/// log's writes — runs here, so on busy CPUs the kernel lets the requests'
/// threads go first instead of queueing them behind a transaction. At nice 10
/// the thread still gets about a tenth of a CPU's time against a busy one, so
/// it is slowed under load, never stopped.
final class BackgroundThread: Sendable {
  /// The jobs and the thread's wake-ups, shared with the thread (which must
  /// not keep the `BackgroundThread` itself alive: its deinit stops the thread).
  private final class Jobs: @unchecked Sendable {
    let condition = NSCondition()
    var waiting: [@Sendable () -> Void] = []
    var finished = false

    func run(name: String, niceness: Int32) {
      Thread.current.name = name
      #if os(Linux)
        // On Linux, PRIO_PROCESS with `who` 0 sets the calling thread's priority, not the process's
        // (setpriority(2), kernel/sys.c: `current`).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
      #endif
      while true {
        condition.lock()
        while waiting.isEmpty && !finished { condition.wait() }
        if waiting.isEmpty {
          condition.unlock()
          return
        }
        let job = waiting.removeFirst()
        condition.unlock()
        job()
      }
    }
  }

  private let jobs = Jobs()

  init(name: String, niceness: Int32 = 10) {
    let jobs = self.jobs
    Thread { jobs.run(name: name, niceness: niceness) }.start()
  }

  /// The thread ends once the jobs given before are done.
  deinit {
    jobs.condition.lock()
    jobs.finished = true
    jobs.condition.signal()
    jobs.condition.unlock()
  }

  /// Runs `job` after the jobs given before, without waiting for it.
  func async(_ job: @escaping @Sendable () -> Void) {
    jobs.condition.lock()
    jobs.waiting.append(job)
    jobs.condition.signal()
    jobs.condition.unlock()
  }

  /// Runs `job` after the jobs given before, and returns once it has run.
  /// Never call it from a job (the thread would wait for itself).
  func sync(_ job: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    async {
      job()
      done.signal()
    }
    done.wait()
  }
}
