// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
  name: "xsmtools",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "xsmc", targets: ["xsmc"]),
    .executable(name: "xsmgen", targets: ["xsmgen"]),
    .executable(name: "xsmq", targets: ["xsmq"]),
    .executable(name: "xsmd", targets: ["xsmd"]),
    .executable(name: "xsm-policy-check", targets: ["xsm-policy-check"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    // xsmd's connection deadlines sit in NIO's HTTP/1 pipeline (Hummingbird depends on both already).
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
  ],
  targets: [
    // MARK: libsepol
    .systemLibrary(
      name: "CSepol",
      pkgConfig: "libsepol",
      providers: [.apt(["libsepol-dev"])]
    ),
    .target(name: "XSMSepol", dependencies: ["CSepol", "XSMDiagnostics"], swiftSettings: strict),
    // Builds the kernel policydb directly with libsepol (xsmc's default backend; no CIL).
    .target(name: "CPolicyBuild", dependencies: ["CSepol"]),

    // MARK: Policy language
    .target(name: "XSMDiagnostics", swiftSettings: strict),
    .target(name: "XSMPolicy", dependencies: ["XSMDiagnostics", "CProcessControl"], swiftSettings: strict),
    // Child processes that die with ours, with limits; temporary files removed on SIGINT/SIGTERM.
    .target(name: "CProcessControl"),
    .target(
      name: "XSMBuild", dependencies: ["XSMPolicy", "XSMSepol", "CPolicyBuild", "XSMDiagnostics", "XSMCatalog"],
      swiftSettings: strict),
    .target(name: "XSMPolicyGen", swiftSettings: strict),

    // MARK: Op catalog
    .target(name: "XSMCatalog", dependencies: ["XSMDiagnostics"], swiftSettings: strict),
    // The op reference and the C, Rust and Go bindings written from a catalog (xsmc docs).
    .target(name: "XSMCatalogGen", dependencies: ["XSMCatalog", "XSMDiagnostics"], swiftSettings: strict),

    // MARK: Decision engine
    .target(
      name: "XSMEngine", dependencies: ["XSMCatalog", "XSMSepol", "XSMDiagnostics"],
      swiftSettings: strict),

    // avc lines of Xen's log explained in Xen's terms (xsmq explain): ops, reasons, fixes, neverallow checks.
    .target(
      name: "XSMAudit", dependencies: ["XSMEngine", "XSMCatalog", "XSMBuild", "XSMPolicy", "XSMSepol", "XSMDiagnostics"],
      swiftSettings: strict),

    // MARK: Query service
    // The wire contract of xsmd and its clients: Foundation only, never the engine.
    .target(name: "XSMProtocol", swiftSettings: strict),
    // The engine's values in the wire's terms and back, for xsmd and xsmq.
    .target(
      name: "XSMWire", dependencies: ["XSMProtocol", "XSMEngine", "XSMCatalog", "XSMDiagnostics"], swiftSettings: strict),
    .target(
      name: "XSMService",
      dependencies: [
        "XSMProtocol", "XSMWire", "XSMEngine", "XSMCatalog", "XSMSepol", "XSMDiagnostics",
        // xsmq explain --server: avc lines explained on the service's host (XSMAudit never depends on the service).
        "XSMAudit", "XSMPolicy",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ], swiftSettings: strict),
    .target(
      name: "XSMServiceHTTP",
      dependencies: [
        "XSMService", "XSMProtocol", "XSMAudit",
        .product(name: "Hummingbird", package: "hummingbird"),
        // TLS for --allow-remote (NIOSSL).
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ], swiftSettings: strict),

    // MARK: Executables
    // The git revision and libsepol version behind --version, written before each build.
    .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
    .target(name: "XSMBuildInfo", swiftSettings: strict, plugins: ["BuildInfoPlugin"]),
    // What the three programs share: console, exit codes, JSON, the compiling policy provider.
    .target(
      name: "XSMCommandLine",
      dependencies: [
        "XSMDiagnostics", "XSMCatalog", "XSMEngine", "XSMBuild", "XSMPolicy", "XSMBuildInfo", "CProcessControl",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    // The commands of xsmc, xsmq and xsmd, as libraries the executables and the tests run.
    .target(
      name: "XSMCompilerCLI",
      dependencies: [
        "XSMBuild", "XSMPolicy", "XSMSepol", "XSMDiagnostics", "XSMCatalog", "XSMCatalogGen", "XSMEngine",
        "XSMCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    .target(
      name: "XSMQueryCLI",
      dependencies: [
        "XSMEngine", "XSMCatalog", "XSMDiagnostics", "XSMCommandLine", "XSMProtocol", "XSMWire", "XSMAudit", "XSMPolicy",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    .target(
      name: "XSMServerCLI",
      dependencies: [
        "XSMServiceHTTP", "XSMService", "XSMProtocol", "XSMEngine", "XSMCatalog", "XSMDiagnostics", "XSMCommandLine",
        "XSMSepol",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    // Release xsmc links the Swift runtime and Foundation statically: loading and relocating
    // the shared ones cost about 10 MB of resident memory at every start (docs/benchmarks.md).
    // It is linked with lld, which packs its relative relocations (DT_RELR, glibc 2.36 or later:
    // the loader reads 16 KB instead of 1.9 MB) and lays the functions a build runs out together
    // (hot-symbols.txt, made by Benchmarks/hot-symbols.sh): about 6 MB less mapped code at the peak.
    .executableTarget(
      name: "xsmc", dependencies: ["XSMCompilerCLI", "XSMCommandLine"], exclude: ["hot-symbols.txt"],
      swiftSettings: strict,
      linkerSettings: [
        .unsafeFlags(
          [
            "-static-stdlib", "-Xlinker", "--start-group", "-lFoundation", "-lCoreFoundation", "-l_FoundationICU",
            "-lFoundationEssentials", "-lFoundationInternationalization", "-l_FoundationCShims",
            "-l_FoundationCollections", "-Xlinker", "--end-group",
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/xsmc/hot-symbols.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
          ], .when(platforms: [.linux], configuration: .release))
      ]),
    .executableTarget(name: "xsmq", dependencies: ["XSMQueryCLI", "XSMCommandLine"], swiftSettings: strict),
    .executableTarget(
      name: "xsmd", dependencies: ["XSMServerCLI", "XSMCommandLine"], swiftSettings: strict),
    // The child process that reads an untrusted binary policy under a time and memory budget (PolicyReadGuard).
    .executableTarget(name: "xsm-policy-check", dependencies: ["XSMSepol"], swiftSettings: strict),
    // The floor Benchmarks/service.sh measures xsmd against: a bare Hummingbird route with a fixed reply.
    .executableTarget(
      name: "xsmd-baseline", dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
      path: "Benchmarks/baseline", swiftSettings: strict),
    .executableTarget(
      name: "xsmbench",
      dependencies: ["XSMEngine", "XSMSepol", "XSMBuild", "XSMPolicy", "XSMPolicyGen", "XSMCatalog"],
      swiftSettings: strict),
    .executableTarget(
      name: "xsmgen",
      dependencies: [
        "XSMPolicyGen", "XSMCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),

    // MARK: Tests
    // What every test target shares: paths, tool gating, CI, seeded randomness, snapshots, the project policy.
    .target(
      name: "XSMTestSupport", dependencies: ["XSMBuild", "XSMPolicy", "XSMPolicyGen", "XSMSepol", "XSMDiagnostics"],
      path: "Tests/XSMTestSupport", swiftSettings: strict),
    .testTarget(name: "XSMPolicyTests", dependencies: ["XSMPolicy", "XSMDiagnostics"]),
    .testTarget(name: "XSMSepolTests", dependencies: ["XSMSepol", "XSMTestSupport"]),
    .testTarget(name: "XSMPolicyGenTests", dependencies: ["XSMPolicyGen"]),
    .testTarget(
      name: "XSMEngineTests",
      dependencies: ["XSMEngine", "XSMSepol", "XSMPolicyGen", "XSMCatalog", "XSMDiagnostics", "XSMTestSupport"]),
    .testTarget(
      name: "XSMQueryCLITests",
      dependencies: [
        "XSMQueryCLI", "XSMCompilerCLI", "XSMCommandLine", "XSMAudit", "XSMEngine", "XSMCatalog", "XSMBuild", "XSMPolicy",
        "XSMTestSupport",
      ]),
    .testTarget(
      name: "XSMServiceTests",
      dependencies: [
        "XSMService", "XSMProtocol", "XSMServiceHTTP", "XSMEngine", "XSMCatalog", "XSMAudit", "XSMTestSupport", "XSMServerCLI", "XSMSepol",
        "XSMWire",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        // State files damaged and locked by another connection (DurabilityTests).
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),
    .testTarget(
      name: "XSMCatalogTests",
      dependencies: ["XSMCatalog", "XSMCatalogGen", "XSMDiagnostics", "XSMSepol", "XSMBuild", "XSMPolicy", "XSMTestSupport"]),
    .testTarget(
      name: "XSMBuildTests",
      dependencies: [
        "XSMBuild", "XSMPolicy", "XSMSepol", "XSMPolicyGen", "XSMDiagnostics", "XSMCompilerCLI", "XSMCommandLine",
        "XSMTestSupport",
      ]),
  ]
)
