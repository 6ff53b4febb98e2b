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
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
  ],
  targets: [
    // MARK: libsepol
    .systemLibrary(
      name: "CSepol",
      pkgConfig: "libsepol",
      providers: [.apt(["libsepol-dev"])]
    ),
    .target(name: "XSMSepol", dependencies: ["CSepol", "XSMDiagnostics"], swiftSettings: strict),

    // MARK: Policy language
    .target(name: "XSMDiagnostics", swiftSettings: strict),
    .target(name: "XSMPolicy", dependencies: ["XSMDiagnostics"], swiftSettings: strict),
    .target(
      name: "XSMBuild", dependencies: ["XSMPolicy", "XSMSepol", "XSMDiagnostics", "XSMCatalog"],
      swiftSettings: strict),
    .target(name: "XSMPolicyGen", swiftSettings: strict),

    // MARK: Op catalog
    .target(name: "XSMCatalog", dependencies: ["XSMDiagnostics"], swiftSettings: strict),

    // MARK: Decision engine
    .target(
      name: "XSMEngine", dependencies: ["XSMCatalog", "XSMSepol", "XSMBuild", "XSMPolicy", "XSMDiagnostics"],
      swiftSettings: strict),

    // MARK: Query service
    .target(name: "XSMServiceAPI", dependencies: ["XSMEngine"], swiftSettings: strict),
    .target(
      name: "XSMService",
      dependencies: [
        "XSMServiceAPI", "XSMEngine", "XSMCatalog", "XSMSepol", "XSMDiagnostics",
        .product(name: "GRDB", package: "GRDB.swift"),
      ], swiftSettings: strict),
    .target(
      name: "XSMServiceHTTP",
      dependencies: [
        "XSMService", "XSMServiceAPI", "XSMEngine", "XSMCatalog",
        .product(name: "Hummingbird", package: "hummingbird"),
      ], swiftSettings: strict),

    // MARK: Executables
    .target(
      name: "XSMCommandLine",
      dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strict),
    .executableTarget(
      name: "xsmc",
      dependencies: [
        "XSMBuild", "XSMPolicy", "XSMDiagnostics", "XSMCatalog", "XSMEngine", "XSMCommandLine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    .executableTarget(
      name: "xsmq",
      dependencies: [
        "XSMEngine", "XSMCatalog", "XSMDiagnostics", "XSMCommandLine", "XSMServiceAPI",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),
    .executableTarget(
      name: "xsmd",
      dependencies: [
        "XSMServiceHTTP", "XSMService", "XSMServiceAPI", "XSMEngine", "XSMCatalog", "XSMDiagnostics", "XSMCommandLine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      // Swift 6.3.1's optimizer crashes (signal 11 in DeadFunctionAndGlobalElimination)
      // on this thin executable in release builds; the libraries it runs stay optimized.
      swiftSettings: strict + [.unsafeFlags(["-Onone"], .when(configuration: .release))]),
    .executableTarget(
      name: "xsmbench",
      dependencies: ["XSMEngine", "XSMSepol", "XSMBuild", "XSMPolicy", "XSMPolicyGen", "XSMCatalog"],
      swiftSettings: strict),
    .executableTarget(
      name: "xsmgen",
      dependencies: [
        "XSMPolicyGen", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ], swiftSettings: strict),

    // MARK: Tests
    .testTarget(name: "XSMPolicyTests", dependencies: ["XSMPolicy", "XSMDiagnostics"]),
    .testTarget(name: "XSMSepolTests", dependencies: ["XSMSepol"]),
    .testTarget(name: "XSMPolicyGenTests", dependencies: ["XSMPolicyGen"]),
    .testTarget(
      name: "XSMEngineTests",
      dependencies: ["XSMEngine", "XSMSepol", "XSMBuild", "XSMPolicy", "XSMPolicyGen", "XSMCatalog"]),
    .testTarget(
      name: "XSMServiceTests",
      dependencies: [
        "XSMService", "XSMServiceAPI", "XSMServiceHTTP", "XSMEngine", "XSMCatalog", "XSMSepol", "XSMBuild", "XSMPolicy",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ]),
    .testTarget(name: "XSMCatalogTests", dependencies: ["XSMCatalog", "XSMDiagnostics", "XSMSepol", "XSMBuild", "XSMPolicy"]),
    .testTarget(
      name: "XSMBuildTests",
      dependencies: ["XSMBuild", "XSMPolicy", "XSMSepol", "XSMPolicyGen", "XSMDiagnostics"]),
  ]
)
