/// The shape of one generated policy: which guests exist, how they are grouped, who talks to whom
/// and which devices are labelled. Everything random is drawn here, in a fixed order, from one
/// `SplitMix64`, so a (guests, seed) pair always yields the same layout.
struct Layout: Sendable {
  struct Guest: Sendable {
    var index: Int
    /// Pool (attribute `poolK_type`, booleans `poolK_enabled`, `poolK_migrate`).
    var pool: Int
    /// Member of `prot_type` (protected guest, constrained).
    var protected: Bool
    /// Has a `vmN_t` alias.
    var hasAlias: Bool
    /// Has a stub device-model domain (`gN_dm_t`, target type `gN_t_target`).
    var hasDeviceModel: Bool
    /// Has a `type_member ... xenstore_t:event` rule.
    var hasMemberRule: Bool
    /// Index into `Layout.devices` of a passed-through device.
    var device: Int?
    /// Peer guests (symmetric relation, sorted, never self).
    var peers: [Int]
  }

  struct Device: Sendable {
    var type: String
    var pirqs: [Int] = []
    var ioports: [ClosedRange<Int>] = []
    var iomem: [ClosedRange<Int>] = []
    var pciSBDF: Int?
    var deviceTreePath: String?
  }

  var guests: [Guest]
  var pools: Int
  var poolEnabled: [Bool]
  var poolMigrate: [Bool]
  var devices: [Device]

  /// Fixed strides: one guest in `protectedEvery` is protected (guest 0 always, so `prot_type` is
  /// never empty), one in `aliasEvery` has an alias, one in `deviceModelEvery` a stub device
  /// model, and so on. Only peers, passthrough devices, pool booleans and device numbers are
  /// random.
  static let protectedEvery = 10
  static let aliasEvery = 4
  static let deviceModelEvery = 8
  static let memberRuleEvery = 3
  static let deviceEvery = 16
  static let guestsPerPool = 50

  init(guests count: Int, seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    pools = max(1, min(count, (count + Self.guestsPerPool - 1) / Self.guestsPerPool))
    poolEnabled = []
    poolMigrate = []
    for _ in 0..<pools {
      poolEnabled.append(rng.chance(3, in: 4))
      poolMigrate.append(rng.chance(1, in: 2))
    }
    // Make sure both branches of the pool conditionals are live in every policy.
    if pools > 1 {
      poolEnabled[0] = true
      poolEnabled[1] = false
    }

    let devices = Self.makeDevices(&rng)
    self.devices = devices
    let passthrough = devices.indices.filter { devices[$0].pciSBDF != nil }

    // Peers: a ring (i, i+1) plus one random chord per guest, made symmetric.
    var peerSets = [Set<Int>](repeating: [], count: count)
    if count > 1 {
      for i in 0..<count {
        let next = (i + 1) % count
        peerSets[i].insert(next)
        peerSets[next].insert(i)
        let j = rng.next(below: count)
        if j != i {
          peerSets[i].insert(j)
          peerSets[j].insert(i)
        }
      }
    }

    guests = []
    guests.reserveCapacity(count)
    for i in 0..<count {
      var device: Int? = nil
      if i % Self.deviceEvery == 5, !passthrough.isEmpty {
        device = passthrough[rng.next(below: passthrough.count)]
      }
      guests.append(
        Guest(
          index: i,
          pool: i % pools,
          protected: i % Self.protectedEvery == 0,
          hasAlias: i % Self.aliasEvery == 2,
          hasDeviceModel: i % Self.deviceModelEvery == 1,
          hasMemberRule: i % Self.memberRuleEvery == 0,
          device: device,
          peers: peerSets[i].sorted()))
    }
  }

  /// A handful of devices with non-overlapping I/O ranges. Numbers vary with the seed; the
  /// layout of slots guarantees that ranges never overlap.
  static func makeDevices(_ rng: inout SplitMix64) -> [Device] {
    var usedIRQs: Set<Int> = [4]
    func irq() -> Int {
      while true {
        let n = 16 + rng.next(below: 200)
        if usedIRQs.insert(n).inserted { return n }
      }
    }
    // MMIO frame slots of 0x1000 frames from 0xf0000; each range stays inside its slot.
    var mmioSlot = 0
    func mmio(maxLength: Int) -> ClosedRange<Int> {
      let base = 0xf0000 + mmioSlot * 0x1000 + rng.next(below: 0x800)
      mmioSlot += 1
      let length = 1 + rng.next(below: maxLength)
      return base...(base + length - 1)
    }
    // I/O port slots of 0x100 ports from 0xc000, 0x20-aligned windows of 0x20 ports.
    var portSlot = 0
    func ports() -> ClosedRange<Int> {
      let base = 0xc000 + portSlot * 0x100 + rng.next(below: 8) * 0x20
      portSlot += 1
      return base...(base + 0x1f)
    }
    func sbdf(_ seg: Int, _ bus: Int, _ dev: Int, _ fn: Int) -> Int {
      seg << 16 | bus << 8 | dev << 3 | fn
    }

    var list: [Device] = []
    list.append(
      Device(
        type: "nic0_dev_t", pirqs: [irq()], ioports: [ports()], iomem: [mmio(maxLength: 0x20)],
        pciSBDF: sbdf(0, 3, 0, 0)))
    list.append(
      Device(
        type: "nic1_dev_t", pirqs: [irq()], iomem: [mmio(maxLength: 0x20)],
        pciSBDF: sbdf(0, 3, 0, 1)))
    list.append(
      Device(
        type: "disk_dev_t", pirqs: [irq()], ioports: [ports(), ports()],
        iomem: [mmio(maxLength: 2)], pciSBDF: sbdf(0, 0, 0x1f, 2)))
    // The GPU's large aperture lives below the slot area.
    let aperture = 0xe0000 + rng.next(below: 0x100) * 0x10
    list.append(
      Device(
        type: "gpu_dev_t", pirqs: [irq(), irq()],
        iomem: [aperture...(aperture + 0x7fff), mmio(maxLength: 0x40)],
        pciSBDF: sbdf(0, 1, 0, 0)))
    list.append(
      Device(type: "serial_dev_t", pirqs: [4], ioports: [0x3f8...0x3ff, 0x2f8...0x2f8]))
    let netBase = 0xff0e0 + rng.next(below: 8) * 2
    list.append(
      Device(
        type: "soc_net_dev_t", iomem: [netBase...netBase],
        deviceTreePath: "/soc/ethernet@\(String(netBase << 12, radix: 16))"))
    let mmcBase = 0xff160 + rng.next(below: 8) * 2
    list.append(
      Device(
        type: "soc_mmc_dev_t", iomem: [mmcBase...(mmcBase + 1)],
        deviceTreePath: "/soc/mmc@\(String(mmcBase << 12, radix: 16))"))
    return list
  }
}
