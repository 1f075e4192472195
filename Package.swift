// swift-tools-version: 6.1
import PackageDescription

// Arrows point one way: agent → AgentDaemon → Notify/Alerting/Ingest → Query → TimeSeries.
// RE2, the one regular-expression engine, is a leaf that every target matching a regex depends on.
let package = Package(
    name: "agent",
    platforms: [.macOS(.v15)],
    products: [
        // `agent`: the command people type, small and Foundation-free so that `agent query` starts in a
        // few milliseconds; it runs `agent-daemon` (installed beside it) for run/check/test/demo/….
        .executable(name: "agent", targets: ["agent"]),
        .executable(name: "agent-daemon", targets: ["agent-daemon"]),
        .library(name: "TimeSeries", targets: ["TimeSeries"]),
        // The regex engine alone, for its fuzz package (Fuzz/Regex) and for any package that needs RE2.
        .library(name: "RE2", targets: ["RE2"]),
        // Every library target, for the benchmark and fuzz packages beside this one.
        .library(name: "AgentLibraries", targets: ["TimeSeries", "RE2", "Query", "Ingest", "Alerting", "Notify", "AgentDaemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Serves the control API on the Unix socket and loopback: ≈ +30 s release build (measured).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .target(name: "TimeSeries", dependencies: ["CZlib"]),
        // RE2-syntax regular expressions matched in linear time (Go's regexp semantics); no dependencies, no Foundation.
        .target(name: "RE2"),
        // Text both the small `agent` and the daemon render: sparklines (`agent query --range`, chat
        // notifications), C's printf for numbers (CLI tables, templates), JSON strings. No Foundation.
        .target(name: "TextRendering"),
        // What the thin `agent` command needs to talk to the daemon; Foundation-free (FoundationEssentials).
        .target(name: "AgentClient", dependencies: ["TextRendering"]),
        .target(name: "Query", dependencies: ["TimeSeries", "RE2", "TextRendering"]),
        // YAML with positions: every config and rule-file error as file:line:column, all in one pass.
        .target(name: "YAMLSupport", dependencies: ["Yams"]),
        .target(
            name: "Ingest",
            dependencies: ["TimeSeries", "RE2", "CCurl", "CZlib", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Alerting",
            dependencies: ["Query", "RE2", "TimeSeries", "YAMLSupport", "Yams", "TextRendering", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Notify",
            dependencies: ["Alerting", "Ingest", "RE2", "TextRendering", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "AgentDaemon",
            dependencies: [
                "TimeSeries", "RE2", "Query", "Ingest", "Alerting", "Notify", "YAMLSupport", "Yams", "AgentClient", "TextRendering",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]),
        .executableTarget(
            name: "agent",
            dependencies: ["AgentClient", "TextRendering", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "agent-daemon",
            dependencies: [
                "AgentDaemon", "AgentClient", "TimeSeries", "Query", "Ingest", "Alerting", "Notify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TimeSeriesTests", dependencies: ["TimeSeries"]),
        .testTarget(name: "RE2Tests", dependencies: ["RE2"], exclude: ["Data"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "TimeSeries"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "TimeSeries"]),
        .testTarget(name: "AlertingTests", dependencies: ["Alerting", "Query", "TimeSeries"]),
        .testTarget(name: "NotifyTests", dependencies: ["Notify", "Alerting", "RE2", "TextRendering"]),
        .testTarget(name: "AgentTests", dependencies: ["AgentDaemon", "AgentClient", "YAMLSupport", "agent", "agent-daemon"]),
    ]
)

// Strict settings for every Swift target, in one place (as swift-log does).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
