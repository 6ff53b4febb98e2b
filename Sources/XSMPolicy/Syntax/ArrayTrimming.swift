extension Array {
  /// The elements in storage of their own size: arrays grown by appending keep up to
  /// twice the room they need, which a syntax tree of many small lists would hold for its life.
  func trimmed() -> [Element] {
    guard capacity > count else { return self }
    return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = buffer.initialize(fromContentsOf: self)
    }
  }
}
