/// The precomputed decision for one (source type, target type, class):
/// the unconditional vectors and the slice of conditional items to add.
struct AVRow {
  var allowed: UInt32 = 0
  var auditAllow: UInt32 = 0
  var auditDeny: UInt32 = ~0
  /// First item in ``AVTable/conditionalItems``.
  var conditionalStart: UInt32 = 0
  /// Number of conditional items (0 when the pair has none).
  var conditionalCount: UInt32 = 0
}

/// A conditional avtab entry expanded to one (source, target, class).
struct ConditionalItem {
  /// Conditional index × 2, plus 1 for the `else` branch.
  var branch: UInt32
  /// `AVTAB_ALLOWED` 1, `AUDITALLOW` 2 or `AUDITDENY` 4.
  var kind: UInt32
  var data: UInt32
}

/// Open-addressing hash table (linear probing, Fibonacci hashing) from a
/// packed (source, target, class) key to an ``AVRow``.
///
/// INVARIANT: mutated only while ``FlaskPolicy`` is being initialised;
/// afterwards it is read-only, which is what makes `@unchecked Sendable`
/// sound. The raw storage keeps lookups free of bounds checks, reference
/// counting and allocation.
final class AVTable: @unchecked Sendable {
  /// Largest type value that fits a key (24 bits).
  static let maxType = (1 << 24) - 1
  /// Largest class value that fits a key (16 bits).
  static let maxClass = (1 << 16) - 1

  private var keys: UnsafeMutablePointer<UInt64>
  private var rows: UnsafeMutablePointer<AVRow>
  private var capacity: Int
  private var shift: UInt64
  private(set) var count = 0
  /// Conditional items, grouped by key (each row points at its slice).
  private(set) var conditionalItems: ContiguousArray<ConditionalItem> = []

  init(expectedCount: Int = 1024) {
    var capacity = 16
    while capacity * 7 < max(expectedCount, 1) * 10 { capacity *= 2 }
    self.capacity = capacity
    self.shift = UInt64(64 - capacity.trailingZeroBitCount)
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    rows = .allocate(capacity: capacity)
    rows.initialize(repeating: AVRow(), count: capacity)
  }

  deinit {
    keys.deallocate()
    rows.deallocate()
  }

  /// The key of (source, target, class); nil when a value does not fit.
  @inline(__always)
  static func key(_ source: Int, _ target: Int, _ cls: Int) -> UInt64? {
    guard source >= 0, source <= maxType, target >= 0, target <= maxType, cls >= 1, cls <= maxClass else {
      return nil
    }
    return UInt64(source) << 40 | UInt64(target) << 16 | UInt64(cls)
  }

  @inline(__always)
  private func slot(_ key: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  /// The row of `key`, if any.
  @inline(__always)
  func row(_ key: UInt64) -> UnsafePointer<AVRow>? {
    let mask = capacity - 1
    var i = slot(key)
    while true {
      let k = keys[i]
      if k == key { return UnsafePointer(rows + i) }
      if k == 0 { return nil }
      i = (i + 1) & mask
    }
  }

  /// The row of `key`, inserted with neutral values when missing (build only).
  func rowForUpdate(_ key: UInt64) -> UnsafeMutablePointer<AVRow> {
    if (count + 1) * 10 > capacity * 7 { grow() }
    let mask = capacity - 1
    var i = slot(key)
    while true {
      let k = keys[i]
      if k == key { return rows + i }
      if k == 0 {
        keys[i] = key
        count += 1
        return rows + i
      }
      i = (i + 1) & mask
    }
  }

  /// Attaches conditional items, given as (key, item) pairs (build only).
  func setConditionalItems(_ pairs: [(key: UInt64, item: ConditionalItem)]) {
    let sorted = pairs.enumerated().sorted { a, b in
      a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
    }
    conditionalItems = ContiguousArray(sorted.map(\.element.item))
    var start = 0
    while start < sorted.count {
      var end = start + 1
      while end < sorted.count && sorted[end].element.key == sorted[start].element.key { end += 1 }
      let row = rowForUpdate(sorted[start].element.key)
      row.pointee.conditionalStart = UInt32(start)
      row.pointee.conditionalCount = UInt32(end - start)
      start = end
    }
  }

  private func grow() {
    let oldKeys = keys
    let oldRows = rows
    let oldCapacity = capacity
    capacity *= 2
    shift -= 1
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    rows = .allocate(capacity: capacity)
    rows.initialize(repeating: AVRow(), count: capacity)
    let mask = capacity - 1
    for j in 0..<oldCapacity where oldKeys[j] != 0 {
      var i = slot(oldKeys[j])
      while keys[i] != 0 { i = (i + 1) & mask }
      keys[i] = oldKeys[j]
      rows[i] = oldRows[j]
    }
    oldKeys.deallocate()
    oldRows.deallocate()
  }

  /// Bytes held by the table (for statistics).
  var memoryFootprint: Int {
    capacity * (MemoryLayout<UInt64>.stride + MemoryLayout<AVRow>.stride)
      + conditionalItems.count * MemoryLayout<ConditionalItem>.stride
  }
}
