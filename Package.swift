// swift-tools-version: 6.0
import PackageDescription

// The library's layers, lowest first (Tests/layers.txt gives each its rank).
let layers = ["Core", "System", "Formats", "Discovery", "Credentials", "Mounting", "Health", "Boot", "Immich", "Setup"]
let allLayers: [Target.Dependency] = layers.map { .target(name: $0) }

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
        // setns and capabilities for the doctor's child, closefrom for spawned children, not dumpable, and
        // the signal handler that puts the terminal back (plain C: a handler must not run Swift's runtime).
        .target(name: "CLinux"),
        // libnfs's few declarations, our own (checked against libnfs 4.0's and 5.0's headers by
        // Tests/libnfs-abi): it is dlopen'ed too (libnfs.so.14, else .13), so one binary runs on both.
        .systemLibrary(name: "CNFS"),
        // The library, one target per layer; each depends only on layers below it (LayerTests checks the
        // ranks in Tests/layers.txt against `swift package dump-package`, since SwiftPM refuses only cycles).
        // Values every layer speaks: exit statuses, the error protocol, the escaper, shell quoting.
        .target(name: "Core"),
        // The only layer that calls the kernel: files, processes, descriptors, terminals, statfs, sockets.
        .target(name: "System", dependencies: [
            "Core", "CLinux",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Text formats and the rules for text from outside: TOML subset, JSON, durations, host names,
        // what may reach a mount option string.
        .target(name: "Formats", dependencies: ["Core", "System"]),
        // Finding NAS hosts (mDNS, WS-Discovery) and listing their shares and exports.
        .target(name: "Discovery", dependencies: [
            "Core", "System", "Formats", "CSMBClient", "CNFS",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // SMB accounts in the root-only credentials file.
        .target(name: "Credentials", dependencies: [
            "Core", "System", "Formats", "Discovery",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Mount definitions, the mounter with its checks and backoff, unmount and status.
        .target(name: "Mounting", dependencies: [
            "Core", "System", "Formats", "Discovery", "Credentials",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Stale mounts found and healed, and the doctor's checks.
        .target(name: "Health", dependencies: [
            "Core", "System", "Formats", "Discovery", "Mounting",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // systemd units and the boot script.
        .target(name: "Boot", dependencies: [
            "Core", "System", "Formats", "Mounting",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Immich's API, linking libraries and the scan guard.
        .target(name: "Immich", dependencies: [
            "Core", "System", "Formats", "Discovery", "Mounting", "Health", "Boot",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // The guided setup, over all of the above.
        .target(name: "Setup", dependencies: [
            "Core", "System", "Formats", "Discovery", "Credentials", "Mounting", "Health", "Boot", "Immich",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Only argument-parser command types.
        .executableTarget(
            name: "extlib-net",
            dependencies: [
                "Core", "System", "Formats", "Discovery", "Credentials", "Mounting", "Health", "Boot", "Immich", "Setup",
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
        .target(name: "TestSupport", dependencies: ["Core", "System"], path: "Tests/TestSupport"),
        .testTarget(
            name: "ExtlibNetTests",
            dependencies: allLayers + [
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Real servers (see Tests/testbed); spawns the built executable.
        .testTarget(
            name: "IntegrationTests",
            dependencies: allLayers + [
                "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (Tests/fuzz, run by scripts/fuzz), declared only when EXTLIB_NET_FUZZ names
// libFuzzer's runtime without `main`, so `swift build` and `swift test` never see them. The library's
// layers are then built with coverage instrumentation, AddressSanitizer and testing enabled (`@testable
// import` reaches internal parsers, in a release build too); the dependencies stay as the release build
// made them. scripts/fuzz runs after scripts/test-install, so the release binary was packaged before
// these flags reached the layers; a later release build compiles the layers again without them. A new
// target is one file, Tests/fuzz/targets/NAME/main.swift, and its name in this list.
let fuzzTargets = ["mounts-toml", "credentials", "mountinfo", "boot-unit", "mdns", "cron", "urls", "durations-modes",
                   "dns-message", "wsd", "http", "smb-negotiate", "placeholder-record"]
if let fuzzRuntime = Context.environment["EXTLIB_NET_FUZZ"], !fuzzRuntime.isEmpty {
    let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    for target in package.targets where layers.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer,address", "-enable-testing"])]
    }
    package.targets.append(.target(name: "FuzzSupport", path: "Tests/fuzz/FuzzSupport"))
    for name in fuzzTargets {
        package.targets.append(.executableTarget(
            name: "fuzz-\(name)", dependencies: allLayers + ["FuzzSupport"], path: "Tests/fuzz/targets/\(name)",
            swiftSettings: instrumented,
            linkerSettings: [.unsafeFlags(["-sanitize=address", "-Xlinker", fuzzRuntime, "-lstdc++"])]))
    }
}
