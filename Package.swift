// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "extlib-net",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "extlib-net", targets: ["extlib-net"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // Immich's HTTP API.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // System libraries: a modulemap and a shim header each, nothing else.
        // No pkgConfig here: its --libs would link libsmbclient, which is dlopen'ed instead.
        .systemLibrary(name: "CSMBClient"),
        // setns and capabilities for the doctor's child, closefrom for spawned children (no library to link).
        .systemLibrary(name: "CLinux"),
        .systemLibrary(
            name: "CNFS",
            pkgConfig: "libnfs",
            providers: [.apt(["libnfs-dev"])]
        ),
        // All logic, one folder per capability.
        .target(
            name: "ExtlibNet",
            dependencies: [
                "CSMBClient",
                "CNFS",
                "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Only argument-parser command types.
        .executableTarget(
            name: "extlib-net",
            dependencies: [
                "ExtlibNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // SwiftPM exports every symbol of an executable on Linux (2.5 MB of .dynsym/.dynstr/.gnu.hash
            // that strip keeps). Nothing resolves symbols in the binary at run time (libsmbclient is
            // dlopen'ed, it does not call back by name), so the release build keeps them local; debug
            // builds keep them for backtraces.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"], .when(configuration: .release))]
        ),
        // Child processes for the tests: own process group, clean signals, a deadline on every wait.
        .target(name: "TestSupport", dependencies: ["ExtlibNet"], path: "Tests/TestSupport"),
        .testTarget(
            name: "ExtlibNetTests",
            dependencies: [
                "ExtlibNet",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // Real servers (see Tests/testbed); spawns the built executable.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ExtlibNet",
                "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (Tests/fuzz, run by scripts/fuzz), declared only when EXTLIB_NET_FUZZ names
// libFuzzer's runtime without `main`, so `swift build` and `swift test` never see them. They test a
// second copy of the library (Tests/fuzz/ExtlibNet links to Sources/ExtlibNet) built with coverage
// instrumentation, AddressSanitizer and testing enabled (`@testable import` reaches internal parsers, in
// a release build too), so the normal targets' flags and build products stay as they are and the
// dependencies are the ones the release build made. A new target is one file,
// Tests/fuzz/targets/NAME/main.swift, and its name in this list.
let fuzzTargets = ["mounts-toml", "credentials", "mountinfo", "boot-unit", "mdns", "cron", "urls", "durations-modes",
                   "dns-message", "wsd", "http", "smb-negotiate"]
if let fuzzRuntime = Context.environment["EXTLIB_NET_FUZZ"], !fuzzRuntime.isEmpty {
    let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    let library = package.targets.first { $0.name == "ExtlibNet" }!
    package.targets.append(.target(
        name: "ExtlibNetFuzzed", dependencies: library.dependencies, path: "Tests/fuzz/ExtlibNet",
        swiftSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-enable-testing"])]))
    package.targets.append(.target(name: "FuzzSupport", path: "Tests/fuzz/FuzzSupport"))
    for name in fuzzTargets {
        package.targets.append(.executableTarget(
            name: "fuzz-\(name)", dependencies: ["ExtlibNetFuzzed", "FuzzSupport"], path: "Tests/fuzz/targets/\(name)",
            swiftSettings: instrumented,
            linkerSettings: [.unsafeFlags(["-sanitize=address", "-Xlinker", fuzzRuntime, "-lstdc++"])]))
    }
}
