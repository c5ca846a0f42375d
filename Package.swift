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
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
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
                .product(name: "TOMLKit", package: "TOMLKit"),
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
            ]
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
