/// A small, fast, deterministic pseudo-random generator (Steele, Lea and Flood's SplitMix64).
///
/// The generator never touches system randomness: the same seed gives the same sequence on every
/// platform and toolchain. Bounded draws use `next(below:)` (Lemire's multiply-shift with
/// rejection), not the standard library's `random(in:using:)`, whose algorithm is not promised to
/// stay the same across Swift releases.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  /// The current state; advancing it by the golden-ratio increment yields the next output.
  public private(set) var state: UInt64

  /// Creates a generator whose sequence is fully determined by `seed`.
  public init(seed: UInt64) {
    self.state = seed
  }

  /// The next 64 pseudo-random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniformly distributed integer in `0..<bound`. `bound` must be positive.
  public mutating func next(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    let b = UInt64(bound)
    var product = next().multipliedFullWidth(by: b)
    if product.low < b {
      let threshold = (0 &- b) % b
      while product.low < threshold {
        product = next().multipliedFullWidth(by: b)
      }
    }
    return Int(product.high)
  }

  /// True with probability `numerator / denominator`.
  public mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
    next(below: denominator) < numerator
  }
}
