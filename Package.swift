// swift-tools-version: 6.1
import PackageDescription

// Arrows point one way: agent → AgentDaemon → Notify/Alerting/Ingest → Query → TimeSeries.
// RE2, the one regular-expression engine, is a leaf that every target matching a regex depends on.
let package = Package(
    name: "agent",
    platforms: [.macOS(.v15)],
    products: [
        // `agent`: the one executable, the daemon and every command (`agent query` still starts in a
        // few milliseconds: nothing in it links libcurl, see CCurl).
        .executable(name: "agent", targets: ["agent"]),
        .library(name: "TimeSeries", targets: ["TimeSeries"]),
        // The YAML reader alone, for its fuzz package (Fuzz/YAML).
        .library(name: "YAMLSupport", targets: ["YAMLSupport"]),
        // The regex engine alone, for its fuzz package (Fuzz/Regex) and for any package that needs RE2.
        .library(name: "RE2", targets: ["RE2"]),
        // Every library target, for the benchmark and fuzz packages beside this one.
        .library(name: "AgentLibraries", targets: ["TimeSeries", "RE2", "Query", "Ingest", "Alerting", "Notify", "HTTPServing", "AgentDaemon", "RemoteWrite", "YAMLSupport", "JSON"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libcurl, loaded with dlopen when the first HTTP client starts (headers from libcurl4-openssl-dev;
        // the binary does not link it): its ~30 TLS/Kerberos/LDAP libraries cost every command ≈ 5 ms
        // at start, and only scraping, notifications and remote write need them.
        .target(name: "CCurl"),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // epoll, eventfd and accept4, which Glibc's Swift module leaves out.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(name: "TimeSeries", dependencies: ["CZlib"]),
        // RE2-syntax regular expressions matched in linear time (Go's regexp semantics); no dependencies, no Foundation.
        .target(name: "RE2"),
        // Remote write 1.0: the rings sent to Prometheus, VictoriaMetrics, Mimir… (snappy + our own protobuf encoder).
        .systemLibrary(
            name: "CSnappy", path: "Sources/CSnappy", pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "RemoteWrite",
            dependencies: ["TimeSeries", "Ingest", "CSnappy", .product(name: "Logging", package: "swift-log")]),
        // The HTTP/1.1 server of the API and /metrics: strict parser with fixed bounds, connection cap,
        // timeouts, an accept loop that survives fd exhaustion, lanes. No Foundation (see HTTPServer).
        .target(name: "HTTPServing", dependencies: ["CEpoll", .product(name: "Logging", package: "swift-log")]),
        // Text the CLI and the daemon render: sparklines (`agent query --range`, chat
        // notifications), C's printf for numbers (CLI tables, templates), RFC 3339 dates. No Foundation.
        .target(name: "TextRendering"),
        // The one JSON reader and writer (RFC 8259, no Foundation): API answers, notification
        // payloads, the CLI's reading of the daemon's answers, health checks, state files.
        .target(name: "JSON"),
        // What the CLI commands need to talk to the daemon; Foundation-free (FoundationEssentials).
        .target(name: "AgentClient", dependencies: ["TextRendering", "JSON"]),
        .target(name: "Query", dependencies: ["TimeSeries", "RE2", "TextRendering", "JSON"]),
        // libyaml's event parser (the YAML reader's tokenizer); libyaml-dev, the library itself ≈ 140 KB.
        .systemLibrary(
            name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]),
        // YAML with positions: every config and rule-file error as file:line:column, all in one pass. No Foundation.
        .target(name: "YAMLSupport", dependencies: ["CYAML"]),
        .target(
            name: "Ingest",
            dependencies: ["TimeSeries", "RE2", "CCurl", "CZlib", "JSON", "HTTPServing", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Alerting",
            dependencies: ["Query", "RE2", "TimeSeries", "YAMLSupport", "TextRendering", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "Notify",
            dependencies: ["Alerting", "Ingest", "RE2", "TextRendering", "JSON", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "AgentDaemon",
            dependencies: [
                "TimeSeries", "RE2", "Query", "Ingest", "Alerting", "Notify", "YAMLSupport", "AgentClient", "TextRendering", "HTTPServing",
                "RemoteWrite", "JSON",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "agent",
            dependencies: [
                "AgentDaemon", "AgentClient", "TimeSeries", "Query", "Ingest", "Alerting", "Notify", "JSON", "TextRendering",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TimeSeriesTests", dependencies: ["TimeSeries"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TextRendering"]),
        .testTarget(name: "RE2Tests", dependencies: ["RE2"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "TimeSeries"]),
        // Fixtures are read from the source tree (#filePath), not bundled.
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "TimeSeries", "JSON"], exclude: ["Scrape/Fixtures"]),
        .testTarget(name: "AlertingTests", dependencies: ["Alerting", "Query", "TimeSeries"]),
        .testTarget(name: "NotifyTests", dependencies: ["Notify", "Alerting", "RE2", "TextRendering", "JSON"], exclude: ["Fixtures", "Golden"]),
        .testTarget(name: "RemoteWriteTests", dependencies: ["RemoteWrite", "TimeSeries", "Ingest", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "YAMLSupportTests", dependencies: ["YAMLSupport"]),
        // A raw socket client that sends what no well-behaved client would, for the server's tests.
        .target(name: "HTTPTestSupport", path: "Tests/HTTPTestSupport"),
        .testTarget(name: "HTTPServingTests", dependencies: ["HTTPServing", "HTTPTestSupport"]),
        // Clients/: the Python script that drives the Prometheus API's clients (PrometheusClientsTests).
        .testTarget(name: "AgentTests", dependencies: ["AgentDaemon", "AgentClient", "JSON", "TextRendering", "YAMLSupport", "HTTPServing", "HTTPTestSupport", "agent"],
                    exclude: ["Clients"]),
    ]
)

// Strict settings for every Swift target, in one place (as swift-log does).
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
