import Foundation
import Synchronization
import Testing

@testable import XSMService

/// The decision log's writer thread: jobs in order, `sync` after what was
/// given before, a lower priority than the threads that serve requests, and
/// the thread gone with its owner.
@Suite("Background thread")
struct BackgroundThreadTests {
  /// Threads of this process with `name`, and their nice values (Linux's /proc/self/task/*/stat).
  static func threads(named name: String) -> [Int] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task -> Int? in
      guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
        let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
        stat[stat.index(after: open)..<close] == name
      else { return nil }
      // Fields after the name: state is field 3, nice is field 19.
      let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
      return Int(fields[19 - 3])
    }
  }

  @Test func runsJobsInOrderAndSyncWaitsForThoseBefore() {
    let thread = BackgroundThread(name: "xsm-test-order")
    let seen = Mutex<[Int]>([])
    for k in 0..<200 { thread.async { seen.withLock { $0.append(k) } } }
    let atSync = Mutex<[Int]>([])
    thread.sync { atSync.withLock { $0 = seen.withLock { $0 } } }
    #expect(atSync.withLock { $0 } == Array(0..<200))
  }

  @Test func runsBelowTheRequestThreadsAndEndsWithItsOwner() async throws {
    var thread: BackgroundThread? = BackgroundThread(name: "xsm-test-nice")
    thread?.sync {}
    #if os(Linux)
      #expect(Self.threads(named: "xsm-test-nice") == [10])
      #expect(Self.threads(named: "xsm-test-nice").count == 1)
    #endif
    thread = nil
    var waited = 0
    while !Self.threads(named: "xsm-test-nice").isEmpty, waited < 200 {
      try await Task.sleep(for: .milliseconds(10))
      waited += 1
    }
    #expect(Self.threads(named: "xsm-test-nice").isEmpty)
  }
}
