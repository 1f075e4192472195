// swift-tools-version: 6.1
import Foundation
import PackageDescription

// A path dependency is named after its folder (agent, main, a worktree's name...): use that name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

// Micro-benchmarks of the hot paths, kept out of `make test` (ordo-one/benchmark takes minutes to
// build). Run with `make bench`. Whole-process comparisons with peers live in scripts/bench-*.sh.
let areas = ["TimeSeriesBenchmarks", "QueryBenchmarks", "LogsBenchmarks", "ScrapeBenchmarks", "AlertingBenchmarks", "NotifyBenchmarks", "RemoteWriteBenchmarks"]

let package = Package(
    name: "agent-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: root.path),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: areas.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AgentLibraries", package: root.lastPathComponent.lowercased()),
            ],
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")])
    }
)
