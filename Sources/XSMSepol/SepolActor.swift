import CSepol

/// The one isolation domain in which libsepol is called.
///
/// libsepol keeps process-wide state: the policydb and SID table behind
/// `sepol_compute_av` (services.c), the message callback of its internal
/// compat handle, and CIL's log handler. Every function in this module that
/// touches libsepol is isolated to this actor, so no two libsepol calls ever
/// overlap.
@globalActor
public actor SepolActor {
  /// The shared instance behind `@SepolActor`.
  public static let shared = SepolActor()
}

/// Who currently owns libsepol's global security server (services.c).
///
/// `sepol_compute_av` and friends work on one global policydb and SID table.
/// Each ``SepolOracle`` owns its own pair and installs it (two pointer swaps,
/// `sepol_set_policydb` / `sepol_set_sidtab`) before every call unless it is
/// already the installed one. `generation` counts installs; `installed` is the
/// generation of the oracle whose state is installed now, 0 when none is.
@SepolActor
enum SepolServices {
  static var generation: UInt64 = 0
  static var installed: UInt64 = 0

  /// Installs `db` and `sidtab` as the global server state and returns the
  /// new generation.
  static func install(
    _ db: UnsafeMutablePointer<sepol_policydb_t>, _ sidtab: UnsafeMutablePointer<sidtab_t>
  ) -> UInt64 {
    xsm_services_install(db, sidtab)
    generation += 1
    installed = generation
    return generation
  }

  /// Forgets the installed state (its owner is going away). The pointers
  /// inside services.c now dangle, but nothing calls services.c without
  /// installing an oracle first.
  static func uninstall(ifGeneration g: UInt64) {
    if installed == g { installed = 0 }
  }
}
